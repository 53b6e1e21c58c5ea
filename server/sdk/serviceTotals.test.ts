import { describe, expect, it } from 'vitest'
import { TOTAL_FIELD, createKeySpace } from '../../shared/keys'
import { seededRandom } from '../../shared/random'
import { TIERS, TIER_10S, TIER_1H, TIER_1M, bucketStart, type Tier } from '../../shared/timeBuckets'
import type { Collector } from './index'
import { collector, collectorThroughProxy, connected, flushUntilLanded, freshPrefix, useTestRedis } from './collectorTesting.test-helpers'
import { TierOracle, comparable, readBucket, sumOfRoutes } from './tierOracle.test-helpers'
import type { RedisClient } from './redisTopology'
import { scanKeys, testTopology } from '../testing/redis'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const HOUR = 3_600_000
const ROUTES = ['/a', '/b/:id', '/c']

/**
 * A simulated start 90 s before an hour boundary that is more than an hour ahead of real time: the traffic crosses
 * 10 s, 1 min and 1 h buckets, and no bucket has expired in Redis (expiry is real time).
 */
function simStart(): number {
  return Math.ceil(Date.now() / HOUR) * HOUR + HOUR - 90_000
}

/** 0–12 requests at `atMs` (the collectors' clock must read `atMs`), spread over `cs`, recorded in `oracle` too. */
function traffic(random: () => number, oracle: TierOracle, cs: Collector[], atMs: number): void {
  const n = Math.floor(random() * 13)
  for (let i = 0; i < n; i++) {
    const route = ROUTES[Math.floor(random() * ROUTES.length)] as string
    const status = random() < 0.15 ? 503 : random() < 0.1 ? 404 : 200
    const method = random() < 0.7 ? 'GET' : 'POST'
    const durationMs = Math.round((0.5 + random() ** 3 * 800) * 1000) / 1000
    ;(cs[i % cs.length] as Collector).recordRequest({ method, route, status, durationMs })
    oracle.record(atMs, method, route, status, durationMs)
  }
}

/**
 * For every bucket of every tier overlapping `[fromMs, toMs]`: the total is present and folded, holds exactly what
 * the oracle recorded (count 0 where no request was), the route series likewise, and the routes add up to the total.
 */
async function expectEveryTier(prefix: string, oracle: TierOracle, fromMs: number, toMs: number): Promise<void> {
  const startsOf = (tier: Tier) => {
    const out: number[] = []
    for (let start = bucketStart(fromMs, tier.bucketMs); start <= toMs; start += tier.bucketMs) out.push(start)
    return out
  }
  // First the headline: every tier's totals add up to the requests recorded.
  for (const tier of TIERS) {
    const totals = await Promise.all(startsOf(tier).map((start) => readBucket(redis, prefix, 'tot', tier, start)))
    expect(totals.reduce((n, t) => n + (t.series[TOTAL_FIELD]?.count ?? 0), 0), `${tier.name} requests`).toBe(oracle.requests)
  }
  for (const tier of TIERS) {
    for (const start of startsOf(tier)) {
      const where = `${tier.name} bucket ${start}`
      const tot = await readBucket(redis, prefix, 'tot', tier, start)
      const req = await readBucket(redis, prefix, 'req', tier, start)
      const expectedRoutes = oracle.expected('req', tier, start)
      expect(tot.exists, where).toBe(true)
      expect(tot.fields, where).toEqual([TOTAL_FIELD])
      expect(tot.series[TOTAL_FIELD], where).toEqual(oracle.expected('tot', tier, start)[TOTAL_FIELD] ?? comparable(undefined))
      expect(req.fields, where).toEqual(Object.keys(expectedRoutes).sort())
      expect(req.series, where).toEqual(expectedRoutes)
      expect(sumOfRoutes(req), where).toEqual(tot.series[TOTAL_FIELD])
    }
  }
}

describe('service totals in every tier', () => {
  it('After traffic across bucket closes, the 10 s, 1 min and 1 h totals hold exactly the recorded requests and equal the sum of the routes', async () => {
    const prefix = freshPrefix()
    const t0 = simStart()
    let now = t0
    const clock = () => now
    const cs = [collector(prefix, 'a', { clock }), collector(prefix, 'b', { clock })]
    await Promise.all(cs.map(connected))
    const random = seededRandom(10)
    const oracle = new TierOracle()
    const end = t0 + 180_000
    for (let step = 0; now < end; step++) {
      now += 1300
      // A quiet 10 s bucket (no request at all) in the middle: its total must read 0, not be missing.
      if (now < t0 + 100_000 || now >= t0 + 125_000) traffic(random, oracle, cs, now)
      // Every third step only: requests recorded after their bucket's last flush must still be in its total.
      if (step % 3 === 2) await Promise.all(cs.map((c) => c.flush()))
    }
    now = t0 + 2 * HOUR // every bucket of the traffic has closed, in every tier
    for (let f = 0; f < 4; f++) await Promise.all(cs.map((c) => c.flush()))

    expect(cs.map((c) => [c.stats.droppedBuckets, c.stats.droppedLateRequests, c.stats.flushErrors])).toEqual([[0, 0, 0], [0, 0, 0]])
    expect(oracle.starts(TIER_1H).length).toBe(2) // the traffic really crossed an hour boundary
    await expectEveryTier(prefix, oracle, t0, end)
  })

  // Single node only: the outage is a TCP proxy in front of one node (collectorThroughProxy).
  it.skipIf(testTopology() === 'cluster')('While Redis is unreachable across several bucket closes and then back, no request is missing from the totals or the routes of any tier', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const t0 = simStart()
    let now = t0
    const { c, proxy } = await collectorThroughProxy(prefix, 'a', { clock: () => now })
    const random = seededRandom(11)
    const oracle = new TierOracle()
    const run = async (untilMs: number) => {
      while (now < untilMs) {
        now += 1000
        traffic(random, oracle, [c], now)
        await c.flush()
      }
    }
    await run(t0 + 30_000)
    proxy.cut()
    await run(t0 + 75_000) // the buckets of t0+30 s … t0+60 s close while Redis is unreachable
    expect(await redis.exists(keys.requestTotals('shop', TIER_10S.name, bucketStart(t0 + 50_000, TIER_10S.bucketMs)))).toBe(0)
    proxy.restore()
    await flushUntilLanded(c)
    await run(t0 + 110_000)
    now = t0 + 2 * HOUR
    for (let f = 0; f < 4; f++) await c.flush()

    expect([c.stats.droppedBuckets, c.stats.droppedLateRequests]).toEqual([0, 0])
    await expectEveryTier(prefix, oracle, t0, t0 + 110_000)
    await c.close()
  })
})

describe('no data is not zero', () => {
  it('An idle instance writes an empty total once into each 10 s bucket it was alive in, carried into the 1 min and 1 h tiers; buckets no instance flushed stay absent', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const h = Math.ceil(Date.now() / HOUR) * HOUR + HOUR
    let now = h + 1000
    const c = collector(prefix, 'idle', { clock: () => now })
    const totKey = (tier: Tier, atMs: number) => keys.requestTotals('shop', tier.name, bucketStart(atMs, tier.bucketMs))
    await connected(c)

    // The current 10 s bucket exists at once, with this instance's own empty total.
    const first = await readBucket(redis, prefix, 'tot', TIER_10S, h)
    expect(first.exists).toBe(true)
    expect(first.fields).toHaveLength(1)
    expect(first.fields[0]?.startsWith(`${TOTAL_FIELD}\tidle#`)).toBe(true)
    expect(first.series[TOTAL_FIELD]).toEqual(comparable(undefined))
    // Written once: deleted behind the collector's back, it is not written again while nothing changes.
    await redis.del(totKey(TIER_10S, h))
    for (let f = 0; f < 3; f++) await c.flush()
    expect(await redis.exists(totKey(TIER_10S, h))).toBe(0)

    // A flush a second for 95 s: every 10 s bucket gets its total, and the minute of h its roll-up.
    while (now < h + 96_000) {
      now += 1000
      await c.flush()
      if (now === h + 36_000) {
        // The 1 min total of h was written (in the flush after the first roll-up) …
        expect(await redis.exists(totKey(TIER_1M, h))).toBe(1)
        // … and, deleted, is not written again by the later (empty) roll-ups nor by the fold.
        await redis.del(totKey(TIER_1M, h))
      }
    }
    now = h + 2 * HOUR // every bucket above has closed
    for (let f = 0; f < 4; f++) await c.flush()

    expect(await redis.exists(totKey(TIER_10S, h))).toBe(0)
    expect(await redis.exists(totKey(TIER_1M, h))).toBe(0)
    for (const [tier, atMs] of [[TIER_10S, h + 10_000], [TIER_10S, h + 90_000], [TIER_1M, h + 60_000], [TIER_1H, h]] as const) {
      const tot = await readBucket(redis, prefix, 'tot', tier, bucketStart(atMs, tier.bucketMs))
      expect([tier.name, tot.exists, tot.fields], `${tier.name} ${atMs}`).toEqual([tier.name, true, [TOTAL_FIELD]])
      expect(tot.series[TOTAL_FIELD]).toEqual(comparable(undefined))
    }
    // Gaps: no instance flushed during these buckets (the clock jumped from h + 96 s to h + 2 h).
    for (const [tier, atMs] of [[TIER_10S, h + 30 * 60_000], [TIER_1M, h + 30 * 60_000], [TIER_1H, h + HOUR]] as const) {
      expect(await redis.exists(totKey(tier, atMs)), `${tier.name} ${atMs}`).toBe(0)
    }
    // Route buckets are unchanged: an idle instance writes none.
    expect(await scanKeys(redis, `${prefix}:{shop}:req:*`)).toEqual([])
    // And where no collector ever ran, nothing exists at all.
    expect(await scanKeys(redis, `${freshPrefix()}:{shop}:tot:*`)).toEqual([])
  })
})
