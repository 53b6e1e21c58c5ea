/**
 * The work of a bucket close is spread (seriesWriter.ts CLOSE_SPREAD_MS, docs/decisions/033): a fleet closes each
 * 10 s bucket in the same second, so at a 1 s flush cadence an instance folds a closed bucket 1/5 per flush and writes
 * its coarse values 1 + k flushes after the roll-up (k in [0, 5) per process) — and a reader's figures never change
 * meanwhile (own and shared fields add up to the oracle at every flush). Hand-driven flushes (a cadence under 250 ms
 * with the default 60 s interval of these tests) spread nothing. On a single node and on the test cluster.
 */
import { describe, expect, it } from 'vitest'
import { TOTAL_FIELD, createKeySpace } from '../../shared/keys'
import { TIER_10S, TIER_1M, bucketStart } from '../../shared/timeBuckets'
import { collector, connected, freshPrefix, useTestRedis } from './collectorTesting.test-helpers'
import type { RedisClient } from './redisTopology'
import { CLOSE_SPREAD_MS } from './seriesWriter'
import { TierOracle, readBucket } from './tierOracle.test-helpers'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const ROUTES = 200
/** Own fields (`<series>\t<tag>`) of a stored bucket. */
const ownFields = (fields: string[]): number => fields.filter((f) => f.includes('\t')).length

describe('the close of a bucket, spread over CLOSE_SPREAD_MS', () => {
  it('at a 1 s cadence folds a 200-route bucket over 5 flushes, the figures exact at every flush', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    // A 10 s bucket an hour ahead of real time (nothing expires meanwhile), the clock at 1 s into it.
    const start = bucketStart(Date.now(), TIER_10S.bucketMs) + 3_600_000
    let now = start + 1000
    const c = collector(prefix, 'spread', { clock: () => now })
    await connected(c)
    const oracle = new TierOracle()
    for (let r = 0; r < ROUTES; r++) {
      c.recordRequest({ method: 'GET', route: `/r${r}`, status: 200, durationMs: 1 + r })
      oracle.record(now, 'GET', `/r${r}`, 200, 1 + r)
    }
    const expected = oracle.expected('req', TIER_10S, start)
    const own: number[] = []
    // One flush a second, from 1 s into the bucket to well past its close (its end + 2.5 s) and the spread.
    for (; now <= start + TIER_10S.bucketMs + 2500 + CLOSE_SPREAD_MS + 3000; now += 1000) {
      await c.flush()
      const stored = await readBucket(redis, prefix, 'req', TIER_10S, start)
      expect(stored.series, `the 10 s bucket's figures after the flush at +${(now - start) / 1000} s`).toEqual(expected)
      own.push(ownFields(stored.fields))
    }
    expect(c.stats.flushErrors).toBe(0)
    // Folding: some flushes in between hold part of the own fields (never all gone at once) …
    const partial = own.filter((n) => n > 0 && n < ROUTES)
    expect(own[0], 'every route has its own field while the bucket is open').toBe(ROUTES)
    expect(partial.length, `own fields per flush: ${own.join(' ')}`).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < own.length; i++) expect(own[i]!, `own fields never grow back: ${own.join(' ')}`).toBeLessThanOrEqual(own[i - 1]!)
    // … and all are folded by the end.
    expect(own.at(-1), `own fields per flush: ${own.join(' ')}`).toBe(0)
  })

  it('with hand-driven flushes (no cadence) folds the whole bucket in one flush, as before the spread', async () => {
    const prefix = freshPrefix()
    const start = bucketStart(Date.now(), TIER_10S.bucketMs) + 3_600_000
    let now = start + 1000
    const c = collector(prefix, 'burst', { clock: () => now })
    await connected(c)
    for (let r = 0; r < ROUTES; r++) c.recordRequest({ method: 'GET', route: `/r${r}`, status: 200, durationMs: 5 })
    await c.flush()
    now = start + TIER_10S.bucketMs + 2500
    await c.flush() // closes: the final values are written
    await c.flush() // confirmed: folds
    const stored = await readBucket(redis, prefix, 'req', TIER_10S, start)
    expect([ownFields(stored.fields), stored.fields.length]).toEqual([0, ROUTES])
  })

  it('spreads the coarse writes of one roll-up over several flushes across processes, each within the spread', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const start = bucketStart(Date.now(), TIER_1M.bucketMs) + 3_600_000
    let now = start + 1000
    const instances = Array.from({ length: 10 }, (_, i) => collector(prefix, `i${i}`, { clock: () => now }))
    await Promise.all(instances.map(connected))
    for (const c of instances) c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 5 })
    /** Per instance: flushes after the roll-up its own field appeared in the 1 min total. */
    const lagS = new Map<string, number>()
    // The roll-up: the first flush at or after the 10 s bucket's end + 2.5 s (flushes fall on whole seconds here).
    const rollUpAt = start + 1000 + Math.ceil((TIER_10S.bucketMs + 2500 - 1000) / 1000) * 1000
    for (; now <= rollUpAt + CLOSE_SPREAD_MS + 2000; now += 1000) {
      await Promise.all(instances.map((c) => c.flush()))
      const fields = await redis.hkeys(keys.requestTotals('shop', TIER_1M.name, start))
      for (const f of fields) {
        const tag = f.split('\t')[1]
        if (f.startsWith(TOTAL_FIELD) && tag !== undefined && !lagS.has(tag.split('#')[0]!)) lagS.set(tag.split('#')[0]!, (now - rollUpAt) / 1000)
      }
    }
    expect(instances.map((c) => c.stats.flushErrors)).toEqual(instances.map(() => 0))
    // Every instance wrote, 1 to 5 flushes after the roll-up (1 + k, k in [0, 5)), not all in the same flush.
    expect([...lagS.keys()].sort()).toEqual(instances.map((_, i) => `i${i}`).sort())
    for (const [instance, lag] of lagS) expect(lag, instance).toBeGreaterThanOrEqual(1)
    for (const [instance, lag] of lagS) expect(lag, instance).toBeLessThanOrEqual(CLOSE_SPREAD_MS / 1000)
    expect(new Set(lagS.values()).size, `lags: ${[...lagS].join(' ')}`).toBeGreaterThanOrEqual(2)
  })
})
