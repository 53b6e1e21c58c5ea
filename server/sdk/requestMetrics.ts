/**
 * In-process aggregation of request metrics between flushes — the collector hot path.
 *
 * Requests are grouped by time bucket (TIER_10S) and by series (method, route template). Each series keeps a count,
 * an error count, counts per status class, a duration sum (µs) and a dense histogram in the fixed layout of
 * shared/histogram.ts, plus the range `[lo, hi]` of buckets it touched so later steps never scan all 1,102 buckets.
 * `drain()` hands everything to the flusher; `recycle()` takes the drained aggregates back for reuse, so steady
 * traffic allocates nothing per flush.
 */
import { BUCKET_COUNT, createHistogram, recordValue } from '../../shared/histogram'
import type { SeriesDelta } from '../../shared/seriesCodec'
import { bucketStart, TIER_10S } from '../../shared/timeBuckets'

/** Aggregate of one series (method, route template) in one 10 s bucket since the last flush. */
export interface SeriesAggregate extends SeriesDelta {
  method: string
  route: string
  statusCounts: [number, number, number, number, number]
  histogram: ReturnType<typeof createHistogram>
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
  if (method === undefined) return '_OTHER'
  if (KNOWN_METHODS.has(method)) return method // the usual case: already upper-case, no new string
  const m = method.toUpperCase()
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
}

function newAggregate(method: string, route: string): SeriesAggregate {
  return {
    method,
    route,
    count: 0,
    errors: 0,
    sumUs: 0,
    statusCounts: [0, 0, 0, 0, 0],
    histogram: createHistogram(),
    lo: BUCKET_COUNT,
    hi: -1,
  }
}

/** Aggregates requests in memory; no I/O. */
export class RequestMetrics {
  private current: RequestBatch = new Map()
  /** Lookup index (method → route → aggregate) of the bucket being written, and which bucket/batch it is for. */
  private index = new Map<string, Map<string, SeriesAggregate>>()
  private bucket: Map<string, SeriesAggregate> = new Map()
  private indexStart = -1
  private indexBatch: RequestBatch | null = null
  /** Zeroed aggregates ready for reuse (bounded by maxSeries). */
  private readonly pool: SeriesAggregate[] = []
  private readonly maxSeries: number
  /** Requests recorded under the overflow label because the series cap was hit. */
  overflowedRequests = 0

  constructor(options: RequestMetricsOptions = {}) {
    this.maxSeries = options.maxSeries ?? 1000
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
    const i = recordValue(agg.histogram, durationMs)
    if (i < agg.lo) agg.lo = i
    if (i > agg.hi) agg.hi = i
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

  /** Gives drained aggregates back for reuse once their data has been taken. */
  recycle(batch: RequestBatch): void {
    for (const series of batch.values()) {
      for (const agg of series.values()) {
        if (this.pool.length >= this.maxSeries) return
        const counts = agg.histogram.counts
        for (let i = agg.lo; i <= agg.hi; i++) counts[i] = 0
        agg.histogram.count = 0
        agg.histogram.sumMs = 0
        agg.count = agg.errors = agg.sumUs = 0
        agg.statusCounts.fill(0)
        agg.lo = BUCKET_COUNT
        agg.hi = -1
        this.pool.push(agg)
      }
    }
  }

  /** Points the lookup index at the bucket of `start`, creating the bucket. */
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
        overflow = this.take(method, OVERFLOW_ROUTE)
        bucket.set(key, overflow)
      }
      return overflow // not indexed under `route`: each new route keeps counting as overflow
    }
    const agg = this.take(method, route)
    bucket.set(method + ' ' + route, agg)
    byRoute.set(route, agg)
    return agg
  }

  private take(method: string, route: string): SeriesAggregate {
    const agg = this.pool.pop()
    if (agg === undefined) return newAggregate(method, route)
    agg.method = method
    agg.route = route
    return agg
  }
}
