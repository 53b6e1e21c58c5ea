/**
 * Fleet counters: per-service counters that only ever go up, for Prometheus (`GET /metrics`, issue #12 "Metrics
 * Grafana can use"; docs/decisions/026). One Redis hash per service, `P:{svc}:counters` (`KeySpace.counters`): the
 * collectors add what they recorded since their last flush (HINCRBY, exactly once with the flush effects,
 * docs/decisions/015), the servers read it at scrape time. Because the sum lives in Redis and not in a process, it
 * survives an instance restart (no counter reset, no new series per `hostname-pid`) and every dashboard replica reads
 * the same value.
 *
 * Fields (tab-separated, the way shared/keys.ts separates own fields; labels never hold a tab or another control
 * character — `safeLabel` in server/sdk/requestMetrics.ts replaces them):
 * - `r\t<method>\t<route>\t<status>\t<scheme>\t<errorType>\t<part>` — one HTTP request series (OpenTelemetry
 *   `http.server.request.duration` attributes: `http.request.method`, `http.route`, `http.response.status_code` ('' when
 *   the request ended without one), `url.scheme`, `error.type` ('' unless it failed)); `<part>` is `n` (requests),
 *   `s` (sum of durations, whole µs) or the index `0` … `14` of its `DURATION_BOUNDS_S` bucket (a request counts in
 *   the first bucket whose bound is ≥ its duration; 14 is `+Inf`). Per-bucket counts are stored as they are, not
 *   cumulated: the exporter sums them into Prometheus's cumulative `le` buckets.
 * - `b\t<breaker>\t<outcome>` — calls of one breaker that ended in `outcome` (`BREAKER_OUTCOMES`).
 * - `c\t<cache>\t<kind>` — cache events of one cache (`CACHE_EVENT_KINDS`).
 *
 * Bounds: at most `MAX_COUNTER_FIELDS` fields per service. A request series that would add fields beyond it counts
 * under route `OVERFLOW_ROUTE` instead (its status, scheme and error type dropped), so no request goes uncounted;
 * a breaker or cache field beyond it is refused and counted by the collector. The hash expires
 * `COUNTERS_TTL_MS` after the last flush that wrote to it.
 */
import { CACHE_EVENT_KINDS } from './vocabulary'

/**
 * Bucket bounds of the exported request-duration histogram, seconds: the OpenTelemetry advisory boundaries of
 * `http.server.request.duration` (https://opentelemetry.io/docs/specs/semconv/http/http-metrics/#metric-httpserverrequestduration).
 */
export const DURATION_BOUNDS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const
/** Buckets per request series: one per bound plus `+Inf`. */
export const DURATION_BUCKETS = DURATION_BOUNDS_S.length + 1
/** The bounds in whole µs, as the collector compares them (`durationBucket`). */
const DURATION_BOUNDS_US = DURATION_BOUNDS_S.map((s) => Math.round(s * 1e6))

/** Outcomes of a breaker call, as opossum names the events (`success`, `failure`, `timeout`, `reject` when open). */
export const BREAKER_OUTCOMES = ['success', 'failure', 'timeout', 'reject'] as const
/** One of `BREAKER_OUTCOMES`. */
export type BreakerOutcome = (typeof BREAKER_OUTCOMES)[number]

/**
 * Fields beyond which the collectors add no new series to a service's counters hash (≈ 3,000 request series of ~15
 * fields, a few MB). The `(overflow)` series of each method may still be created past it: see `MAX_COUNTER_FIELDS_HELD`.
 */
export const MAX_COUNTER_FIELDS = 50_000
/**
 * Most fields a counters hash the collectors wrote can hold: the cap plus the `(overflow)` series of every method
 * (`_OTHER` and the nine methods of shared/vocabulary.ts, each a count, a sum and 15 buckets) — with room to spare.
 * A hash beyond it was not written by Fusebox's collectors; the exporter skips it.
 */
export const MAX_COUNTER_FIELDS_HELD = MAX_COUNTER_FIELDS + 1000
/** The counters hash expires this long after its last write (ms): a service silent for 35 days is forgotten. */
export const COUNTERS_TTL_MS = 35 * 86_400_000
/** Route of the series requests are counted under once a service's counters are full. */
export const COUNTERS_OVERFLOW_ROUTE = '(overflow)'

/** Index of the duration bucket of `us` microseconds: the first bound ≥ it, else `DURATION_BUCKETS - 1` (+Inf). */
export function durationBucket(us: number): number {
  const b = DURATION_BOUNDS_US
  let i = 0
  while (i < b.length && us > (b[i] as number)) i++
  return i
}

/** The labels of one request series, as stored (all strings; '' for an absent status or error type). */
export interface RequestSeriesLabels {
  method: string
  route: string
  status: string
  scheme: string
  errorType: string
}

/** Field prefix of a request series (everything but the part), ending in a tab. */
export function requestSeriesPrefix(l: RequestSeriesLabels): string {
  return `r\t${l.method}\t${l.route}\t${l.status}\t${l.scheme}\t${l.errorType}\t`
}

/** Field of a breaker outcome counter. */
export function breakerCounterField(breaker: string, outcome: BreakerOutcome): string {
  return `b\t${breaker}\t${outcome}`
}

/** Field of a cache event counter. */
export function cacheCounterField(cache: string, kind: string): string {
  return `c\t${cache}\t${kind}`
}

/** A counters-hash field read back and understood. */
export type CounterField =
  | { type: 'request'; labels: RequestSeriesLabels; part: 'n' | 's' | number }
  | { type: 'breaker'; breaker: string; outcome: BreakerOutcome }
  | { type: 'cache'; cache: string; kind: (typeof CACHE_EVENT_KINDS)[number] }

const PARTS = new Set(['n', 's'])

/**
 * Parses one field of a counters hash (written by any collector version, or by something else: Redis is an input,
 * docs/decisions/014). Returns null for anything that is not exactly one of the shapes above — the caller skips and
 * counts it.
 */
export function parseCounterField(field: string): CounterField | null {
  const p = field.split('\t')
  if (p[0] === 'r' && p.length === 7) {
    const part = p[6] as string
    let parsed: 'n' | 's' | number
    if (PARTS.has(part)) parsed = part as 'n' | 's'
    else if (/^(?:[0-9]|1[0-4])$/.test(part)) parsed = Number(part)
    else return null
    const [, method, route, status, scheme, errorType] = p as [string, string, string, string, string, string]
    if (method === '' || route === '') return null
    if (status !== '' && !/^[1-5][0-9]{2}$/.test(status)) return null
    return { type: 'request', labels: { method, route, status, scheme, errorType }, part: parsed }
  }
  if (p[0] === 'b' && p.length === 3 && p[1] !== '' && (BREAKER_OUTCOMES as readonly string[]).includes(p[2] as string)) {
    return { type: 'breaker', breaker: p[1] as string, outcome: p[2] as BreakerOutcome }
  }
  if (p[0] === 'c' && p.length === 3 && p[1] !== '' && (CACHE_EVENT_KINDS as readonly string[]).includes(p[2] as string)) {
    return { type: 'cache', cache: p[1] as string, kind: p[2] as (typeof CACHE_EVENT_KINDS)[number] }
  }
  return null
}

/** A counter value read back: a whole number ≥ 0 within 2^53, else null (skipped and counted). */
export function parseCounterValue(value: string): number | null {
  if (!/^[0-9]{1,16}$/.test(value)) return null
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : null
}
