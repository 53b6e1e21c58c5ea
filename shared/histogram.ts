/**
 * Mergeable log-bucketed latency histogram (DDSketch-style), pure functions over a fixed bucket vector.
 *
 * Layout (see docs/decisions/003-histogram-layout.md): bucket `i ≥ 1` holds values in
 * `(MIN_TRACKED_MS·γ^(i-1), MIN_TRACKED_MS·γ^i]` with `γ = (1+α)/(1-α)`, α = RELATIVE_ACCURACY. Bucket 0 holds
 * everything ≤ MIN_TRACKED_MS (reported as 0) and the last bucket everything above MAX_TRACKED_MS (clamped).
 * Because the layout is a constant, any two histograms merge by adding counts index by index — across instances
 * (the SDK's fold in Redis, the server's reads) and across time — and percentiles are computed from the merged counts,
 * never averaged.
 *
 * Error bound (Masson, Rim, Lee: "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error
 * Guarantees", VLDB 2019, §2): reporting bucket i as `2·MIN·γ^i/(γ+1)` is within α relative error of every value
 * in the bucket, hence of the exact rank-q value of the sample.
 *
 * This module has no imports on purpose: the SDK records into this layout on its hot path and the server reads
 * percentiles from it (server/app/reads/packedSeries.ts, which matches `percentile` here, the reference definition
 * the tests and `npm run bench` measure).
 */

/** Relative accuracy α of every reported percentile (1%); the product promise is ≤ 2%. */
export const RELATIVE_ACCURACY = 0.01
/** Bucket growth factor γ = (1+α)/(1-α). */
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
const LN_GAMMA = Math.log(GAMMA)
/** Smallest distinguishable duration, in ms (1 µs); smaller values count in bucket 0 and report as 0. */
const MIN_TRACKED_MS = 0.001
/** Largest distinguishable duration, in ms (1 h); larger values are clamped into the last bucket. */
export const MAX_TRACKED_MS = 3_600_000
/** Highest bucket index (≈ 1,100 with the defaults above). */
const MAX_BUCKET_INDEX = Math.ceil(Math.log(MAX_TRACKED_MS / MIN_TRACKED_MS) / LN_GAMMA)
/** Number of buckets in the fixed layout, bucket 0 included. */
export const BUCKET_COUNT = MAX_BUCKET_INDEX + 1

/**
 * A histogram: dense bucket counts in the fixed layout plus running totals.
 * `counts[i]` is the number of values in bucket i; `count` their total; `sumMs` the sum of recorded values in ms.
 */
export interface Histogram {
  counts: Float64Array
  count: number
  sumMs: number
}

/** Creates an empty histogram in the fixed layout. */
export function createHistogram(): Histogram {
  return { counts: new Float64Array(BUCKET_COUNT), count: 0, sumMs: 0 }
}

/**
 * Bucket index of a duration in ms, in `[0, MAX_BUCKET_INDEX]`. Non-finite or negative input maps to 0.
 */
export function bucketIndex(valueMs: number): number {
  if (!(valueMs > MIN_TRACKED_MS)) return 0
  if (valueMs >= MAX_TRACKED_MS) return MAX_BUCKET_INDEX
  const i = Math.ceil(Math.log(valueMs / MIN_TRACKED_MS) / LN_GAMMA)
  return i < 1 ? 1 : i > MAX_BUCKET_INDEX ? MAX_BUCKET_INDEX : i
}

/** Representative value of bucket `index`, in ms: `2·MIN·γ^i/(γ+1)` (0 for bucket 0). */
export function bucketValue(index: number): number {
  if (index <= 0) return 0
  return (2 * MIN_TRACKED_MS * Math.pow(GAMMA, index)) / (GAMMA + 1)
}

/**
 * Records one duration (ms) `times` times (default 1). Negative/NaN durations count as 0 ms.
 * @returns the bucket index it landed in (callers track touched ranges with it).
 */
export function recordValue(h: Histogram, valueMs: number, times = 1): number {
  const i = bucketIndex(valueMs)
  h.counts[i] = (h.counts[i] ?? 0) + times
  h.count += times
  if (valueMs > 0 && valueMs < Infinity) h.sumMs += valueMs * times
  return i
}

/**
 * The p-th percentile in ms, p in 0–100 (e.g. 99.9), or `null` for an empty histogram.
 * Definition: the value of rank `floor(p/100·(count-1))` in the sorted sample (0-based), to within α.
 * @throws RangeError when p is outside 0–100.
 */
export function percentile(h: Histogram, p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0–100, got ${p}`)
  if (h.count <= 0) return null
  const rank = Math.floor((p / 100) * (h.count - 1))
  let cumulative = 0
  const counts = h.counts
  for (let i = 0; i < BUCKET_COUNT; i++) {
    cumulative += counts[i] ?? 0
    if (cumulative > rank) return bucketValue(i)
  }
  return bucketValue(MAX_BUCKET_INDEX)
}
