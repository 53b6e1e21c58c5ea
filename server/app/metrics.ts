/**
 * `GET /metrics` in the Prometheus text format (issue #4 "Interop"), named after the OpenTelemetry HTTP metrics
 * semantic conventions (https://opentelemetry.io/docs/specs/semconv/http/http-metrics/), dots → underscores plus
 * the unit suffix:
 *
 * - `http_server_request_duration_seconds{http_request_method,http_route,http_response_status_code}` — histogram,
 *   OTel advised buckets, one observation per HTTP request (a tRPC batch is one request, `http_route="/trpc"`).
 *   `http_route` is a low-cardinality template set by the handler that served the request (`/trpc`, `/healthz`,
 *   `/metrics`, `/assets/*`, `/` for the app shell), `(unmatched)` otherwise — never a raw path. Long-lived SSE
 *   responses (`text/event-stream`) are kept out: their "duration" is the life of a subscription.
 * - `fusebox_trpc_procedure_duration_seconds{procedure}` and `fusebox_trpc_procedure_errors_total{procedure}`, fed by
 *   `observeProcedure` from a tRPC middleware (one observation per procedure call, batches included).
 * - `fusebox_redis_invalid_values_total{kind}` — values read back from Redis that were skipped as invalid (a corrupt
 *   packed series, a key of the wrong type, a bad counter or score; server/app/reads/redisInput.ts, decision 014).
 * - `fusebox_breaker_state{service,breaker,instance,state}` — 1 for the state a live instance reports, 0 for the other
 *   `BREAKER_STATES`; `fusebox_instances_up{service}`; `fusebox_redis_up` — all read from Redis at scrape time
 *   (`readOverview` over the last minute), so every Fusebox server exposes the same cluster view.
 *
 * Access: with `FUSEBOX_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>` (compared in constant
 * time); without it, only loopback clients that did not come through a proxy may scrape (403 otherwise).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Redis } from 'ioredis'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { KeySpace } from '../../shared/keys'
import { BREAKER_STATES, type OverviewSnapshot } from '../../shared/schemas'
import { readOverview } from './readModel'
import { redisInvalidValues } from './reads/redisInput'
import { isKnownHttpMethod, OTHER_HTTP_METHOD } from '../../shared/vocabulary'

/** OTel advised buckets for `http.server.request.duration`, seconds. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
/** Content type of the Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
/** Window the scrape-time breaker/instance gauges are read over. */
export const SCRAPE_WINDOW_MS = 60_000

/** The only `http_route` label values (low cardinality by construction). */
export const HTTP_ROUTES = {
  trpc: '/trpc',
  healthz: '/healthz',
  metrics: '/metrics',
  auditExport: '/api/audit.jsonl',
  assets: '/assets/*',
  shell: '/',
  unmatched: '(unmatched)',
} as const
export type HttpRoute = (typeof HTTP_ROUTES)[keyof typeof HTTP_ROUTES]

/** Methods OTel lists by name; anything else is `_OTHER` (so a client cannot invent label values). */
const ROUTE_LOCAL = 'httpRoute'
const PROCEDURE_LABEL = /^[A-Za-z0-9_.-]{1,128}$/

/** Records which route template served `res` (the handler calls this; default `(unmatched)`). */
export function setHttpRoute(res: Response, route: HttpRoute): void {
  res.locals[ROUTE_LOCAL] = route
}

/** True when `res` is (or is becoming) a Server-Sent Events stream. */
export function isEventStream(res: { getHeader(name: string): unknown }): boolean {
  return String(res.getHeader('content-type') ?? '').toLowerCase().includes('text/event-stream')
}

// Per-procedure metrics are process-wide (tRPC middleware has no handle on the app); every app's registry
// registers these same two objects.
const procedureDuration = new Histogram({
  name: 'fusebox_trpc_procedure_duration_seconds',
  help: 'Duration of tRPC procedure calls (queries and mutations; one per call, also inside a batch).',
  labelNames: ['procedure'] as const,
  buckets: DURATION_BUCKETS_S,
  registers: [],
})
const procedureErrors = new Counter({
  name: 'fusebox_trpc_procedure_errors_total',
  help: 'tRPC procedure calls that ended in an error (any TRPCError code, including 401/403/400).',
  labelNames: ['procedure'] as const,
  registers: [],
})

// What the janitor (janitor.ts) removed, process-wide like the procedure metrics: main.ts hands `countPruned` to it.
const janitorPruned = new Counter({
  name: 'fusebox_janitor_pruned_total',
  help: 'Redis entries the janitor removed because their owner was gone longer than its retention (docs/ARCHITECTURE.md "Redis layout"), by kind.',
  labelNames: ['kind'] as const,
  registers: [],
})

/**
 * Adds one janitor run's counts to `fusebox_janitor_pruned_total{kind}` (kinds: janitor.ts `PRUNE_KINDS`; zero counts
 * are skipped, negative or non-finite ones ignored).
 */
export function countPruned(counts: Readonly<Record<string, number>>): void {
  for (const [kind, n] of Object.entries(counts)) if (Number.isFinite(n) && n > 0) janitorPruned.inc({ kind }, n)
}

/**
 * Records one tRPC procedure call. Call it from a tRPC middleware (not for subscriptions: their `next()` returns
 * when the stream is set up, not when it ends).
 * @param path procedure path, e.g. `breakers.command` (anything odd is labelled `(other)`)
 * @param durationS seconds from before `next()` to its result
 * @param ok `result.ok` of `next()`
 */
export function observeProcedure(path: string, durationS: number, ok: boolean): void {
  const procedure = PROCEDURE_LABEL.test(path) ? path : '(other)'
  procedureDuration.observe({ procedure }, durationS)
  if (!ok) procedureErrors.inc({ procedure })
}

function constantTimeEqual(a: string, b: string): boolean {
  // Hash first so the comparison does not leak the token's length either.
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')
}

function plainError(res: Response, status: number, message: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('application/json').send(JSON.stringify({ error: { message } }))
}

/** What `createMetrics` returns: the registry and the two Express handlers. */
export interface HttpMetrics {
  registry: Registry
  /** Times every request (mount first). */
  middleware: RequestHandler
  /** `GET /metrics` (guarded by `metricsToken` or loopback-only). */
  handler: RequestHandler
}

/**
 * Builds a fresh (non-global) registry for one HTTP app.
 * @param metricsToken FUSEBOX_METRICS_TOKEN; empty/undefined → loopback-only scraping
 */
export function createMetrics(redis: Redis, keys: KeySpace, metricsToken?: string): HttpMetrics {
  const registry = new Registry()
  registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE)
  registry.registerMetric(procedureDuration)
  registry.registerMetric(procedureErrors)
  registry.registerMetric(redisInvalidValues)
  registry.registerMetric(janitorPruned)

  const httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests (OpenTelemetry http.server.request.duration); SSE streams excluded.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: DURATION_BUCKETS_S,
    registers: [registry],
  })

  // Both scrape-time gauges share one Redis read per scrape (prom-client collects all metrics concurrently).
  let pending: Promise<OverviewSnapshot | null> | null = null
  let lastReadOk = false
  const overview = (): Promise<OverviewSnapshot | null> =>
    (pending ??= readOverview(redis, keys, Date.now(), SCRAPE_WINDOW_MS)
      .then(
        (o) => {
          lastReadOk = true
          return o
        },
        (e: unknown) => {
          lastReadOk = false
          console.error(`[fusebox] /metrics: cannot read Redis: ${e instanceof Error ? e.message : String(e)}`)
          return null
        },
      )
      .finally(() => {
        pending = null
      }))

  new Gauge({
    name: 'fusebox_breaker_state',
    help: 'Circuit breaker state per live instance: 1 for the current state, 0 for the others.',
    labelNames: ['service', 'breaker', 'instance', 'state'] as const,
    registers: [registry],
    async collect() {
      const o = await overview()
      this.reset()
      for (const b of o?.breakers ?? []) {
        for (const inst of b.instances) {
          for (const state of BREAKER_STATES) {
            this.set({ service: b.service, breaker: b.name, instance: inst.instance, state }, inst.state === state ? 1 : 0)
          }
        }
      }
    },
  })
  new Gauge({
    name: 'fusebox_instances_up',
    help: 'Instances of a service whose heartbeat is current.',
    labelNames: ['service'] as const,
    registers: [registry],
    async collect() {
      const o = await overview()
      this.reset()
      for (const s of o?.services ?? []) this.set({ service: s.service }, s.instances.filter((i) => i.up).length)
    },
  })
  new Gauge({
    name: 'fusebox_redis_up',
    help: '1 when this scrape could read the Fusebox data from Redis, 0 when it could not (breaker gauges are then absent).',
    registers: [registry],
    async collect() {
      await overview()
      this.set(lastReadOk ? 1 : 0)
    },
  })

  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint()
    let done = false
    const record = (): void => {
      if (done) return
      done = true
      if (isEventStream(res)) return // a subscription's lifetime is not a request duration
      const route = (res.locals[ROUTE_LOCAL] as HttpRoute | undefined) ?? HTTP_ROUTES.unmatched
      const method = isKnownHttpMethod(req.method) ? req.method : OTHER_HTTP_METHOD
      httpDuration.observe(
        { http_request_method: method, http_route: route, http_response_status_code: String(res.statusCode) },
        Number(process.hrtime.bigint() - start) / 1e9,
      )
    }
    res.once('finish', record)
    res.once('close', record) // aborted by the client before finishing
    next()
  }

  const token = metricsToken && metricsToken.length > 0 ? metricsToken : undefined
  const handler: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    setHttpRoute(res, HTTP_ROUTES.metrics)
    if (token) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
      if (!m || !constantTimeEqual(m[1] ?? '', token)) {
        res.set('WWW-Authenticate', 'Bearer realm="fusebox-metrics"')
        return plainError(res, 401, 'Bearer token required')
      }
    } else {
      // No token configured: loopback only. A request relayed by a proxy on this host also arrives from loopback,
      // so anything carrying forwarding headers is refused too (set FUSEBOX_METRICS_TOKEN to scrape through one).
      const forwarded = req.headers['x-forwarded-for'] ?? req.headers.forwarded ?? req.headers['x-real-ip']
      if (forwarded !== undefined || !isLoopback(req.ip)) {
        return plainError(res, 403, 'Metrics are served to loopback clients only unless FUSEBOX_METRICS_TOKEN is set')
      }
    }
    registry
      .metrics()
      .then((text) => {
        // setHeader, not res.type()/send(): Express would re-serialise the parameters (charset first).
        res.status(200).setHeader('Cache-Control', 'no-store')
        res.setHeader('Content-Type', METRICS_CONTENT_TYPE)
        res.end(text)
      })
      .catch(next)
  }

  return { registry, middleware, handler }
}
