/**
 * In-process aggregation of request metrics between flushes — the collector hot path.
 *
 * Requests are grouped by time bucket (TIER_10S) and by series (method, route template). Each series keeps a count,
 * an error count, counts per status class, a duration sum (µs) and a histogram in the fixed layout of
 * shared/histogram.ts (a `SeriesValue`, shared/seriesCodec.ts).
 * `drain()` hands the whole aggregate to the flusher and starts a new one; `restore()` merges a batch that failed to
 * flush back in, bounded by `maxBufferedBuckets` (oldest dropped, counted).
 */
import { recordValue } from '../../shared/histogram'
import { emptySeries, mergeSeriesInto, type SeriesValue } from '../../shared/seriesCodec'
import { bucketStart, TIER_10S } from '../../shared/timeBuckets'

/** Aggregate of one series (method, route template) in one time bucket. */
export interface SeriesAggregate extends SeriesValue {
  method: string
  route: string
}

/** bucket start (epoch ms) → series field (`<METHOD> <route>`) → aggregate. */
export type RequestBatch = Map<number, Map<string, SeriesAggregate>>

/** Label used when a route template is unknown, so raw URLs never become series. */
export const UNMATCHED_ROUTE = '(unmatched)'
/** Label used once the per-instance series cap is reached. */
export const OVERFLOW_ROUTE = '(overflow)'

/** HTTP methods kept as-is (RFC 9110 + PATCH); anything else becomes `_OTHER` (OpenTelemetry HTTP semconv). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])

/** Normalizes an HTTP method the OpenTelemetry way: known methods upper-cased, others `_OTHER`. */
export function normalizeMethod(method: string | undefined): string {
  const m = (method ?? '').toUpperCase()
  return KNOWN_METHODS.has(m) ? m : '_OTHER'
}

/** Index of an HTTP status code's class: 0 for 1xx … 4 for 5xx; anything outside 100–599 counts as 5xx. */
export function statusClassIndex(status: number): 0 | 1 | 2 | 3 | 4 {
  return (status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 4) as 0 | 1 | 2 | 3 | 4
}

/** Options of the aggregator. */
export interface RequestMetricsOptions {
  /** Max distinct series per time bucket; beyond it requests count under route `(overflow)`. Default 1000. */
  maxSeries?: number
  /** Max time buckets held while Redis is unreachable; older ones are dropped (and counted). Default 60 (10 min). */
  maxBufferedBuckets?: number
}

/** Aggregates requests in memory; not thread-shared, no I/O. */
export class RequestMetrics {
  private current: RequestBatch = new Map()
  /** Lookup index (method → route → aggregate) of the bucket being written, and which bucket/batch it is for. */
  private index = new Map<string, Map<string, SeriesAggregate>>()
  private bucket: Map<string, SeriesAggregate> = new Map()
  private indexStart = -1
  private indexBatch: RequestBatch | null = null
  private readonly maxSeries: number
  private readonly maxBufferedBuckets: number
  /** Requests recorded under the overflow label because the series cap was hit. */
  overflowedRequests = 0
  /** Buckets dropped because the buffer was full while Redis was unreachable. */
  droppedBuckets = 0

  constructor(options: RequestMetricsOptions = {}) {
    this.maxSeries = options.maxSeries ?? 1000
    this.maxBufferedBuckets = options.maxBufferedBuckets ?? 60
  }

  /**
   * Records one finished request. `durationMs` in ms, `nowMs` epoch ms of its end.
   * `isError` marks 5xx and thrown requests.
   */
  record(method: string, route: string, status: number, durationMs: number, isError: boolean, nowMs: number): void {
    const start = bucketStart(nowMs, TIER_10S.bucketMs)
    if (start !== this.indexStart || this.indexBatch !== this.current) this.openBucket(start)
    // Two-level lookup on the caller's (usually interned) strings: no string is built per request.
    let byRoute = this.index.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      this.index.set(method, byRoute)
    }
    let agg = byRoute.get(route)
    if (agg === undefined) agg = this.addSeries(byRoute, method, route)
    agg.count++
    if (isError) agg.errors++
    agg.statusCounts[statusClassIndex(status)]++
    if (durationMs > 0) agg.sumUs += Math.round(durationMs * 1000)
    recordValue(agg.histogram, durationMs)
  }

  /** Points the lookup index at the bucket of `start`, creating the bucket (and re-indexing a restored one). */
  private openBucket(start: number): void {
    let bucket = this.current.get(start)
    if (bucket === undefined) {
      bucket = new Map()
      this.current.set(start, bucket)
    }
    this.index = new Map()
    for (const agg of bucket.values()) {
      let byRoute = this.index.get(agg.method)
      if (byRoute === undefined) {
        byRoute = new Map()
        this.index.set(agg.method, byRoute)
      }
      byRoute.set(agg.route, agg)
    }
    this.bucket = bucket
    this.indexStart = start
    this.indexBatch = this.current
  }

  /** Creates a series in the open bucket, or returns the overflow series once `maxSeries` is reached. */
  private addSeries(byRoute: Map<string, SeriesAggregate>, method: string, route: string): SeriesAggregate {
    const bucket = this.bucket
    if (bucket.size >= this.maxSeries) {
      this.overflowedRequests++
      const key = method + ' ' + OVERFLOW_ROUTE
      let overflow = bucket.get(key)
      if (overflow === undefined) {
        overflow = { method, route: OVERFLOW_ROUTE, ...emptySeries() }
        bucket.set(key, overflow)
      }
      return overflow // not indexed under `route`: each new route keeps counting as overflow
    }
    const agg: SeriesAggregate = { method, route, ...emptySeries() }
    bucket.set(method + ' ' + route, agg)
    byRoute.set(route, agg)
    return agg
  }

  /** True when nothing is waiting to be flushed. */
  get isEmpty(): boolean {
    return this.current.size === 0
  }

  /** Takes everything recorded so far (to flush) and starts a fresh aggregate. */
  drain(): RequestBatch {
    const batch = this.current
    this.current = new Map()
    return batch
  }

  /** Merges a batch that could not be flushed back in, keeping at most `maxBufferedBuckets` (newest win). */
  restore(batch: RequestBatch): void {
    this.indexBatch = null // aggregates may be added or replaced below: re-index on the next record
    for (const [start, series] of batch) {
      const bucket = this.current.get(start)
      if (bucket === undefined) {
        this.current.set(start, series)
        continue
      }
      for (const [key, agg] of series) {
        const into = bucket.get(key)
        if (into === undefined) bucket.set(key, agg)
        else mergeSeriesInto(into, agg)
      }
    }
    if (this.current.size > this.maxBufferedBuckets) {
      const starts = [...this.current.keys()].sort((a, b) => a - b)
      for (const start of starts.slice(0, starts.length - this.maxBufferedBuckets)) {
        this.current.delete(start)
        this.droppedBuckets++
      }
    }
  }
}
