/**
 * The window a page shows, client side: where a paused view's window ends, where a window starts, and when to say
 * "data since". Pure (times are passed in, epoch ms); the figures themselves are the server's (shared/figures.ts).
 */
import type { SeriesPoint } from '../../shared/schemas'
import { bucketStart, TIER_10S, TIERS } from '../../shared/timeBuckets'

/**
 * How long after a 10 s bucket ends its data is final: the SDK flushes every second and closes a bucket 2.5 s after
 * its end (server/sdk/seriesWriter.ts), so 5 s leaves a margin for a late flush.
 */
export const PAUSE_SETTLE_MS = 5_000

/**
 * The end of a paused view's window, for a pause at `nowMs`: the start of the 10 s bucket that holds
 * `nowMs − PAUSE_SETTLE_MS`, i.e. 5–15 s back. Every bucket before it is closed and final, so every panel that
 * reads the window later — the table now, a drill-down opened a minute later — counts exactly the same requests.
 * (A window read from a coarser tier still ends inside its last bucket; see docs/METRICS.md "Windows and tiers".)
 */
export function pauseMoment(nowMs: number): number {
  return bucketStart(nowMs - PAUSE_SETTLE_MS, TIER_10S.bucketMs)
}

/** Start of the window (epoch ms) of `windowMs` ending at `untilMs`, or at `asOfMs` (when the data was read) when live. */
export function windowStartMs(untilMs: number | undefined, asOfMs: number, windowMs: number): number {
  return (untilMs ?? asOfMs) - windowMs
}

/**
 * The "data since" time to show for a window starting at `windowStartMs`: `dataSinceMs` (start of its first bucket with
 * data) when that is more than one bucket (`bucketMs`) after the window's start, else null (the window is covered from
 * its start, or has no data at all — which the figures say themselves).
 */
export function dataSinceToShow(dataSinceMs: number | null, windowStartMs: number, bucketMs: number): number | null {
  return dataSinceMs !== null && dataSinceMs - windowStartMs > bucketMs ? dataSinceMs : null
}

/** Bucket width (ms) of the tier named `name` (`10s`, `1m`, `1h`); the finest tier's for an unknown name. */
export function tierBucketMs(name: string): number {
  return (TIERS.find((t) => t.name === name) ?? TIER_10S).bucketMs
}

/**
 * Bucket width (ms) of a series: the step between its points (one per bucket, gaps included, so consecutive), or
 * `fallbackMs` with fewer than two points.
 */
export function seriesBucketMs(points: readonly Pick<SeriesPoint, 't'>[], fallbackMs = TIER_10S.bucketMs): number {
  const [a, b] = points
  return a !== undefined && b !== undefined && b.t > a.t ? b.t - a.t : fallbackMs
}
