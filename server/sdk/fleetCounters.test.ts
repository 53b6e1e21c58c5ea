/**
 * The fleet counters the collector adds to `P:{svc}:counters` (shared/fleetCounters.ts, docs/decisions/026), against
 * the real test redis-server: exact per-series counts, µs sums and OpenTelemetry duration buckets for known traffic
 * (bounds inclusive); they only go up, also across a process restart; a resent flush adds once; the caps keep every
 * request counted (under `(overflow)`); breaker outcomes add up to the calls made; a counters key of the wrong type
 * fails only the counters.
 */
import { describe, expect, it } from 'vitest'
import {
  COUNTERS_OVERFLOW_ROUTE,
  DURATION_BOUNDS_S,
  DURATION_BUCKETS,
  MAX_COUNTER_FIELDS,
  breakerCounterField,
  cacheCounterField,
  parseCounterField,
  requestSeriesPrefix,
  type RequestSeriesLabels,
} from '../../shared/fleetCounters'
import { createKeySpace } from '../../shared/keys'
import type { Collector } from './collector'
import { collector as testCollector, connected, freshPrefix, useTestRedis } from './collectorTesting.test-helpers'
import { CounterTotals, MAX_PENDING_COUNTER_SERIES } from './counterTotals'
import { FlushEffects, type PipelineResults } from './flushEffects'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

/** A connected collector of service `shop` (closed after the test). */
async function collector(prefix: string, instance = 'i1'): Promise<Collector> {
  const c = testCollector(prefix, instance)
  await connected(c)
  return c
}

/** The counters hash as numbers. */
async function counters(prefix: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(createKeySpace(prefix).counters('shop'))
  return Object.fromEntries(Object.entries(raw).map(([f, v]) => [f, Number(v)]))
}

/** The oracle: what known requests must add, computed from the list itself (bucket = first bound ≥ duration). */
function expected(requests: { labels: RequestSeriesLabels; ms: number }[]): Record<string, number> {
  const out: Record<string, number> = {}
  const add = (f: string, n: number) => (out[f] = (out[f] ?? 0) + n)
  for (const r of requests) {
    const p = requestSeriesPrefix(r.labels)
    const us = Math.round(r.ms * 1000)
    let b = DURATION_BOUNDS_S.findIndex((s) => us <= Math.round(s * 1e6))
    if (b < 0) b = DURATION_BUCKETS - 1
    add(p + 'n', 1)
    add(p + 's', us)
    add(p + String(b), 1)
  }
  return out
}

describe('fleet counters (collector side)', () => {
  it('adds exact counts, µs sums and duration buckets per method, route, status code, scheme and error type — bounds inclusive', async () => {
    const prefix = freshPrefix()
    const c = await collector(prefix)
    const sent: { labels: RequestSeriesLabels; ms: number }[] = []
    const durations = [0, 0.4, 5, 5.001, 10, 24.9, 75, 100, 100.0004, 250, 999, 1000, 2500, 9999.5, 10_000, 10_001, 60_000]
    for (const [i, ms] of durations.entries()) {
      const status = [200, 201, 404, 500, 503][i % 5] as number
      const route = i % 2 === 0 ? '/users/:id' : '/orders'
      c.recordRequest({ method: i % 3 === 0 ? 'POST' : 'GET', route, status, durationMs: ms, ...(i === 4 ? { urlScheme: 'https' } : {}) })
      const errorType = status >= 500 ? String(status) : ''
      sent.push({ labels: { method: i % 3 === 0 ? 'POST' : 'GET', route, status: String(status), scheme: i === 4 ? 'https' : 'http', errorType }, ms })
    }
    // A thrown request names its class; a request with no status code (0) is stored without one.
    c.recordRequest({ method: 'get', route: '/pay', status: 200, durationMs: 7, error: true, errorType: 'TypeError' })
    sent.push({ labels: { method: 'GET', route: '/pay', status: '200', scheme: 'http', errorType: 'TypeError' }, ms: 7 })
    c.recordRequest({ method: 'GET', route: '/pay', status: 0, durationMs: 3 })
    sent.push({ labels: { method: 'GET', route: '/pay', status: '', scheme: 'http', errorType: '' }, ms: 3 }) // not an error: no 5xx, nothing thrown
    await c.flush()
    const got = await counters(prefix)
    expect(got).toEqual(expected(sent))
    for (const f of Object.keys(got)) expect(parseCounterField(f)).not.toBeNull()
    expect(await redis.pttl(createKeySpace(prefix).counters('shop'))).toBeGreaterThan(34 * 86_400_000)
  })

  it('only go up: a restarted process (same instance name, new boot) and a second instance add to the same counters', async () => {
    const prefix = freshPrefix()
    const labels = { method: 'GET', route: '/a', status: '200', scheme: 'http', errorType: '' }
    const n = requestSeriesPrefix(labels) + 'n'
    const a = await collector(prefix, 'web-1')
    for (let i = 0; i < 30; i++) a.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
    await a.close()
    expect((await counters(prefix))[n]).toBe(30)
    const restarted = await collector(prefix, 'web-1')
    const other = await collector(prefix, 'web-2')
    for (let i = 0; i < 12; i++) restarted.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
    for (let i = 0; i < 5; i++) other.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
    await Promise.all([restarted.flush(), other.flush()])
    expect((await counters(prefix))[n]).toBe(47)
  })

  it('a batch resent before its answer (an abandoned flush) adds once', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const stats = { droppedEvents: 0, droppedCacheEvents: 0, droppedRequestLogEntries: 0, failedFlushCommands: 0, duplicateFlushBatches: 0, droppedCounterIncrements: 0 }
    const effects = new FlushEffects({ keys, service: 'shop', ownTag: 'i1#boot', stats, reportError: () => {} })
    for (let i = 0; i < 9; i++) effects.counters.recordRequest('GET', '/a', 200, 'http', false, undefined, 1500)
    effects.counters.countBreakerOutcome('payments', 'failure')
    effects.countCacheEvent('catalog', 'hits', 4)
    const send = async () => {
      const p = redis.pipeline()
      const settle = effects.plan(p, Date.now(), [])
      return { exec: async () => settle((await p.exec()) as PipelineResults) }
    }
    const first = await send()
    const resend = await send()
    await first.exec()
    await resend.exec()
    const got = await counters(prefix)
    const p = requestSeriesPrefix({ method: 'GET', route: '/a', status: '200', scheme: 'http', errorType: '' })
    expect([got[p + 'n'], got[p + 's'], got[p + '0'], got[breakerCounterField('payments', 'failure')], got[cacheCounterField('catalog', 'hits')]]).toEqual([9, 13_500, 9, 1, 4])
    expect(stats.duplicateFlushBatches).toBe(1)
  })

  it('beyond the in-process series cap and the Redis field cap every request still counts, under (overflow); other fields beyond the cap are refused and counted', async () => {
    const prefix = freshPrefix()
    const c = await collector(prefix)
    const extra = 25
    for (let i = 0; i < MAX_PENDING_COUNTER_SERIES + extra; i++) c.recordRequest({ method: 'GET', route: `/r${i}`, status: 200, durationMs: 2 })
    await c.flush()
    let got = await counters(prefix)
    const overflowN = requestSeriesPrefix({ method: 'GET', route: COUNTERS_OVERFLOW_ROUTE, status: '', scheme: '', errorType: '' }) + 'n'
    expect(got[overflowN]).toBe(extra)
    const total = (g: Record<string, number>) => Object.entries(g).filter(([f]) => f.startsWith('r\t') && f.endsWith('\tn')).reduce((s, [, v]) => s + v, 0)
    expect(total(got)).toBe(MAX_PENDING_COUNTER_SERIES + extra)

    // Fill the hash to its cap: a new series lands in (overflow), a new breaker field is refused.
    const key = createKeySpace(prefix).counters('shop')
    const have = await redis.hlen(key)
    const filler = redis.pipeline()
    for (let i = have; i < MAX_COUNTER_FIELDS; i++) filler.hset(key, `c\tfiller${i}\thits`, '1')
    await filler.exec()
    c.recordRequest({ method: 'GET', route: '/brand-new', status: 200, durationMs: 2 })
    c.recordRequest({ method: 'GET', route: '/r0', status: 200, durationMs: 2 }) // exists: still its own series
    c.recordCacheEvent('new-cache', 'misses', 3)
    await c.flush()
    got = await counters(prefix)
    expect(got[requestSeriesPrefix({ method: 'GET', route: '/brand-new', status: '200', scheme: 'http', errorType: '' }) + 'n']).toBeUndefined()
    expect(got[overflowN]).toBe(extra + 1)
    expect(got[requestSeriesPrefix({ method: 'GET', route: '/r0', status: '200', scheme: 'http', errorType: '' }) + 'n']).toBe(2)
    expect(got[cacheCounterField('new-cache', 'misses')]).toBeUndefined()
    expect(c.stats.droppedCounterIncrements).toBe(1)
    expect(total(got)).toBe(MAX_PENDING_COUNTER_SERIES + extra + 2)
  })

  it('stays bounded in process whatever the host sends: 50,000 distinct routes in one flush interval give at most the cap of series, the rest in (overflow)', () => {
    const t = new CounterTotals()
    for (let i = 0; i < 50_000; i++) t.recordRequest('GET', `/u/${i}`, 200, 'http', false, undefined, 10)
    const pairs = t.take()
    const series = new Set<string>()
    let overflow = 0
    let total = 0
    for (let i = 0; i < pairs.length; i += 2) {
      const f = parseCounterField(pairs[i] as string)
      if (f?.type !== 'request' || f.part !== 'n') continue
      series.add(pairs[i] as string)
      total += Number(pairs[i + 1])
      if (f.labels.route === COUNTERS_OVERFLOW_ROUTE) overflow += Number(pairs[i + 1])
    }
    expect([series.size, overflow, total]).toEqual([MAX_PENDING_COUNTER_SERIES + 1, 50_000 - MAX_PENDING_COUNTER_SERIES, 50_000])
    expect(t.isEmpty).toBe(true)
  })

  it('breaker calls are counted by outcome, disjointly: success + failure + timeout + reject = calls', async () => {
    const prefix = freshPrefix()
    const c = await collector(prefix)
    let mode: 'ok' | 'fail' | 'slow' = 'ok'
    const b = c.breaker(
      'payments',
      async () => {
        if (mode === 'fail') throw new Error('down')
        if (mode === 'slow') await new Promise((r) => setTimeout(r, 200))
        return 'ok'
      },
      { timeout: 50, errorThresholdPercentage: 50, volumeThreshold: 1000, resetTimeout: 60_000 },
    )
    const calls = async (n: number) => {
      for (let i = 0; i < n; i++) await b.fire().catch(() => undefined)
    }
    await calls(7)
    mode = 'fail'
    await calls(4)
    mode = 'slow'
    await calls(2)
    b.opossum.open()
    await calls(3)
    await c.flush()
    const got = await counters(prefix)
    expect(['success', 'failure', 'timeout', 'reject'].map((o) => got[`b\tpayments\t${o}`])).toEqual([7, 4, 2, 3])
  })

  it('a counters key of the wrong type fails only the counters (dropped and counted); the buckets and events of the flush land', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await redis.set(keys.counters('shop'), 'not a hash')
    const c = await collector(prefix)
    for (let i = 0; i < 4; i++) c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
    c.recordCacheEvent('catalog', 'hits', 1)
    await c.flush()
    expect(await redis.get(keys.counters('shop'))).toBe('not a hash')
    // the series' count, sum and one bucket, and the cache event: four fields
    expect(c.stats.droppedCounterIncrements).toBe(4)
    expect(await redis.scard(keys.caches('shop'))).toBe(1)
    expect(await redis.zcard(keys.instances('shop'))).toBe(1)
  })
})
