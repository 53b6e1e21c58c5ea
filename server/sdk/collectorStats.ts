/**
 * The collector's own health counters (`collector.stats`), in one place: each part of the collector is handed the
 * fields it counts (a `Pick` of `CollectorStats`), so no counter lives where `stats` cannot show it.
 * A plain object of own data properties, so `JSON.stringify(collector.stats)` shows every counter.
 */

/** Counters describing the collector's own health. Counts since the collector started; durations in ms. */
export interface CollectorStats {
  /** Flushes whose pipeline Redis answered (some commands in it may still have failed: see `flushErrors`). */
  flushes: number
  /** Flushes that failed, timed out or had a failing command (each also went to `onError` with `flush`). */
  flushErrors: number
  /** Wall time of the last flush that reached Redis, from start to answer (or failure), in ms. */
  lastFlushDurationMs: number
  /** Time buckets dropped unwritten because Redis stayed away beyond `maxBufferedBuckets` (updated per flush). */
  droppedBuckets: number
  /** Requests recorded under route `(overflow)` because the `maxSeries` cap was reached (updated per flush). */
  overflowedRequests: number
  /**
   * Requests dropped because their time bucket had already been written and folded, or was older than every
   * bucket `maxBufferedBuckets` keeps (the clock went back, or Redis was away too long); updated per flush.
   */
  droppedLateRequests: number
  /**
   * Coverage marks (one 10 s bucket's bit in a 1 min or 1 h coverage bitmap) dropped unwritten: more than 10,000
   * waiting while Redis was away (updated per flush).
   */
  droppedCoverageMarks: number
  /** Breaker events (transitions, applied commands) dropped: more than 1000 waiting to be flushed. */
  droppedEvents: number
  /** Requests `recordRequest` could not record truthfully (no finite duration ≥ 0 ms or no whole status 0–999). */
  droppedInvalidRequests: number
  /** `cache.getOrSet` calls whose key or tags the cache cannot store (too long, control characters): served uncached. */
  uncacheableCacheKeys: number
  /** Cache events ignored because more than 100 distinct caches were counted in one flush interval. */
  droppedCacheEvents: number
  /** Request-log entries dropped: more than 1000 waiting while Redis was away. */
  droppedRequestLogEntries: number
  /** Slow or failed requests left out of the request log by sampling (beyond `requestLogPerFlush` per flush). */
  sampledOutRequestLogEntries: number
  /** Breaker commands (desired states) applied on this instance. */
  commandsApplied: number
}

/** A `CollectorStats` with every counter at 0. */
export function createCollectorStats(): CollectorStats {
  return {
    flushes: 0,
    flushErrors: 0,
    lastFlushDurationMs: 0,
    droppedBuckets: 0,
    overflowedRequests: 0,
    droppedLateRequests: 0,
    droppedCoverageMarks: 0,
    droppedEvents: 0,
    droppedInvalidRequests: 0,
    uncacheableCacheKeys: 0,
    droppedCacheEvents: 0,
    droppedRequestLogEntries: 0,
    sampledOutRequestLogEntries: 0,
    commandsApplied: 0,
  }
}
