/**
 * The bucket walk the windowed reads share (service and route series, endpoints, caches): which buckets a window
 * covers, and one Redis reply per bucket (or per any item) read in a single pipeline.
 */
import type { ChainableCommander, Redis } from 'ioredis'
import { TIERS, TIER_1H, bucketStart, type Tier } from '../../../shared/timeBuckets'

/**
 * The coarsest-needed tier for a window: the finest tier that still covers it within its retention and gives at
 * most `maxPoints` buckets; falls back to the coarsest tier.
 */
function tierForWindow(windowMs: number, maxPoints = 1000): Tier {
  for (const t of TIERS) if (windowMs <= t.retentionMs && windowMs / t.bucketMs <= maxPoints) return t
  return TIER_1H
}

/**
 * Bucket starts covering `[nowMs - windowMs, nowMs]`, oldest first, the partial current bucket included.
 * @throws RangeError when windowMs or bucketMs is not positive.
 */
export function bucketStartsInWindow(nowMs: number, windowMs: number, bucketMs: number): number[] {
  if (!(windowMs > 0) || !(bucketMs > 0)) throw new RangeError('windowMs and bucketMs must be positive')
  const first = bucketStart(nowMs - windowMs, bucketMs)
  const last = bucketStart(nowMs, bucketMs)
  const out: number[] = []
  for (let t = first; t <= last; t += bucketMs) out.push(t)
  return out
}

/** The buckets a windowed read covers: the tier chosen and each bucket's start (epoch ms), oldest first. */
export interface WindowBuckets {
  tier: Tier
  starts: number[]
}

/**
 * The buckets covering `[nowMs - windowMs, nowMs]` (the partial current bucket included) in the finest tier giving
 * at most `maxPoints` of them (`tierForWindow`). Times in epoch ms, `windowMs` in ms.
 * @throws RangeError when `windowMs` is not positive (the API's input validation rules that out)
 */
export function windowBuckets(nowMs: number, windowMs: number, maxPoints: number): WindowBuckets {
  const tier = tierForWindow(windowMs, maxPoints)
  return { tier, starts: bucketStartsInWindow(nowMs, windowMs, tier.bucketMs) }
}

/**
 * Least age (ms) of the still-open newest bucket before it is charted: half a bucket, at least 30 s. A younger one
 * holds a second or two of flushes (the SDK flushes every second), so a per-second rate over it dips towards zero at
 * the right edge of every chart — the artefact Grafana users know from `rate()` over a partial range. The 10 s tier's
 * open bucket is therefore never charted (the live numbers still count it); a 1 h bucket is charted after 30 min.
 */
export function openBucketMinAgeMs(bucketMs: number): number {
  return Math.max(bucketMs / 2, 30_000)
}

/**
 * How many of `starts` (oldest first) to chart at `nowMs`: all of them, or all but the newest while it is still open
 * and younger than `openBucketMinAgeMs`.
 */
export function chartedBucketCount({ tier, starts }: WindowBuckets, nowMs: number): number {
  const newest = starts.at(-1)
  if (newest === undefined) return 0
  const age = nowMs - newest
  return age < tier.bucketMs && age < openBucketMinAgeMs(tier.bucketMs) ? starts.length - 1 : starts.length
}

/**
 * Queues one command per item (`queue` adds it to the pipeline), sends them all in one round trip and returns the
 * replies in item order, typed `R` as the caller states; `absent` stands in for a reply Redis did not give. No
 * items, no round trip.
 * @throws the first failed command's error (in item order), or the connection's
 */
export async function readEach<I, R>(
  redis: Redis,
  items: readonly I[],
  queue: (p: ChainableCommander, item: I) => unknown,
  absent: R,
): Promise<R[]> {
  if (items.length === 0) return []
  const p = redis.pipeline()
  for (const item of items) queue(p, item)
  const results = (await p.exec()) ?? []
  return items.map((_, i) => {
    const [err, reply] = results[i] ?? [null, absent]
    if (err) throw err
    return reply as R
  })
}
