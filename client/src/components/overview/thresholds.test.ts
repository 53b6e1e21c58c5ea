import { describe, expect, it } from 'vitest'
import { AlertRule } from '../../../../shared/alerts'
import type { SeriesPoint } from '../../../../shared/schemas'
import { DEFAULT_THRESHOLDS, tileThresholds, toneOf } from './thresholds'
import { currentPoint } from './Tiles'

let n = 0
/** A stored rule as the API returns it (parsed by the real schema). */
function rule(over: { name?: string; enabled?: boolean; severity: 'warning' | 'critical'; condition: unknown }) {
  n += 1
  return AlertRule.parse({
    name: over.name ?? `rule ${n}`,
    enabled: over.enabled ?? true,
    severity: over.severity,
    forS: 0,
    condition: over.condition,
    id: `r_${String(n).padStart(16, '0')}`,
    version: 1,
    createdAtMs: 0,
    createdBy: 'test',
    updatedAtMs: 0,
    updatedBy: 'test',
  })
}

describe('tileThresholds', () => {
  it('uses the documented defaults until a rule watches the figure', () => {
    expect(tileThresholds([], 'storefront')).toEqual(DEFAULT_THRESHOLDS)
    expect(toneOf(0.004, DEFAULT_THRESHOLDS.errorRate)).toBe('ok')
    expect(toneOf(0.01, DEFAULT_THRESHOLDS.errorRate)).toBe('warn')
    expect(toneOf(0.2, DEFAULT_THRESHOLDS.errorRate)).toBe('bad')
  })

  it('takes amber from warning rules and red from critical ones, the lowest bound of each, for this service or all', () => {
    const t = tileThresholds(
      [
        rule({ severity: 'warning', condition: { kind: 'error_rate', windowS: 300, abovePercent: 2 } }),
        rule({ severity: 'critical', condition: { kind: 'error_rate', service: 'storefront', windowS: 60, abovePercent: 10 } }),
        rule({ severity: 'critical', condition: { kind: 'error_rate', windowS: 60, abovePercent: 8 } }),
        rule({ severity: 'critical', condition: { kind: 'error_rate', service: 'billing', windowS: 60, abovePercent: 1 } }),
        rule({ severity: 'critical', enabled: false, condition: { kind: 'error_rate', windowS: 60, abovePercent: 0.5 } }),
        rule({ severity: 'critical', condition: { kind: 'error_rate', route: { method: 'GET', route: '/x' }, windowS: 60, abovePercent: 0.5 } }),
        rule({ severity: 'warning', condition: { kind: 'latency', windowS: 60, percentile: 'p95', aboveMs: 250 } }),
        rule({ severity: 'critical', condition: { kind: 'throughput', windowS: 60, belowRps: 1 } }),
      ],
      'storefront',
    )
    expect(t.errorRate).toMatchObject({ direction: 'above', amber: 0.02, red: 0.08 })
    expect(t.p95Ms).toMatchObject({ direction: 'above', amber: 250 })
    expect(t.p99Ms).toEqual(DEFAULT_THRESHOLDS.p99Ms)
    expect(t.throughputRps).toMatchObject({ direction: 'below', red: 1 })
    expect(toneOf(0.5, t.throughputRps)).toBe('bad')
    expect(toneOf(5, t.throughputRps)).toBe('ok')
    expect(toneOf(0.05, t.errorRate)).toBe('warn')
    expect(toneOf(null, t.errorRate)).toBe('ok')
  })
})

describe('currentPoint', () => {
  const p = (t: number, noData: boolean, errorRate: number | null): SeriesPoint => ({
    t, noData, throughputRps: noData ? null : 10, errorRate, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null,
  })
  it('is the newest bucket with data — the last point the chart draws — skipping gaps', () => {
    expect(currentPoint([p(0, false, 0.1), p(10, false, 0.2), p(20, true, null)])?.t).toBe(10)
    expect(currentPoint([p(0, true, null)])).toBeNull()
    expect(currentPoint([])).toBeNull()
  })
})
