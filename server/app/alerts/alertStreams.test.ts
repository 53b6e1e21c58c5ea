import { describe, expect, it } from 'vitest'
import type { AlertInstance } from '../../../shared/alerts'
import { deliveryEntry, deliveryFields, historyEntry, historyFields } from './alertStreams'
import type { OutboxEntry } from './notify'

/** `[k1, v1, k2, v2]` as the stream reader hands fields over. */
const asEntry = (flat: string[]) => ({ id: '1800000000000-0', fields: Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1] as string]] : []))) })

const alert: AlertInstance = {
  ruleId: 'r_00000000000000aa', key: 'breaker="charge",service="payments"',
  labels: { alertname: 'payments open', severity: 'critical', service: 'payments', breaker: 'charge' },
  state: 'firing', activeSinceMs: 1_799_999_990_000, firingSinceMs: 1_800_000_000_000, value: 2, lastEvalMs: 1_800_000_000_000, notified: true,
}

describe('alert history and delivery-log entries', () => {
  it('read back what they were written as', () => {
    expect(historyEntry(asEntry(historyFields(alert, 'firing', 1_800_000_000_000, 's_0000000000000001')))).toEqual({
      id: '1800000000000-0', atMs: 1_800_000_000_000, ruleId: alert.ruleId, alertname: 'payments open', severity: 'critical',
      labels: alert.labels, transition: 'firing', value: 2, activeSinceMs: alert.activeSinceMs, silencedBy: 's_0000000000000001',
    })
    expect(historyEntry(asEntry(historyFields({ ...alert, value: null }, 'resolved', 1_800_000_001_000, '')))).toMatchObject({ value: null, silencedBy: '', transition: 'resolved' })
    const outbox = {
      id: 'firing:r_00000000000000aa:1@webhook:12345678', receiver: 'webhook:12345678', alert: 'x', createdAtMs: 1, attempts: 2, nextAttemptMs: 1, lastError: null,
      notification: { id: 'n', status: 'firing', ruleId: alert.ruleId, severity: 'critical', labels: alert.labels, annotations: {}, startsAtMs: 1, endsAtMs: null, value: 2, generatorURL: 'http://x/alerts' },
    } satisfies OutboxEntry
    expect(deliveryEntry(asEntry(deliveryFields(outbox, 'failed', 503, 'HTTP 503', 1_800_000_002_000)))).toEqual({
      id: '1800000000000-0', atMs: 1_800_000_002_000, notification: outbox.id, receiver: 'webhook:12345678', status: 'firing',
      alertname: 'payments open', ruleId: alert.ruleId, attempt: 3, outcome: 'failed', httpStatus: 503, error: 'HTTP 503',
    })
    expect(deliveryEntry(asEntry(deliveryFields(outbox, 'delivered', null, null, 5)))).toMatchObject({ httpStatus: null, error: '' })
  })

  it('leave out an entry without its time, rule or transition, or with labels that are not JSON', () => {
    const good = historyFields(alert, 'firing', 1_800_000_000_000, '')
    expect(historyEntry(asEntry(good.map((v, i) => (good[i - 1] === 'labels' ? '{oops' : v))))).toBeNull()
    expect(historyEntry(asEntry(good.map((v, i) => (good[i - 1] === 'atMs' ? 'soon' : v))))).toBeNull()
    expect(historyEntry({ id: '1-0', fields: { atMs: '1' } })).toBeNull()
    expect(deliveryEntry({ id: '1-0', fields: { atMs: '1', notification: 'n' } })).toBeNull()
  })
})
