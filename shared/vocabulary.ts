/**
 * The wire vocabulary: every word and bound that the SDK writes, the server reads and the dashboard shows, owned
 * here once — HTTP methods, the name alphabet, event types, cache event kinds, the CSRF header, stream caps.
 * Pure constants and types: no imports, no I/O (docs/PRODUCT.md "The three parts").
 */

/**
 * HTTP methods the SDK records by name; any other method is recorded as `_OTHER`. The list is OpenTelemetry's
 * `http.request.method` known methods (semantic conventions, HTTP spans: RFC 9110 plus PATCH from RFC 5789).
 */
export const KNOWN_HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const
/** OpenTelemetry's value of `http.request.method` for a method outside `KNOWN_HTTP_METHODS`. */
export const OTHER_HTTP_METHOD = '_OTHER'
/** Every method value a request series can carry: the known methods and `_OTHER`. */
export const HTTP_METHODS = [...KNOWN_HTTP_METHODS, OTHER_HTTP_METHOD] as const
/** A method value as recorded (see `HTTP_METHODS`). */
export type HttpMethod = (typeof HTTP_METHODS)[number]

const KNOWN_METHOD_SET: ReadonlySet<string> = new Set(KNOWN_HTTP_METHODS)

/** True when `m` is one of `KNOWN_HTTP_METHODS` (exact, upper case). */
export function isKnownHttpMethod(m: string): m is (typeof KNOWN_HTTP_METHODS)[number] {
  return KNOWN_METHOD_SET.has(m)
}

/** Upper-cases a method and maps anything outside `KNOWN_HTTP_METHODS` to `_OTHER` (OpenTelemetry's rule). */
export function normalizeHttpMethod(method: string): HttpMethod {
  const m = method.toUpperCase()
  return isKnownHttpMethod(m) ? m : OTHER_HTTP_METHOD
}

/**
 * A service, instance, breaker or cache name: 1–64 of `A-Z a-z 0-9 . _ -` — no `{`, `}` or `:`, so keys and hash
 * tags stay sound.
 */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
/** Every character outside the name alphabet (global), for turning a host name into a valid instance name. */
export const NOT_NAME_CHAR = /[^A-Za-z0-9._-]/g
/** A Redis key prefix: 1–32 of the name alphabet. */
export const PREFIX_PATTERN = /^[A-Za-z0-9._-]{1,32}$/

/**
 * Types of entries in a service's events stream: a breaker state change seen by an instance, a command an instance
 * applied, and a command an operator issued.
 */
export const EVENT_TYPES = ['transition', 'commandApplied', 'commandIssued'] as const
/** One of `EVENT_TYPES`. */
export type EventType = (typeof EVENT_TYPES)[number]

/** Cache counters recorded per cache and time bucket, in their fixed order (index = position in a counts array). */
export const CACHE_EVENT_KINDS = ['hits', 'misses', 'sets', 'invalidations'] as const
/** One of `CACHE_EVENT_KINDS`. */
export type CacheEventKind = (typeof CACHE_EVENT_KINDS)[number]

/** Kinds of sampled request-log entries: slower than the threshold, or failed. */
export const REQUEST_LOG_KINDS = ['slow', 'error'] as const
/** One of `REQUEST_LOG_KINDS`. */
export type RequestLogKind = (typeof REQUEST_LOG_KINDS)[number]

/**
 * Header every dashboard API request carries and every mutation must carry: a cross-site HTML form cannot set a
 * non-simple header, so a forged form post is refused (OWASP CSRF cheat sheet, "custom request headers").
 */
export const CSRF_HEADER = 'x-fusebox-csrf'

/**
 * Approximate caps (`XADD … MAXLEN ~`) of the capped streams, in entries: per service the events stream and the
 * sampled request log, and the one audit stream.
 */
export const STREAM_CAPS = { events: 10_000, requestLog: 100_000, audit: 100_000 } as const

/**
 * Most rows one `endpoints.list` call returns. Routes per service are bounded by the SDK's series cap (`maxSeries`,
 * default 1000, plus the overflow series), so the dashboard fetches a service's whole route table in one call.
 */
export const ENDPOINTS_MAX_LIMIT = 2000
