import { describe, expect, it } from 'vitest'
import { memoryAfterGc } from '../testing/memory'
import { parseHeartbeat } from '../../shared/heartbeat'
import { TOTAL_FIELD, cacheField, createKeySpace } from '../../shared/keys'
import { BreakerInstanceReport } from '../../shared/schemas'
import { parseEvent, parseRequestLogEntry } from '../../shared/streamEntries'
import { TIERS, TIER_10S, TIER_1H, TIER_1M, bucketExpiresAt, bucketStart } from '../../shared/timeBuckets'
import { collector, connected, freshPrefix, useTestRedis } from './collectorTesting.test-helpers'
import { readBucket } from './tierOracle.test-helpers'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const HOUR = 3_600_000
const ROUTES = ['/a', '/b/:id', '/c']

/** Reads the writer's bucket count (not public API: the test checks the SDK's own memory bound). */
function bucketCountOf(c: object): number {
  return (c as { writer: { bucketCount: number } }).writer.bucketCount
}

describe('the collector clock', () => {
  it('drives 30 simulated days through recordRequest and flush in seconds: buckets close, roll up and fold as simulated time passes, and the writer stays bounded', { timeout: 120_000 }, async () => {
    const prefix = freshPrefix()
    // 30 days ending at the current real hour. Redis expiry is real time, so what stays is what retention keeps:
    // every 1 h bucket, the last day of 1 min buckets, the last hour of 10 s buckets (older ones are deleted at once).
    const endHour = Math.floor(Date.now() / HOUR) * HOUR
    const firstHour = endHour - 30 * 24 * HOUR
    let now = firstHour
    const c = collector(prefix, 'sim', { clock: () => now })
    await connected(c)
    const startedAt = performance.now()
    let maxBuckets = 0
    let memoryAtDay10 = 0
    for (let hour = firstHour; hour < endHour; hour += HOUR) {
      // Three visits an hour, each 10 requests in one 10 s bucket, then one flush: the clock jumps minutes each time.
      for (const offsetMs of [1000, 5 * 60_000 + 3000, 20 * 60_000 + 7000]) {
        now = hour + offsetMs
        for (let i = 0; i < 10; i++) c.recordRequest({ method: 'GET', route: ROUTES[i % 3] as string, status: i === 0 ? 503 : 200, durationMs: 1 + i })
        await c.flush()
        maxBuckets = Math.max(maxBuckets, bucketCountOf(c))
      }
      if (hour > firstHour) {
        // The previous hour has closed, its final value was written and folded: one shared field, exactly its requests.
        const previous = await readBucket(redis, prefix, 'tot', TIER_1H, hour - HOUR)
        expect([previous.fields, previous.series[TOTAL_FIELD]?.count, previous.series[TOTAL_FIELD]?.errors], `hour ${hour - HOUR}`).toEqual([[TOTAL_FIELD], 30, 3])
      }
      if (hour === firstHour + 10 * 24 * HOUR) memoryAtDay10 = memoryAfterGc()
    }
    const memoryGrowth = memoryAfterGc() - memoryAtDay10
    now = endHour + 2 * HOUR // everything has closed
    for (let f = 0; f < 4; f++) await c.flush()
    const elapsedMs = performance.now() - startedAt
    console.log(`[simulated clock] ${JSON.stringify({ days: 30, flushes: c.stats.flushes, unacknowledged: c.stats.unacknowledgedFlushes, unreplicated: c.stats.unreplicatedFlushes, elapsedMs: Math.round(elapsedMs), maxBuckets, memoryGrowthMb: Math.round(memoryGrowth / 2 ** 20 * 10) / 10 })}`)

    expect(c.stats.flushErrors).toBe(0)
    expect([c.stats.droppedBuckets, c.stats.droppedLateRequests]).toEqual([0, 0])
    // Bounded: per tier the open bucket and the one closing (or folding), for routes and total: 3 × 2 × 2. On a
    // cluster a flush whose WAIT no replica acknowledged in time counts as unconfirmed (docs/decisions/029): its closing
    // buckets stay until a later flush is acknowledged, so at most one more closing generation per tier (3 × 2).
    expect(maxBuckets).toBeLessThanOrEqual(c.stats.unacknowledgedFlushes === 0 ? 12 : 18)
    expect(bucketCountOf(c)).toBe(1) // all that is left: the current (still open) 10 s bucket's empty total
    expect(memoryGrowth).toBeLessThan(5 * 2 ** 20)
    // Every hour of the 30 days: totals and routes exact, folded.
    let requests = 0
    for (let hour = firstHour; hour < endHour; hour += HOUR) {
      const [tot, req] = await Promise.all([readBucket(redis, prefix, 'tot', TIER_1H, hour), readBucket(redis, prefix, 'req', TIER_1H, hour)])
      expect(tot.fields, `hour ${hour}`).toEqual([TOTAL_FIELD])
      expect(req.fields, `hour ${hour}`).toEqual(['GET /a', 'GET /b/:id', 'GET /c'])
      expect(['GET /a', 'GET /b/:id', 'GET /c'].map((f) => req.series[f]?.count), `hour ${hour}`).toEqual([12, 9, 9])
      requests += tot.series[TOTAL_FIELD]?.count ?? 0
    }
    expect(requests).toBe(30 * 24 * 30)
    // The last simulated hour: one total of 10 requests per visit in the 1 min tier (kept 24 h) and in the 10 s tier
    // where its 1 h retention has not run out in real time yet; where it has, Redis deleted the bucket at once.
    const lastHour = endHour - HOUR
    for (const offsetMs of [1000, 5 * 60_000 + 3000, 20 * 60_000 + 7000]) {
      for (const tier of [TIER_1M, TIER_10S]) {
        const start = bucketStart(lastHour + offsetMs, tier.bucketMs)
        const tot = await readBucket(redis, prefix, 'tot', tier, start)
        const kept = bucketExpiresAt(start, tier) > Date.now() + 5000
        if (!kept && bucketExpiresAt(start, tier) > Date.now() - 5000) continue // expiring just now: either is right
        expect([tot.fields, tot.series[TOTAL_FIELD]?.count], `${tier.name} ${offsetMs}`).toEqual(kept ? [[TOTAL_FIELD], 10] : [[], undefined])
      }
    }
  })

  it('stamps the heartbeat, the instance score and its pruning, breaker reports and events, cache counters and the request log with its time', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const startedAtMs = Math.floor(Date.now() / HOUR) * HOUR + 5 * 24 * HOUR // five days ahead of the wall clock
    let now = startedAtMs
    const c = collector(prefix, 'clocked', { clock: () => now, slowRequestThresholdMs: 100 })
    const b = c.breaker('payments', async () => 'ok')
    await connected(c)
    // An instance last seen two simulated hours ago is pruned by this clock's flush (pruning is at 1 h).
    await redis.zadd(keys.instances('shop'), now - 2 * HOUR, 'gone')

    now = startedAtMs + 60_000
    b.opossum.open()
    const transitionAtMs = now
    c.recordRequest({ method: 'GET', route: '/slow', status: 200, durationMs: 250 })
    now = startedAtMs + 90_000
    c.recordCacheEvent('catalog', 'hits', 3)
    await c.flush()

    expect(await redis.zrange(keys.instances('shop'), '0', '-1', 'WITHSCORES')).toEqual(['clocked', String(now)])
    const { heartbeat } = parseHeartbeat(await redis.hgetall(keys.instanceInfo('shop', 'clocked')))
    expect([heartbeat.startedAtMs, heartbeat.lastSeenMs]).toEqual([startedAtMs, now])
    const report = BreakerInstanceReport.parse(JSON.parse((await redis.hget(keys.breakerState('shop', 'payments'), 'clocked')) ?? 'null'))
    expect([report.state, report.lastTransitionAtMs, report.updatedAtMs]).toEqual(['OPEN', transitionAtMs, now])
    const events = (await redis.xrange(keys.events('shop'), '-', '+')).map(([, f]) => parseEvent(Object.fromEntries(pairs(f))))
    expect(events.map((e) => [e?.to, e?.atMs])).toEqual([['OPEN', transitionAtMs]])
    const log = (await redis.xrange(keys.requestLog('shop'), '-', '+')).map(([, f]) => parseRequestLogEntry(Object.fromEntries(pairs(f))))
    expect(log.map((e) => [e?.route, e?.atMs])).toEqual([['/slow', transitionAtMs]])
    for (const tier of TIERS) {
      expect(await redis.hget(keys.cacheBucket('shop', tier.name, bucketStart(now, tier.bucketMs)), cacheField('catalog', 'hits')), tier.name).toBe('3')
    }
    // The request's bucket is the clock's, not the wall clock's.
    const tot = await readBucket(redis, prefix, 'tot', TIER_10S, bucketStart(transitionAtMs, TIER_10S.bucketMs))
    expect(tot.series[TOTAL_FIELD]?.count).toBe(1)
  })
})

/** `[k1, v1, k2, v2, …]` as `[k, v]` pairs. */
function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string])
  return out
}
