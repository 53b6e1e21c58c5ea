/**
 * Caches of a service: hits, misses, sets and invalidations over a window with the hit ratio per bucket, and
 * invalidation by tag from the dashboard (the same code the SDK uses, server/sdk/cache.ts).
 */
import type { RedisClient } from '../../sdk/redisTopology'
import { cacheField, type KeySpace } from '../../../shared/keys'
import { TIERS, bucketExpiresAt, bucketStart } from '../../../shared/timeBuckets'
import { FuseboxCache } from '../../sdk/cache'
import { readKey, reportInvalidValue } from './redisInput'
import { chartedBucketCount, readEach, windowBuckets } from './windowRead'

const KINDS = ['hits', 'misses', 'sets', 'invalidations'] as const

/** Counts of one cache over a window or one bucket; hit ratio = hits ÷ (hits + misses), null when no lookups. */
export interface CacheCounts {
  hits: number
  misses: number
  sets: number
  invalidations: number
  hitRatio: number | null
}

/** One cache with its window totals and one point per bucket. */
export interface CacheSummary extends CacheCounts {
  cache: string
  points: (CacheCounts & { t: number })[]
}

/**
 * A cache counter field as stored (HINCRBY: a decimal integer), 0 when absent; a value that is not a non-negative
 * safe integer is skipped as 0 and counted (`cache_counter`, see redisInput.ts).
 */
function counter(key: string, field: string, raw: string | undefined): number {
  if (raw === undefined) return 0
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (Number.isSafeInteger(n)) return n
  reportInvalidValue('cache_counter', key, `field ${JSON.stringify(field)} is not a count`)
  return 0
}

function counts(h: number, m: number, s: number, i: number): CacheCounts {
  return { hits: h, misses: m, sets: s, invalidations: i, hitRatio: h + m > 0 ? h / (h + m) : null }
}

/**
 * Every cache of a service over `[untilMs - windowMs, untilMs]` (`untilMs` default `nowMs`: an absolute window's end,
 * epoch ms; finest tier giving ≤ maxPoints buckets, see `windowBuckets`). A names set or
 * a bucket hash of the wrong type reads as empty, a counter that is not a count as 0 (counted, logged once:
 * redisInput.ts).
 */
export async function readCaches(
  redis: RedisClient,
  keys: KeySpace,
  service: string,
  nowMs: number,
  windowMs: number,
  maxPoints = 1000,
  untilMs = nowMs,
): Promise<{ tier: string; caches: CacheSummary[] }> {
  const w = windowBuckets(nowMs, windowMs, maxPoints, untilMs)
  const { tier, starts } = w
  const charted = chartedBucketCount(w, nowMs)
  const names = (await readKey(keys.caches(service), () => redis.smembers(keys.caches(service)), [])).sort()
  const bucketKeys = starts.map((t) => keys.cacheBucket(service, tier.name, t))
  const buckets = await readEach(redis, bucketKeys, (p, key) => p.hgetall(key), {} as Record<string, string>)
  const caches = names.map((cache): CacheSummary => {
    const total = [0, 0, 0, 0]
    const all = starts.map((t, i) => {
      const h = buckets[i] ?? {}
      const c = KINDS.map((k) => counter(bucketKeys[i] as string, cacheField(cache, k), h[cacheField(cache, k)]))
      c.forEach((n, j) => (total[j] = (total[j] ?? 0) + n))
      return { t, ...counts(c[0] ?? 0, c[1] ?? 0, c[2] ?? 0, c[3] ?? 0) }
    })
    // Totals count every bucket; the chart leaves out a young open one (see chartedBucketCount).
    return { cache, ...counts(total[0] ?? 0, total[1] ?? 0, total[2] ?? 0, total[3] ?? 0), points: all.slice(0, charted) }
  })
  return { tier: tier.name, caches }
}

/**
 * Removes every key of `cache` tagged `tag` (service-wide, all instances share the Redis entries) and counts the
 * invalidations in the cache's time series.
 * @returns the number of keys removed
 * @throws Error when Redis fails (nothing is half-counted: the count is written after the removal)
 */
export async function invalidateCacheTag(redis: RedisClient, keys: KeySpace, service: string, cache: string, tag: string, nowMs: number): Promise<number> {
  let failure: Error | null = null
  const c = new FuseboxCache<unknown>(cache, { ttlSeconds: 60 }, {
    redis,
    keys,
    service,
    record: () => {}, // counted below, once, in every tier
    onError: (e) => {
      failure ??= e
    },
  })
  const removed = await c.invalidateTag(tag)
  if (failure) throw failure
  if (removed > 0) {
    const p = redis.pipeline()
    for (const tier of TIERS) {
      const start = bucketStart(nowMs, tier.bucketMs)
      const key = keys.cacheBucket(service, tier.name, start)
      p.hincrby(key, cacheField(cache, 'invalidations'), removed).pexpireat(key, bucketExpiresAt(start, tier))
    }
    await p.exec()
  }
  return removed
}
