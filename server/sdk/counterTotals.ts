/**
 * What the collector adds to its service's fleet counters (`P:{svc}:counters`, shared/fleetCounters.ts,
 * docs/decisions/026) between two flushes: per HTTP request series (method, route template, status code, scheme,
 * error type) a count, a duration sum in µs and counts per OpenTelemetry duration bucket; breaker call outcomes; cache
 * events. `take()` drains it into (field, increment) pairs, which the flush effects apply exactly once (HINCRBY,
 * docs/decisions/015) — so the Redis counters only ever go up, whatever happens to this process.
 *
 * Hot path: `recordRequest` is three Map lookups (method → route → status key) and a short loop over 14 bounds; no
 * string is built for a series already seen since the last flush. The collector keeps the route's `RouteCounters`
 * on its 10 s series aggregate (`routeCounters` once, then `recordAt` while `isCurrent`), which leaves one lookup. Bounded: at most `MAX_PENDING_COUNTER_SERIES`
 * request series and `MAX_PENDING_COUNTER_FIELDS` other fields between flushes; requests of further series count under
 * route `(overflow)` (never lost), further breaker/cache fields are dropped and counted.
 */
import {
  breakerCounterField,
  cacheCounterField,
  COUNTERS_OVERFLOW_ROUTE,
  DURATION_BUCKETS,
  durationBucket,
  requestSeriesPrefix,
  type BreakerOutcome,
} from '../../shared/fleetCounters'

/** Request series counted between two flushes at most; further ones count under route `(overflow)`. */
export const MAX_PENDING_COUNTER_SERIES = 2000
/** Breaker and cache counter fields counted between two flushes at most; further ones are dropped and counted. */
export const MAX_PENDING_COUNTER_FIELDS = 1000

/** Every series of one route: those of the default error type, then those of each error type of the host's. */
function* counted(rc: RouteCounters): Iterable<RequestCounter> {
  yield* rc.byKey.values()
  for (const m of rc.byErrorType?.values() ?? []) yield* m.values()
}

/** One request series' counts since the last `take()`. */
class RequestCounter {
  n = 0
  sumUs = 0
  readonly buckets = new Float64Array(DURATION_BUCKETS)
  constructor(readonly prefix: string) {}
}

/** `url.scheme` of a request: `https` when the host said so, else `http`. */
export type UrlScheme = 'http' | 'https'

/**
 * The series of one method and route: keyed by a number (status code, scheme, failed or not) when the error type is
 * the default one, by the host's error type then that number otherwise — so the usual request builds no string.
 */
export class RouteCounters {
  readonly byKey = new Map<number, RequestCounter>()
  byErrorType: Map<string, Map<number, RequestCounter>> | null = null
  constructor(
    readonly method: string,
    readonly route: string,
    /** The `CounterTotals` generation it belongs to: once `take()` has drained it, it is no longer current. */
    readonly generation: number,
  ) {}
}

/** `error.type` of a failure with no type of its own: its status code (OTel semconv for HTTP servers), else `_OTHER`. */
function defaultErrorType(status: number): string {
  return status >= 100 && status <= 599 ? String(status) : '_OTHER'
}

/** See the module comment. */
export class CounterTotals {
  private requests = new Map<string, Map<string, RouteCounters>>()
  private generation = 0
  private series = 0
  private others = new Map<string, number>()
  /** Breaker and cache field increments (calls of `add`) dropped because `MAX_PENDING_COUNTER_FIELDS` was reached. */
  droppedIncrements = 0

  /**
   * Counts one request. `method` normalized, `route` a safe label, `status` 0–999 (outside 100–599 it is stored
   * without a status code), `failed` whether it is an error (5xx or thrown), `errorType` the failure's own
   * OpenTelemetry `error.type` (ignored unless `failed`; default: the status code, else `_OTHER`), `us` its duration
   * in whole µs ≥ 0.
   */
  recordRequest(method: string, route: string, status: number, scheme: UrlScheme, failed: boolean, errorType: string | undefined, us: number): void {
    this.recordAt(this.routeCounters(method, route), status, scheme, failed, errorType, us)
  }

  /** The counters of one method and route since the last `take()` (created when new). */
  routeCounters(method: string, route: string): RouteCounters {
    let byRoute = this.requests.get(method)
    if (byRoute === undefined) {
      byRoute = new Map()
      this.requests.set(method, byRoute)
    }
    let rc = byRoute.get(route)
    if (rc === undefined) {
      // Full: a new route is not even indexed (bounded memory whatever the host sends); it counts as (overflow).
      if (this.series >= MAX_PENDING_COUNTER_SERIES) return this.overflowRoute(byRoute, method)
      rc = new RouteCounters(method, route, this.generation)
      byRoute.set(route, rc)
    }
    return rc
  }

  private overflowRoute(byRoute: Map<string, RouteCounters>, method: string): RouteCounters {
    let rc = byRoute.get(COUNTERS_OVERFLOW_ROUTE)
    if (rc === undefined) {
      rc = new RouteCounters(method, COUNTERS_OVERFLOW_ROUTE, this.generation)
      byRoute.set(COUNTERS_OVERFLOW_ROUTE, rc)
    }
    return rc
  }

  /** True while `rc` (from `routeCounters`) has not been drained by `take()`: `recordAt` may count into it. */
  isCurrent(rc: RouteCounters): boolean {
    return rc.generation === this.generation
  }

  /** `recordRequest` into the method and route of `rc`, which must be current (`isCurrent`). */
  recordAt(rc: RouteCounters, status: number, scheme: UrlScheme, failed: boolean, errorType: string | undefined, us: number): void {
    const { method, route } = rc
    const key = status * 4 + (scheme === 'https' ? 1 : 0) + (failed ? 2 : 0)
    let byKey = rc.byKey
    if (failed && errorType !== undefined) {
      rc.byErrorType ??= new Map()
      let m = rc.byErrorType.get(errorType)
      if (m === undefined) {
        m = new Map()
        rc.byErrorType.set(errorType, m)
      }
      byKey = m
    }
    let c = byKey.get(key)
    if (c === undefined) c = this.addSeries(byKey, key, method, route, status, scheme, failed ? (errorType ?? defaultErrorType(status)) : undefined)
    c.n++
    c.sumUs += us
    const i = durationBucket(us)
    c.buckets[i] = (c.buckets[i] as number) + 1
  }

  /** Counts one breaker call's outcome. */
  countBreakerOutcome(breaker: string, outcome: BreakerOutcome): void {
    this.add(breakerCounterField(breaker, outcome), 1)
  }

  /** Counts `n` cache events of `kind` for `cache`. */
  countCacheEvent(cache: string, kind: string, n: number): void {
    this.add(cacheCounterField(cache, kind), n)
  }

  /** True when nothing was counted since the last `take()`. */
  get isEmpty(): boolean {
    return this.series === 0 && this.others.size === 0
  }

  /**
   * Drains everything counted into `[field, increment, field, increment, …]` (increments as decimal strings, zeros
   * left out) and starts afresh.
   */
  take(): string[] {
    const out: string[] = []
    for (const byRoute of this.requests.values()) {
      for (const byStatus of byRoute.values()) {
        for (const c of counted(byStatus)) {
          out.push(c.prefix + 'n', String(c.n), c.prefix + 's', String(c.sumUs))
          for (let i = 0; i < DURATION_BUCKETS; i++) {
            const v = c.buckets[i] as number
            if (v !== 0) out.push(c.prefix + String(i), String(v))
          }
        }
      }
    }
    for (const [field, n] of this.others) out.push(field, String(n))
    this.requests = new Map()
    this.generation++
    this.others = new Map()
    this.series = 0
    return out
  }

  private add(field: string, n: number): void {
    const prev = this.others.get(field)
    if (prev === undefined && this.others.size >= MAX_PENDING_COUNTER_FIELDS) {
      this.droppedIncrements++
      return
    }
    this.others.set(field, (prev ?? 0) + n)
  }

  private addSeries(
    byStatus: Map<number, RequestCounter>,
    key: number,
    method: string,
    route: string,
    status: number,
    scheme: UrlScheme,
    errorType: string | undefined,
  ): RequestCounter {
    if (this.series >= MAX_PENDING_COUNTER_SERIES) {
      // One overflow series per method (key 0 of its `(overflow)` route); not indexed under this status key, so each
      // new series keeps landing here.
      const byOverflow = this.overflowRoute(this.requests.get(method) ?? new Map(), method)
      let c = byOverflow.byKey.get(0)
      if (c === undefined) {
        c = new RequestCounter(requestSeriesPrefix({ method, route: COUNTERS_OVERFLOW_ROUTE, status: '', scheme: '', errorType: '' }))
        byOverflow.byKey.set(0, c)
        this.series++
      }
      return c
    }
    const c = new RequestCounter(
      requestSeriesPrefix({ method, route, status: status >= 100 && status <= 599 ? String(status) : '', scheme, errorType: errorType ?? '' }),
    )
    byStatus.set(key, c)
    this.series++
    return c
  }
}
