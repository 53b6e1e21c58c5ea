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
  /**
   * Flushes not started because the connection had more than 1,000 commands sent and unanswered (a stalled link:
   * flushPipeline.ts MAX_OUTSTANDING_COMMANDS); what they would have sent stays pending (docs/decisions/015).
   */
  skippedFlushes: number
  /**
   * Commands of flush pipelines Redis answered with an error (WRONGTYPE, OOM …), and entries the flush-effects script
   * could not write; each failed only what it touched: series, marks and folds are retried, refused events and
   * request-log entries are dropped (and counted there too).
   */
  failedFlushCommands: number
  /**
   * Copies of flush-effect batches (events, request log, cache counters) that reached Redis after the batch had been
   * applied — a flush abandoned at its timeout and resent, or ioredis' own resend after a reconnect — and so had no
   * effect (docs/decisions/015).
   */
  duplicateFlushBatches: number
  /**
   * Redis Cluster only (docs/decisions/029): flushes accepted on the master's answer alone — no replica connected to
   * it, WAIT refused, or a replica lagging for more than 30 s — which a failover of that master could still lose.
   */
  unreplicatedFlushes: number
  /**
   * Redis Cluster only: flushes whose answers were set aside because a connected replica did not acknowledge them
   * within 100 ms (WAIT 1 100); their parts stayed pending and were resent, idempotently.
   */
  unacknowledgedFlushes: number
  /** Wall time of the last flush that reached Redis, from start to answer (or failure), in ms. */
  lastFlushDurationMs: number
  /** Time buckets dropped unwritten because Redis stayed away beyond `maxBufferedBuckets` (updated per flush). */
  droppedBuckets: number
  /** Requests recorded under route `(overflow)` because the `maxSeries` cap was reached (updated per flush). */
  overflowedRequests: number
  /**
   * Requests the 1 min tier holds under route `(overflow)`: a 1 min bucket already had `maxSeries` series when their
   * closed 10 s bucket rolled up into it (those already `(overflow)` in the 10 s tier included); updated per flush.
   */
  overflowedRequests1m: number
  /** The same for the 1 h tier (a 1 h bucket sees the distinct routes of a whole hour). */
  overflowedRequests1h: number
  /**
   * Requests whose route or `errorType` label had to be made safe: cut to 200 (route) or 128 (`errorType`)
   * characters, or control characters (tab, newline, DEL, C1) replaced by U+FFFD (requestMetrics.ts `safeLabel`).
   */
  sanitizedLabels: number
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
  /** BullMQ queue samples (`watchQueue`) that could not be read from the queue or written to Redis. */
  queueSampleErrors: number
  /**
   * Fleet counter field increments (shared/fleetCounters.ts; one per field and flush) dropped: breaker/cache fields beyond 1,000 per flush interval
   * (counterTotals.ts), or refused by Redis (the service's counters hash full for non-request fields, WRONGTYPE …).
   * Requests are never dropped there: beyond the caps they count under route `(overflow)`.
   */
  droppedCounterIncrements: number
  /** Request-log entries dropped: more than 1000 waiting while Redis was away. */
  droppedRequestLogEntries: number
  /** Slow or failed requests left out of the request log by sampling (beyond `requestLogPerFlush` per flush). */
  sampledOutRequestLogEntries: number
  /** Breaker commands (desired states) applied on this instance. */
  commandsApplied: number
  /**
   * Values read back from Redis that the collector could not use, skipped, counted per read (docs/decisions/014):
   * a desired breaker state its schema refuses or whose key holds another type (not applied; reported to `onError`
   * once per key and problem), a cached value that is not JSON or whose key holds another type (a miss: `load()`
   * runs and its result overwrites it).
   */
  invalidRedisValues: number
}

/** A `CollectorStats` with every counter at 0. */
export function createCollectorStats(): CollectorStats {
  return {
    flushes: 0,
    flushErrors: 0,
    skippedFlushes: 0,
    failedFlushCommands: 0,
    duplicateFlushBatches: 0,
    unreplicatedFlushes: 0,
    unacknowledgedFlushes: 0,
    lastFlushDurationMs: 0,
    droppedBuckets: 0,
    overflowedRequests: 0,
    overflowedRequests1m: 0,
    overflowedRequests1h: 0,
    sanitizedLabels: 0,
    droppedLateRequests: 0,
    droppedCoverageMarks: 0,
    droppedEvents: 0,
    droppedInvalidRequests: 0,
    uncacheableCacheKeys: 0,
    droppedCacheEvents: 0,
    queueSampleErrors: 0,
    droppedCounterIncrements: 0,
    droppedRequestLogEntries: 0,
    sampledOutRequestLogEntries: 0,
    commandsApplied: 0,
    invalidRedisValues: 0,
  }
}
