import { describe, expect, it } from 'vitest'
import { percentile } from '../../shared/histogram'
import { OVERFLOW_ROUTE, RequestMetrics, normalizeMethod, statusClassIndex } from './requestMetrics'

const T0 = 1_700_000_000_000 // a 10 s bucket boundary

describe('RequestMetrics', () => {
  it('aggregates requests per bucket and series, with status classes, errors and a histogram', () => {
    const m = new RequestMetrics()
    m.record('GET', '/a', 200, 10, false, T0)
    m.record('GET', '/a', 503, 30, true, T0 + 1000)
    m.record('POST', '/a', 201, 20, false, T0 + 2000)
    m.record('GET', '/a', 200, 40, false, T0 + 10_000) // next bucket
    const buckets = [...m.buckets()]
    expect(buckets.map((b) => b.start)).toEqual([T0, T0 + 10_000])
    const first = buckets[0]!.series
    expect([...first.keys()].sort()).toEqual(['GET /a', 'POST /a'])
    expect(first.get('GET /a')).toMatchObject({ count: 2, errors: 1, sumUs: 40_000, statusCounts: [0, 1, 0, 0, 1] })
    expect(percentile(first.get('GET /a')!.histogram, 100)).toBeCloseTo(30, 0)
    // The bucket's service total holds every series, histogram included.
    expect(buckets[0]!.total).toMatchObject({ count: 3, errors: 1, sumUs: 60_000, statusCounts: [0, 2, 0, 0, 1] })
    expect(buckets[0]!.total.toPacked().slice(10).reduce((a, b) => a + b, 0)).toBe(3)
    m.release(T0)
    m.release(T0 + 10_000)
    expect(m.isEmpty).toBe(true)
  })

  it('keeps aggregates cumulative across reads until the bucket is released', () => {
    const m = new RequestMetrics()
    m.record('GET', '/a', 200, 10, false, T0)
    const agg = [...m.buckets()][0]!.series.get('GET /a')!
    m.record('GET', '/a', 200, 12, false, T0 + 5000)
    expect(agg.count).toBe(2)
    expect(agg.toPacked()[1]).toBe(2)
  })

  it('counts every new route beyond the series cap under one overflow series', () => {
    const m = new RequestMetrics({ maxSeries: 2 })
    for (const route of ['/a', '/b', '/c', '/d', '/c']) m.record('GET', route, 200, 1, false, T0)
    const bucket = [...m.buckets()][0]!.series
    expect([...bucket.keys()].sort()).toEqual([`GET ${OVERFLOW_ROUTE}`, 'GET /a', 'GET /b'])
    expect(bucket.get(`GET ${OVERFLOW_ROUTE}`)?.count).toBe(3)
    expect(m.overflowedRequests).toBe(3)
  })

  it('reuses released aggregates with every count zeroed and tracks the touched bucket range', () => {
    const m = new RequestMetrics()
    m.record('GET', '/a', 503, 7, true, T0)
    const agg = [...m.buckets()][0]!.series.get('GET /a')!
    expect(agg.lo).toBeLessThanOrEqual(agg.hi)
    agg.writtenCount = 1
    m.release(T0)
    m.record('POST', '/b', 200, 3, false, T0 + 10_000)
    const aggs = [...[...m.buckets()][0]!.series.values(), [...m.buckets()][0]!.total]
    const again = [...m.buckets()][0]!.series.get('POST /b')!
    expect(aggs).toContain(agg) // the same object, reused (as a series or as the total)
    expect(agg.writtenCount).toBe(0)
    expect(again).toMatchObject({ method: 'POST', route: '/b', count: 1, errors: 0, statusCounts: [0, 1, 0, 0, 0] })
    expect(again.histogram.count).toBe(1)
    expect(Array.from(again.histogram.counts).reduce((a, b) => a + b, 0)).toBe(1)
  })

  it('normalizes methods the OpenTelemetry way and maps statuses to classes', () => {
    expect([normalizeMethod('get'), normalizeMethod('PURGE'), normalizeMethod(undefined)]).toEqual(['GET', '_OTHER', '_OTHER'])
    expect([statusClassIndex(101), statusClassIndex(204), statusClassIndex(499), statusClassIndex(503), statusClassIndex(0)]).toEqual([0, 1, 3, 4, 4])
  })
})
