/**
 * One definition of every figure Fusebox shows — throughput, error rate, percentiles, the covered span of a window —
 * written once and used by every read and every screen (docs/METRICS.md states each formula and its error bound).
 * Pure: no imports, no I/O, no clock (callers pass `nowMs`).
 */

/** Percentiles every request figure carries, as 0–100 (p50, p95, p99, p99.9). */
export const PERCENTILES = [50, 95, 99, 99.9] as const

/**
 * Seconds of a bucket `[startMs, startMs + bucketMs)` that have passed at `nowMs`: the whole bucket once it ended,
 * the elapsed part of the open one (at least 1 ms, so a rate over it stays finite), 0 for a bucket in the future.
 */
export function bucketCoveredMs(startMs: number, bucketMs: number, nowMs: number): number {
  if (nowMs <= startMs) return 0
  return Math.max(1, Math.min(bucketMs, nowMs - startMs))
}

/**
 * The covered span of a window, ms: the sum of `bucketCoveredMs` over the buckets of the window that have data —
 * a bucket some instance flushed (a real zero counts; a bucket no instance flushed is a gap and does not).
 * `present[i]` says whether bucket `starts[i]` has data.
 */
export function coveredMs(starts: readonly number[], present: readonly boolean[], bucketMs: number, nowMs: number): number {
  let ms = 0
  for (let i = 0; i < starts.length; i++) if (present[i]) ms += bucketCoveredMs(starts[i] as number, bucketMs, nowMs)
  return ms
}

/** Throughput in requests per second: `requests ÷ covered seconds`; null when nothing is covered (no data). */
export function throughputRps(requests: number, coveredSpanMs: number): number | null {
  return coveredSpanMs > 0 ? requests / (coveredSpanMs / 1000) : null
}

/** Error rate as a fraction 0–1: `errors ÷ requests`; null when there were no requests (nothing to divide). */
export function errorRate(errors: number, requests: number): number | null {
  return requests > 0 ? errors / requests : null
}

/**
 * The time ranges the dashboard offers, window length in ms by key: 15 min … 30 days (the oracle test checks
 * every figure at each of them).
 */
export const RANGE_PRESETS_MS = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 24 * 3_600_000,
  '30d': 30 * 24 * 3_600_000,
} as const
