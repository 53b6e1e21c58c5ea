/**
 * In-process aggregation of request metrics — the collector hot path.
 *
 * Requests are grouped by time bucket (TIER_10S) and by series (method, route template). Each series keeps, for the
 * whole bucket, a count, an error count, counts per status class, a duration sum (µs) and a dense histogram in the
 * fixed layout of shared/histogram.ts, plus the range `[lo, hi]` of buckets it touched so later steps never scan all
 * 1,102 buckets. Each bucket also keeps the service total (every series merged).
 *
 * The aggregates are cumulative for their bucket: the flusher encodes them as they are (they are the value it
 * writes, docs/decisions/009) instead of draining a delta each flush and adding it into a copy, which halves the
 * memory the flush reads. When a bucket has closed, the flusher takes its values and calls `release()`, which
 * zeroes the aggregates for reuse, so steady traffic allocates nothing.
 */
import { BUCKET_COUNT, createHistogram, recordValue } from '../../shared/histogram'
import { SERIES_FORMAT, type PackedSeries } from '../../shared/seriesCodec'
import { bucketStart, TIER_10S } from '../../shared/timeBuckets'
import { OTHER_HTTP_METHOD, isKnownHttpMethod, normalizeHttpMethod, type HttpMethod } from '../../shared/vocabulary'
import type { CollectorStats } from './collectorStats'
import type { RouteCounters } from './counterTotals'
import type { SeriesDelta } from './seriesAccumulator'
import { encodeDenseInto, maxDenseEncodedLength, type EncodableSeries } from './seriesEncoder'

/**
 * Aggregate of one series (method, route template) — or of the service total — in one 10 s bucket, cumulative since
 * the bucket opened in this process. `writtenCount` belongs to the flusher: the `count` its last confirmed write had.
 */
export class SeriesAggregate implements SeriesDelta, EncodableSeries {
  count = 0
  errors = 0
  sumUs = 0
  statusCounts: [number, number, number, number, number] = [0, 0, 0, 0, 0]
  readonly histogram = createHistogram()
  lo = BUCKET_COUNT
  hi = -1
  writtenCount = 0
  /** The collector's fleet counters of this method and route (counterTotals.ts), kept here to skip two lookups. */
  counterSlot: RouteCounters | null = null

  constructor(
    public method: string,
    public route: string,
  ) {}

  /** Upper bound of `encodeInto`'s output, in bytes. */
  maxEncodedLength(): number {
    return maxDenseEncodedLength(this.lo, this.hi)
  }

  /** Encodes the value into `out` at `offset`; returns the end offset, or -1 when a number is out of range (then use `toPacked`). */
  encodeInto(out: Uint8Array, offset: number): number {
    return encodeDenseInto(out, offset, this, this.histogram.counts, 0, this.lo, this.hi)
  }

  /** The value as a packed array (shared/seriesCodec.ts), for the fallback encoder. */
  toPacked(): PackedSeries {
    const p: PackedSeries = [SERIES_FORMAT, this.count, this.errors, this.sumUs, ...this.statusCounts, this.lo <= this.hi ? this.lo : 0]
    for (let i = this.lo; i <= this.hi; i++) p.push(this.histogram.counts[i] ?? 0)
    return p
  }

  /** Zeroes everything (touching only `[lo, hi]` of the histogram). */
  reset(): void {
    const counts = this.histogram.counts
    for (let i = this.lo; i <= this.hi; i++) counts[i] = 0
    this.histogram.count = 0
    this.histogram.sumMs = 0
    this.count = this.errors = this.sumUs = this.writtenCount = 0
    this.statusCounts.fill(0)
    this.lo = BUCKET_COUNT
    this.hi = -1
    this.counterSlot = null
  }
}

/** One 10 s bucket: its series by field (`<METHOD> <route>`) and the service total. */
export interface RecordedBucket {
  /** Bucket start, epoch ms. */
  start: number
  series: Map<string, SeriesAggregate>
  total: SeriesAggregate
}

/** Label used when a route template is unknown, so raw URLs never become series. */
export const UNMATCHED_ROUTE = '(unmatched)'
/** Label used once the per-instance series cap is reached. */
export const OVERFLOW_ROUTE = '(overflow)'

/**
 * Normalizes an HTTP method the OpenTelemetry way (shared/vocabulary.ts `normalizeHttpMethod`): known methods
 * upper-cased, anything else (or none) `_OTHER`. Checks the usual case first — already a known upper-case method —
 * so the hot path builds no new string.
 */
export function normalizeMethod(method: string | undefined): HttpMethod {
  if (method === undefined) return OTHER_HTTP_METHOD
  return isKnownHttpMethod(method) ? method : normalizeHttpMethod(method)
}

/** One finished HTTP request as the host (or an HTTP adapter) reports it to `collector.recordRequest`. */
export interface FinishedRequest {
  /** HTTP method as received; normalized with `normalizeMethod`. */
  method: string
  /** Route template (`/users/:id`), never a raw URL. */
  route: string
  /** HTTP status code of the response. */
  status: number
  /** Time from request to response end, in ms. */
  durationMs: number
  /** True when the request failed without a 5xx status (e.g. the handler threw); 5xx always counts as an error. */
  error?: boolean
  /** OpenTelemetry `error.type` of a failure (exception class or code); default: the status code. */
  errorType?: string
  /** OpenTelemetry `url.scheme`: `https` or `http` (default `http`; anything else reads as absent). */
  urlScheme?: 'http' | 'https'
}

/** Longest `errorType` kept; a longer one is cut (it only labels a request-log entry). */
const MAX_ERROR_TYPE_CHARS = 128

/**
 * Longest route label kept, in UTF-16 code units; a longer route is cut to `MAX_LABEL_CHARS - 1` and ends in `…`.
 * 200 is what the HTTP middleware already allowed a `routeTemplate` (every real template fits: the longest route of
 * the OpenAPI specs we know is far shorter), and it keeps a field `<METHOD> <route>\t<instance tag>` well under
 * 300 bytes (ASCII) so a bucket of 1,000 series stays small in Redis and in the request log (docs/decisions/013).
 */
export const MAX_LABEL_CHARS = 200

/** Longest method string looked at: longer than any HTTP method, so it reads as `_OTHER` without upper-casing it. */
const MAX_METHOD_CHARS = 32

/**
 * Control characters a label may not hold: C0 (tab — the own-field separator in shared/keys.ts —, newline, …), DEL
 * and C1. Each is replaced by U+FFFD REPLACEMENT CHARACTER, the Unicode sign for "a character that could not be kept".
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g
// eslint-disable-next-line no-control-regex -- as above
const HAS_CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A label safe to store: control characters replaced by U+FFFD, cut to `max` code units (the last one `…`, never
 * half a surrogate pair). Returns the same string when nothing had to change (the usual case builds nothing).
 */
export function safeLabel(label: string, max: number = MAX_LABEL_CHARS): string {
  let s = label.length > max ? label.slice(0, max - 1) : label
  if (s !== label) {
    const last = s.charCodeAt(s.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1)
    s += '…'
  }
  return HAS_CONTROL_CHAR.test(s) ? s.replace(CONTROL_CHARS, '\uFFFD') : s
}

/** A number, or a decimal string of one (plain-JS hosts pass `'12'`); anything else is NaN. */
function numeric(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
}

/**
 * What `recordRequest` records: the host's `FinishedRequest` checked and coerced, or null when it cannot be
 * recorded truthfully — no finite duration ≥ 0 ms, or no whole status 0–999 — so the caller drops and counts it.
 * Numeric strings are accepted as numbers; a non-string method (or one longer than any method) reads as `_OTHER`,
 * a non-string or empty route as `(unmatched)`, a non-boolean `error` as absent, a non-string `errorType` as absent.
 * Labels are made safe (`safeLabel`): the route cut to `MAX_LABEL_CHARS` (200), `errorType` to 128, control
 * characters replaced; each request with a label changed so counts once in `counts.sanitizedLabels` when given.
 * Never throws, whatever it is handed.
 */
export function checkedRequest(r: unknown, counts?: Pick<CollectorStats, 'sanitizedLabels'>): FinishedRequest | null {
  if (typeof r !== 'object' || r === null) return null
  const x = r as Record<string, unknown>
  const durationMs = typeof x.durationMs === 'number' ? x.durationMs : numeric(x.durationMs)
  const status = typeof x.status === 'number' ? x.status : numeric(x.status)
  if (!(durationMs >= 0 && durationMs < Number.POSITIVE_INFINITY) || !(Number.isInteger(status) && status >= 0 && status <= 999)) return null
  const rawRoute = typeof x.route === 'string' && x.route !== '' ? x.route : UNMATCHED_ROUTE
  const route = safeLabel(rawRoute)
  const rawErrorType = typeof x.errorType === 'string' ? x.errorType : undefined
  const errorType = rawErrorType === undefined ? undefined : safeLabel(rawErrorType, MAX_ERROR_TYPE_CHARS)
  if (counts !== undefined && (route !== rawRoute || errorType !== rawErrorType)) counts.sanitizedLabels++
  // Built by assignment, not by conditional spreads: this runs once per request (the collector hot path).
  const out: FinishedRequest = {
    method: typeof x.method === 'string' && x.method.length <= MAX_METHOD_CHARS ? x.method : OTHER_HTTP_METHOD,
    route,
    status,
    durationMs,
  }
  if (x.error === true) out.error = true
  if (errorType !== undefined) out.errorType = errorType
  if (x.urlScheme === 'https' || x.urlScheme === 'http') out.urlScheme = x.urlScheme
  return out
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

interface OpenBucket extends RecordedBucket {
  /** Lookup index: method → route → aggregate (two levels, so no string is built per request). */
  index: Map<string, Map<string, SeriesAggregate>>
}

/** Aggregates requests in memory; no I/O. */
export class RequestMetrics {
  private readonly open = new Map<number, OpenBucket>()
  /** The bucket written last (the usual target of the next request). */
  private current: OpenBucket | null = null
  /** Zeroed aggregates ready for reuse (bounded by 2 × maxSeries: a closing bucket's and the open one's). */
  private readonly pool: SeriesAggregate[] = []
  /** Max distinct series per bucket (`RequestMetricsOptions.maxSeries`); the writer caps the coarse tiers with it too. */
  readonly maxSeries: number
  /** Requests recorded under the overflow label because the series cap was hit. */
  overflowedRequests = 0

  constructor(options: RequestMetricsOptions = {}) {
    this.maxSeries = options.maxSeries ?? 1000
  }

  /**
   * Records one finished request. `durationMs` in ms, `nowMs` epoch ms of its end.
   * `isError` marks 5xx and thrown requests.
   * @returns the series aggregate it was counted in (`(overflow)` beyond the series cap)
   */
  record(method: string, route: string, status: number, durationMs: number, isError: boolean, nowMs: number): SeriesAggregate {
    const start = bucketStart(nowMs, TIER_10S.bucketMs)
    let bucket = this.current
    if (bucket === null || bucket.start !== start) bucket = this.bucketAt(start)
    let byRoute = bucket.index.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      bucket.index.set(method, byRoute)
    }
    let agg = byRoute.get(route)
    if (agg === undefined) agg = this.addSeries(bucket, byRoute, method, route)
    const cls = statusClassIndex(status)
    const us = durationMs > 0 ? Math.round(durationMs * 1000) : 0
    agg.count++
    if (isError) agg.errors++
    agg.statusCounts[cls]++
    agg.sumUs += us
    const i = recordValue(agg.histogram, durationMs)
    if (i < agg.lo) agg.lo = i
    if (i > agg.hi) agg.hi = i
    const total = bucket.total
    total.count++
    if (isError) total.errors++
    total.statusCounts[cls]++
    total.sumUs += us
    total.histogram.counts[i] = (total.histogram.counts[i] as number) + 1
    total.histogram.count++
    if (i < total.lo) total.lo = i
    if (i > total.hi) total.hi = i
    return agg
  }

  /** The buckets holding recorded requests (live objects: they keep changing as requests are recorded). */
  buckets(): IterableIterator<RecordedBucket> {
    return this.open.values()
  }

  /** True when no bucket holds requests. */
  get isEmpty(): boolean {
    return this.open.size === 0
  }

  /**
   * Forgets the bucket of `start` (the flusher has taken its values) and zeroes its aggregates for reuse. A request
   * recorded for that start later opens the bucket again (the flusher decides what to do with it).
   */
  release(start: number): void {
    const bucket = this.open.get(start)
    if (bucket === undefined) return
    this.open.delete(start)
    if (this.current === bucket) this.current = null
    this.recycle(bucket.total)
    for (const agg of bucket.series.values()) this.recycle(agg)
  }

  private recycle(agg: SeriesAggregate): void {
    if (this.pool.length >= 2 * this.maxSeries) return
    agg.reset()
    this.pool.push(agg)
  }

  private bucketAt(start: number): OpenBucket {
    let bucket = this.open.get(start)
    if (bucket === undefined) {
      bucket = { start, series: new Map(), total: this.take('', ''), index: new Map() }
      this.open.set(start, bucket)
    }
    this.current = bucket
    return bucket
  }

  /** Creates a series in the bucket, or returns the overflow series once `maxSeries` is reached. */
  private addSeries(bucket: OpenBucket, byRoute: Map<string, SeriesAggregate>, method: string, route: string): SeriesAggregate {
    if (bucket.series.size >= this.maxSeries) {
      this.overflowedRequests++
      const key = method + ' ' + OVERFLOW_ROUTE
      let overflow = bucket.series.get(key)
      if (overflow === undefined) {
        overflow = this.take(method, OVERFLOW_ROUTE)
        bucket.series.set(key, overflow)
      }
      return overflow // not indexed under `route`: each new route keeps counting as overflow
    }
    const agg = this.take(method, route)
    bucket.series.set(method + ' ' + route, agg)
    byRoute.set(route, agg)
    return agg
  }

  private take(method: string, route: string): SeriesAggregate {
    const agg = this.pool.pop()
    if (agg === undefined) return new SeriesAggregate(method, route)
    agg.method = method
    agg.route = route
    return agg
  }
}
