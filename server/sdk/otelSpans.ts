/**
 * OpenTelemetry input (issue #12): a span processor that turns every ended SERVER span of an HTTP request into a
 * request record, so a service already instrumented with OpenTelemetry (Koa, NestJS, Hono, …) feeds Fusebox without
 * its HTTP middleware. Use one or the other for a service, not both: each request would be counted twice.
 *
 * Structural on purpose: it reads the parts of a span the OpenTelemetry JS SDK 2.x hands `SpanProcessor.onEnd`
 * (`ReadableSpan`) and implements the processor's four methods, so the SDK has no dependency on `@opentelemetry/*`
 * (it stays an optional peer of the host). Attribute names are the stable HTTP semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/): `http.request.method`, `http.route`,
 * `http.response.status_code`, `error.type`; the pre-1.23 names `http.method` and `http.status_code`, which older
 * instrumentations still emit, are read when the stable ones are absent.
 */
import { UNMATCHED_ROUTE, type FinishedRequest } from './requestMetrics'

/** `SpanKind.SERVER` of @opentelemetry/api. */
export const SPAN_KIND_SERVER = 1
/** `SpanStatusCode.ERROR` of @opentelemetry/api. */
export const SPAN_STATUS_ERROR = 2

/**
 * What the processor reads of an ended span (a subset of OpenTelemetry JS 2.x `ReadableSpan`): its kind, its
 * attributes, its duration as `HrTime` (`[seconds, nanoseconds]`) and its status.
 */
export interface EndedSpanLike {
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly duration: readonly [number, number]
  readonly status?: { readonly code: number }
}

/** The OpenTelemetry JS `SpanProcessor` interface, structurally (register it with the tracer provider). */
export interface FuseboxSpanProcessor {
  onStart(span: unknown, parentContext: unknown): void
  onEnd(span: EndedSpanLike): void
  forceFlush(): Promise<void>
  shutdown(): Promise<void>
}

function attribute(attrs: Readonly<Record<string, unknown>>, stable: string, legacy?: string): unknown {
  const v = attrs[stable]
  return v !== undefined || legacy === undefined ? v : attrs[legacy]
}

/**
 * The request record of an ended span, or null when the span is not the server side of an HTTP request (kind
 * other than SERVER, or no HTTP method attribute). Values are passed on as found — `recordRequest` checks and coerces
 * them (a span without a status code or duration is dropped and counted there). No `http.route` (an instrumentation
 * that knows no template) reads as `(unmatched)`: a raw URL never becomes a label.
 * Duration: `duration[0] * 1000 + duration[1] / 1e6` ms. Error: span status ERROR, or a status ≥ 500 (recordRequest).
 */
export function requestFromSpan(span: EndedSpanLike): FinishedRequest | null {
  if (span.kind !== SPAN_KIND_SERVER) return null
  const attrs = span.attributes ?? {}
  const method = attribute(attrs, 'http.request.method', 'http.method')
  if (typeof method !== 'string' || method === '') return null
  const route = attribute(attrs, 'http.route')
  const status = attribute(attrs, 'http.response.status_code', 'http.status_code')
  const errorType = attribute(attrs, 'error.type')
  const scheme = attribute(attrs, 'url.scheme', 'http.scheme')
  const d = span.duration
  const durationMs = Array.isArray(d) ? Number(d[0]) * 1000 + Number(d[1]) / 1e6 : Number.NaN
  return {
    method,
    route: typeof route === 'string' && route !== '' ? route : UNMATCHED_ROUTE,
    status: status as number,
    durationMs,
    error: span.status?.code === SPAN_STATUS_ERROR,
    ...(typeof errorType === 'string' && errorType !== '' ? { errorType } : {}),
    ...(scheme === 'https' || scheme === 'http' ? { urlScheme: scheme } : {}),
  }
}

/**
 * A span processor that records each ended HTTP SERVER span through `record` (the collector's `recordRequest`).
 * Never throws into the tracer: a failure goes to `reportError` (where: `otel`). `forceFlush` flushes the collector
 * (`flush`, which never rejects); `shutdown` does nothing — the collector belongs to the host, which closes it.
 */
export function createSpanProcessor(deps: {
  record: (r: FinishedRequest) => void
  flush: () => Promise<void>
  reportError: (error: unknown, where: string) => void
}): FuseboxSpanProcessor {
  return {
    onStart() {},
    onEnd(span) {
      try {
        const r = requestFromSpan(span)
        if (r !== null) deps.record(r)
      } catch (e) {
        deps.reportError(e, 'otel')
      }
    },
    forceFlush: () => deps.flush(),
    shutdown: async () => {},
  }
}
