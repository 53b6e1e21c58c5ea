/**
 * Time-bucket arithmetic for the stored time series. Pure: every function takes `nowMs` (epoch ms UTC).
 */

/** One storage tier: bucket width and how long its buckets are kept. */
export interface Tier {
  /** Name used in Redis keys, e.g. `10s`. */
  name: string
  /** Bucket width in ms. */
  bucketMs: number
  /** Retention in ms; buckets expire this long after their end. */
  retentionMs: number
}

/** The 10-second tier, kept 1 hour (DESIGN.md "Storage in Redis"): live views. */
export const TIER_10S: Tier = { name: '10s', bucketMs: 10_000, retentionMs: 3_600_000 }
/** The 1-minute tier, kept 24 hours. */
export const TIER_1M: Tier = { name: '1m', bucketMs: 60_000, retentionMs: 24 * 3_600_000 }
/** The 1-hour tier, kept 30 days. */
export const TIER_1H: Tier = { name: '1h', bucketMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 }
/**
 * Every tier, finest first. Collectors write each request into all of them (merged on write), so no roll-up job
 * is needed; the memory cost is measured by `npm run bench` (docs/BENCHMARKS.md).
 */
export const TIERS: readonly Tier[] = [TIER_10S, TIER_1M, TIER_1H]

/**
 * The coarsest-needed tier for a window: the finest tier that still covers it within its retention and gives at
 * most `maxPoints` buckets; falls back to the coarsest tier.
 */
export function tierForWindow(windowMs: number, maxPoints = 1000): Tier {
  for (const t of TIERS) if (windowMs <= t.retentionMs && windowMs / t.bucketMs <= maxPoints) return t
  return TIER_1H
}

/** Start (epoch ms) of the bucket of width `bucketMs` that contains `timeMs`. */
export function bucketStart(timeMs: number, bucketMs: number): number {
  return Math.floor(timeMs / bucketMs) * bucketMs
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

/** Expiry (epoch ms) of a bucket: its end plus the tier's retention. */
export function bucketExpiresAt(bucketStartMs: number, tier: Tier): number {
  return bucketStartMs + tier.bucketMs + tier.retentionMs
}
