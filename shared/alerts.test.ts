import { describe, expect, it } from 'vitest'
import {
  activeSilenceFor,
  ALERT_RULE_TEMPLATES,
  AlertRuleInput,
  matchesAll,
  renderSummary,
  seriesKeyOf,
  SilenceInput,
  stepAlert,
  type AlertInstance,
  type Silence,
} from './alerts'

const T0 = 1_800_000_000_000
const rule = { id: 'r_00000000000000aa', forS: 10 }
const labels = { alertname: 'Payments open', service: 'payments', breaker: 'charge' }
const key = seriesKeyOf({ service: 'payments', breaker: 'charge' })

/** Runs `stepAlert` over a sequence of (time, holds) evaluations and lists the transitions with their times. */
function run(steps: [number, boolean, number?][], forS = rule.forS): { transitions: [number, string][]; last: AlertInstance | null } {
  let prev: AlertInstance | undefined
  const transitions: [number, string][] = []
  for (const [t, active, since] of steps) {
    const { next, transition } = stepAlert(prev, { labels, active, value: null, activeSinceMs: since }, { ...rule, forS }, labels, key, T0 + t)
    if (transition) transitions.push([t, transition])
    prev = next ?? undefined
  }
  return { transitions, last: prev ?? null }
}

describe('stepAlert (Prometheus pending → firing → resolved)', () => {
  it('goes pending, fires once `for` has passed since the condition began, resolves once it stops', () => {
    const r = run([
      [0, true],
      [5_000, true],
      [9_999, true],
      [10_000, true],
      [20_000, true],
      [30_000, false],
      [40_000, false],
    ])
    expect(r.transitions).toEqual([
      [0, 'pending'],
      [10_000, 'firing'],
      [30_000, 'resolved'],
    ])
    expect(r.last).toBeNull()
  })

  it('counts `for` from the time the data says the condition began (a breaker trip), never from the future', () => {
    // Tripped 8 s before the first evaluation that saw it: fires 2 s later, not 10 s later.
    expect(run([[0, true, T0 - 8_000], [2_000, true]]).transitions).toEqual([[0, 'pending'], [2_000, 'firing']])
    // A trip time ahead of our clock counts as now.
    expect(run([[0, true, T0 + 60_000], [9_000, true], [10_000, true]]).transitions).toEqual([[0, 'pending'], [10_000, 'firing']])
  })

  it('a pending alert whose condition stops is cleared without firing; the next episode starts afresh', () => {
    const r = run([[0, true], [5_000, false], [6_000, true], [15_000, true], [16_000, true]])
    expect(r.transitions).toEqual([[0, 'pending'], [5_000, 'cleared'], [6_000, 'pending'], [16_000, 'firing']])
    expect(r.last).toMatchObject({ state: 'firing', activeSinceMs: T0 + 6_000, firingSinceMs: T0 + 16_000 })
  })

  it('for 0 fires on the first evaluation; a firing alert keeps its start times and its notified flag', () => {
    const first = stepAlert(undefined, { labels, active: true, value: 3 }, { ...rule, forS: 0 }, labels, key, T0)
    expect(first.transition).toBe('firing')
    expect(first.next).toMatchObject({ notified: false, firingSinceMs: T0, activeSinceMs: T0 })
    const notified: AlertInstance = { ...(first.next as AlertInstance), notified: true }
    const again = stepAlert(notified, { labels, active: true, value: 4 }, { ...rule, forS: 0 }, labels, key, T0 + 10_000)
    expect(again).toEqual({ transition: null, next: { ...notified, value: 4, lastEvalMs: T0 + 10_000 } })
  })

  it('no observation for a stored alert reads as "no longer holds"', () => {
    const firing = stepAlert(undefined, { labels, active: true, value: null }, { ...rule, forS: 0 }, labels, key, T0).next as AlertInstance
    expect(stepAlert(firing, undefined, rule, labels, key, T0 + 1)).toEqual({ next: null, transition: 'resolved' })
  })
})

describe('silences (Alertmanager matchers, = and != only)', () => {
  const silence = (over: Partial<Silence>): Silence => ({
    id: 's_0000000000000001',
    matchers: [{ name: 'service', op: '=', value: 'payments' }],
    startsAtMs: T0,
    endsAtMs: T0 + 3_600_000,
    reason: 'deploy',
    createdBy: 'alice',
    createdAtMs: T0,
    expiredBy: null,
    ...over,
  })

  it('matches on every matcher; an absent label reads as empty', () => {
    expect(matchesAll([{ name: 'service', op: '=', value: 'payments' }], labels)).toBe(true)
    expect(matchesAll([{ name: 'service', op: '=', value: 'payments' }, { name: 'breaker', op: '!=', value: 'charge' }], labels)).toBe(false)
    expect(matchesAll([{ name: 'team', op: '!=', value: 'x' }], labels)).toBe(true)
    expect(matchesAll([{ name: 'team', op: '=', value: '' }], labels)).toBe(true)
  })

  it('is active from its start to its end (exclusive) and picks the one ending last', () => {
    const a = silence({ id: 's_000000000000000a' })
    const b = silence({ id: 's_000000000000000b', endsAtMs: T0 + 7_200_000 })
    expect(activeSilenceFor([a], labels, T0 - 1)).toBeNull()
    expect(activeSilenceFor([a], labels, T0)).toBe(a)
    expect(activeSilenceFor([a], labels, T0 + 3_600_000)).toBeNull()
    expect(activeSilenceFor([a, b], labels, T0 + 1)).toBe(b)
    expect(activeSilenceFor([silence({ matchers: [{ name: 'service', op: '=', value: 'search' }] })], labels, T0 + 1)).toBeNull()
  })

  it('refuses a silence that could match everything', () => {
    expect(SilenceInput.safeParse({ matchers: [{ name: 'service', op: '!=', value: 'x' }], endsAtMs: T0, reason: 'r' }).success).toBe(false)
    expect(SilenceInput.safeParse({ matchers: [{ name: 'service', op: '=', value: '' }], endsAtMs: T0, reason: 'r' }).success).toBe(false)
    expect(SilenceInput.safeParse({ matchers: [{ name: 'service', value: 'payments' }], endsAtMs: T0, reason: 'r' }).success).toBe(true)
    expect(SilenceInput.safeParse({ matchers: [{ name: 'service', value: 'payments' }], endsAtMs: T0, reason: ' ' }).success).toBe(false)
  })
})

describe('rule input', () => {
  const base = { name: 'x', severity: 'warning', forS: 10, condition: { kind: 'breaker_not_closed', service: 'payments' } }

  it('accepts every shipped template', () => {
    for (const t of ALERT_RULE_TEMPLATES) expect(AlertRuleInput.safeParse(t.rule).error, t.id).toBeUndefined()
  })

  it('refuses reserved or malformed labels, control characters, a non-http runbook and a throughput rule without a bound', () => {
    const refused = [
      { ...base, labels: { severity: 'page' } },
      { ...base, labels: { __name__: 'x' } },
      { ...base, labels: { 'team-name': 'x' } },
      { ...base, name: 'a\u0007b' },
      { ...base, runbookUrl: 'javascript:alert(1)' },
      { ...base, condition: { kind: 'throughput', windowS: 60 } },
      { ...base, condition: { kind: 'latency', windowS: 60, percentile: 'p42', aboveMs: 5 } },
      { ...base, condition: { kind: 'error_rate', windowS: 5, abovePercent: 5 } },
      { ...base, forS: -1 },
      { ...base, condition: { kind: 'breaker_not_closed', service: 'a:b' } },
    ]
    for (const r of refused) expect(AlertRuleInput.safeParse(r).success, JSON.stringify(r)).toBe(false)
    expect(AlertRuleInput.parse({ ...base, labels: { team: 'payments' }, runbookUrl: 'https://wiki.example.com/rb' })).toMatchObject({ enabled: true, summary: '', labels: { team: 'payments' } })
  })
})

describe('seriesKeyOf and renderSummary', () => {
  it('is canonical (order-free) and unambiguous', () => {
    expect(seriesKeyOf({ b: '1', a: '2' })).toBe(seriesKeyOf({ a: '2', b: '1' }))
    expect(seriesKeyOf({ a: '1,b=2' })).not.toBe(seriesKeyOf({ a: '1', b: '2' }))
  })

  it('puts the value into the summary', () => {
    expect(renderSummary('Error rate {{value}} % over 5 min', 12.3456)).toBe('Error rate 12.3 % over 5 min')
    expect(renderSummary('down', null)).toBe('down')
  })
})
