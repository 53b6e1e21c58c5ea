import { describe, expect, it } from 'vitest'
import { ALERT_RULE_TEMPLATES } from '../../shared/alerts'
import { describeCondition, formatDurationS, labelPairs, valueUnit } from './alertsView'

describe('alerts view text', () => {
  it('writes durations the way a person reads them', () => {
    expect([10, 60, 90, 300, 3600, 5400, 86_400, 90_000].map(formatDurationS)).toEqual(['10 s', '1 min', '1 min 30 s', '5 min', '1 h', '1 h 30 min', '1 d', '1 d 1 h'])
  })

  it('describes every condition kind, naming its scope and bounds', () => {
    expect(describeCondition({ kind: 'breaker_not_closed', service: 'payments', breaker: 'charge' })).toBe('breaker charge of payments not CLOSED')
    expect(describeCondition({ kind: 'error_rate', windowS: 300, abovePercent: 5, minRequests: 20 })).toBe('error rate of any service above 5 % over 5 min (≥ 20 requests)')
    expect(describeCondition({ kind: 'latency', service: 'shop', route: { method: 'GET', route: '/orders/:id' }, windowS: 60, percentile: 'p99', aboveMs: 250 })).toBe(
      'p99 of shop GET /orders/:id above 250 ms over 1 min',
    )
    expect(describeCondition({ kind: 'throughput', service: 'shop', windowS: 600, belowRps: 1, aboveRps: 500 })).toBe('throughput of shop below 1 req/s or above 500 req/s over 10 min')
    expect(describeCondition({ kind: 'instance_down' })).toBe('an instance of any service missed its heartbeats')
    expect(describeCondition({ kind: 'cache_hit_ratio', service: 'shop', cache: 'catalog', windowS: 600, belowPercent: 75, minLookups: 1 })).toBe('hit ratio of cache catalog of shop below 75 % over 10 min')
    for (const t of ALERT_RULE_TEMPLATES) expect(describeCondition(t.rule.condition).length, t.id).toBeGreaterThan(10)
  })

  it('lists an alert’s own labels sorted, without the ones every alert has', () => {
    expect(labelPairs({ alertname: 'x', severity: 'critical', rule_id: 'r_1', service: 'shop', breaker: 'charge', team: 'pay' })).toEqual(['breaker=charge', 'service=shop', 'team=pay'])
  })

  it('names the unit of each kind’s value', () => {
    expect([valueUnit('error_rate'), valueUnit('latency'), valueUnit('throughput'), valueUnit('breaker_not_closed'), valueUnit('instance_down'), valueUnit(undefined)]).toEqual(['%', 'ms', 'req/s', 'instances', '', ''])
  })
})
