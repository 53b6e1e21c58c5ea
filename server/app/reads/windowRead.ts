/**
 * The bucket walk the windowed reads share (service and route series, endpoints, caches): which buckets a window
 * covers, and one Redis reply per bucket (or per any key) read in a single pipeline.
 */
import type { ChainableCommander } from 'ioredis'
import type { RedisClient } from '../../sdk/redisTopology'
import { TIERS, TIER_1H, bucketStart, type Tier } from '../../../shared/timeBuckets'
import { isWrongType, reportInvalidValue } from './redisInput'

/**
 * Most buckets one windowed read covers. Every read of the same window — tiles, charts, tables, drill-downs — picks
 * its tier with this same bound, so they all cover the same buckets (docs/METRICS.md "Windows and tiers").
 */
export const MAX_POINTS = 1000

/**
 * The tier a window is read from: the finest tier that still holds the window's start at `nowMs` (its retention
 * reaches back to `startMs`) and gives at most `maxPoints` buckets; falls back to the coarsest tier.
 */
function tierForWindow(startMs: number, windowMs: number, nowMs: number, maxPoints: number): Tier {
  for (const t of TIERS) if (nowMs - startMs <= t.retentionMs && windowMs / t.bucketMs <= maxPoints) return t
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

/**
 * The buckets a windowed read covers: the tier chosen, each bucket's start (epoch ms), oldest first, and the time
 * the window ends (`endMs`, ≤ now).
 */
export interface WindowBuckets {
  tier: Tier
  starts: number[]
  endMs: number
}

/**
 * The buckets covering `[untilMs - windowMs, untilMs]` (default `untilMs` = `nowMs`; a later one is read as `nowMs`)
 * in the tier `tierForWindow` picks: every bucket that overlaps the window, the partial first and last ones included
 * (a window ending in the past still holds the bucket its end falls in, whole: on a coarse tier that bucket may hold
 * all of a young fleet's data). Times in epoch ms, `windowMs` in ms.
 * @throws RangeError when `windowMs` is not positive (the API's input validation rules that out)
 */
export function windowBuckets(nowMs: number, windowMs: number, maxPoints = MAX_POINTS, untilMs = nowMs): WindowBuckets {
  const endMs = Math.min(untilMs, nowMs)
  const tier = tierForWindow(endMs - windowMs, windowMs, nowMs, maxPoints)
  const starts = bucketStartsInWindow(endMs, windowMs, tier.bucketMs)
  // A window ending in the past ends before a bucket that starts exactly at its end.
  return { tier, starts: endMs < nowMs ? starts.filter((t) => t < endMs) : starts, endMs }
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

/** The hash tag of a key — what is between its first `{` and the next `}` (Redis Cluster's rule) — or the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return key.slice(open + 1, close)
  }
  return key
}

/**
 * Queues one command per key (`queue` adds it to the pipeline), sends them all in one round trip and returns the
 * replies in key order, typed `R` as the caller states; `absent` stands in for a reply Redis did not give and for a
 * key of the wrong type (Redis is an input: that key is left out, counted and logged once, see redisInput.ts — one
 * bad key never fails the read of the others). No keys, no round trip.
 *
 * Slot-safe by construction: callers pass the keys of one service (one hash tag, one slot); should keys of several
 * tags come (a cross-service read), each tag gets a pipeline of its own, sent in parallel — on a Redis Cluster a
 * pipeline must stay within one node, and on one Redis the split costs only extra round trips.
 * @throws the first other failed command's error (in key order), or the connection's
 */
export async function readEach<R>(
  redis: RedisClient,
  keys: readonly string[],
  queue: (p: ChainableCommander, key: string) => unknown,
  absent: R,
): Promise<R[]> {
  if (keys.length === 0) return []
  const byTag = new Map<string, number[]>()
  keys.forEach((key, i) => {
    const tag = hashTagOf(key)
    const list = byTag.get(tag)
    if (list) list.push(i)
    else byTag.set(tag, [i])
  })
  const replies: [Error | null, unknown][] = new Array(keys.length)
  await Promise.all(
    [...byTag.values()].map(async (indexes) => {
      const p = redis.pipeline()
      for (const i of indexes) queue(p, keys[i] as string)
      const results = (await p.exec()) ?? []
      indexes.forEach((keyIndex, j) => (replies[keyIndex] = results[j] ?? [null, absent]))
    }),
  )
  return keys.map((key, i) => {
    const [err, reply] = replies[i] ?? [null, absent]
    if (err) {
      if (!isWrongType(err)) throw err
      reportInvalidValue('wrong_type', key, err.message)
      return absent
    }
    return reply as R
  })
}
