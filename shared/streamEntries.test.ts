import { describe, expect, it } from 'vitest'
import {
  auditFields,
  eventFields,
  MAX_TEXT_FIELD_CHARS,
  parseAuditEntry,
  parseEvent,
  parseRequestLogEntry,
  requestLogFields,
  type AuditRecord,
  type EventRecord,
  type RequestLogEntry,
} from './streamEntries'

/** The field map Redis gives back for a flat XADD field list. */
function asHash(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

const event: EventRecord = {
  atMs: 1_700_000_000_000, type: 'transition', breaker: 'payments', instance: 'a', from: 'CLOSED', to: 'OPEN', reason: 'errors', generation: null,
}
const request: RequestLogEntry = {
  atMs: 1_700_000_000_001, method: 'POST', route: '/checkout', status: 503, durationMs: 12.5, instance: 'storefront-1', errorType: 'ECONNRESET', kind: 'error',
}
const audit: AuditRecord = {
  atMs: 1_700_000_000_002, actor: 'ops', service: 'shop', action: 'forceOpen', breaker: 'payments', target: '*', targetDescription: '',
  reason: 'incident 42', commandId: 'c1', generation: 7, outcome: 'issued',
}

describe('stream entries', () => {
  it('read back exactly what their writers wrote', () => {
    expect(parseEvent(asHash(eventFields(event)))).toEqual(event)
    expect(parseEvent(asHash(eventFields({ ...event, type: 'commandIssued', instance: '', generation: 3 })))).toMatchObject({ instance: '', generation: 3 })
    expect(parseRequestLogEntry(asHash(requestLogFields(request)))).toEqual(request)
    expect(parseAuditEntry(asHash(auditFields(audit)))).toEqual(audit)
  })

  it('write the request duration to the microsecond', () => {
    expect(asHash(requestLogFields({ ...request, durationMs: 1 / 3 })).durationMs).toBe('0.333')
  })

  it('drop an event with an unknown type, a bad breaker or instance name, or a non-numeric time or generation', () => {
    const good = asHash(eventFields(event))
    expect(parseEvent({ ...good, type: 'explode' })).toBeNull()
    expect(parseEvent({ ...good, breaker: 'a:b{c}' })).toBeNull()
    expect(parseEvent({ ...good, instance: 'x y' })).toBeNull()
    expect(parseEvent({ ...good, atMs: '1e9' })).toBeNull()
    expect(parseEvent({ ...good, atMs: 'Infinity' })).toBeNull()
    expect(parseEvent({ ...good, generation: '-1' })).toBeNull()
    expect(parseEvent({ ...good, reason: 'x'.repeat(MAX_TEXT_FIELD_CHARS + 1) })).toBeNull()
  })

  it('drop a request entry with a bad method, status, duration, kind, instance or an empty route', () => {
    const good = asHash(requestLogFields(request))
    const bads: Record<string, string>[] = [
      { method: 'BREW' }, { status: '5000' }, { status: 'abc' }, { durationMs: '-1' }, { durationMs: 'NaN' }, { kind: 'other' },
      { instance: '' }, { route: '' }, { atMs: '' },
    ]
    for (const bad of bads) {
      expect(parseRequestLogEntry({ ...good, ...bad })).toBeNull()
    }
  })

  it('read an audit entry written by hand with `action` instead of `command`, and missing text fields as empty', () => {
    expect(parseAuditEntry({ atMs: '5', actor: 'ops', action: 'reset' })).toMatchObject({ action: 'reset', breaker: '', generation: null })
    expect(parseAuditEntry({ atMs: 'soon', actor: 'ops' })).toBeNull()
  })
})
