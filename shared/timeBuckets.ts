/**
 * The storage tiers and the bucket arithmetic the SDK (writing) and the server (reading) share. Pure: times are
 * passed in (epoch ms UTC), never read from the clock; which buckets a read covers is the server's
 * (server/app/reads/windowRead.ts).
 */

/**
 * A time source: returns the current time as epoch ms UTC (like `Date.now`). Whoever reads the clock takes one of
 * these (the SDK's `CollectorOptions.clock`, default `Date.now`), so tests can drive simulated time; this module only
 * names the type and never calls one.
 */
export type Clock = () => number

/** One storage tier: bucket width and how long its buckets are kept. */
export interface Tier {
  /** Name used in Redis keys, e.g. `10s`. */
  name: string
  /** Bucket width in ms. */
  bucketMs: number
  /** Retention in ms; buckets expire this long after their end. */
  retentionMs: number
}

/**
 * The 10-second tier, kept 1 hour (docs/PRODUCT.md "Storage in Redis"): live views. Kept 5 minutes longer than the
 * 1 h range it serves, so a 1 h window that ended up to 5 minutes ago (a paused view) is still read from this tier,
 * whole, instead of switching to the 1 min tier (docs/METRICS.md "Windows and tiers").
 */
export const TIER_10S: Tier = { name: '10s', bucketMs: 10_000, retentionMs: 65 * 60_000 }
/** The 1-minute tier, kept 24 hours. */
export const TIER_1M: Tier = { name: '1m', bucketMs: 60_000, retentionMs: 24 * 3_600_000 }
/** The 1-hour tier, kept 30 days. */
export const TIER_1H: Tier = { name: '1h', bucketMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 }
/**
 * Every tier, finest first. Collectors write the 10 s tier from their live aggregates and roll each closed 10 s
 * bucket up into its 1 min and 1 h buckets in process (docs/decisions/006), so no roll-up job or leader is needed;
 * the memory cost is measured by `npm run bench` (docs/BENCHMARKS.md).
 */
export const TIERS: readonly Tier[] = [TIER_10S, TIER_1M, TIER_1H]

/** Start (epoch ms) of the bucket of width `bucketMs` that contains `timeMs`. */
export function bucketStart(timeMs: number, bucketMs: number): number {
  return Math.floor(timeMs / bucketMs) * bucketMs
}

/** Expiry (epoch ms) of a bucket: its end plus the tier's retention. */
export function bucketExpiresAt(bucketStartMs: number, tier: Tier): number {
  return bucketStartMs + tier.bucketMs + tier.retentionMs
}
