/**
 * `GET /metrics` in the Prometheus text format (issue #4 "Interop", issue #12 "Metrics Grafana can use"), named after
 * the OpenTelemetry HTTP metrics semantic conventions (https://opentelemetry.io/docs/specs/semconv/http/http-metrics/),
 * dots → underscores plus the unit suffix. docs/METRICS.md "Prometheus and Grafana" lists every family.
 *
 * This server's own metrics (every replica):
 * - `fusebox_http_server_request_duration_seconds{http_request_method,http_route,http_response_status_code}` —
 *   histogram, OTel advised buckets, one observation per HTTP request to this dashboard server (a tRPC batch is one
 *   request, `http_route="/trpc"`). `http_route` is a low-cardinality template set by the handler that served the
 *   request (`/trpc`, `/healthz`, `/metrics`, `/assets/*`, `/` for the app shell), `(unmatched)` otherwise — never a
 *   raw path. Long-lived SSE responses (`text/event-stream`) are kept out: their "duration" is the life of a
 *   subscription. (`fusebox_`-prefixed: `http_server_request_duration_seconds` is the monitored services' family.)
 * - `fusebox_trpc_procedure_duration_seconds{procedure}` and `fusebox_trpc_procedure_errors_total{procedure}`, fed by
 *   `observeProcedure` from a tRPC middleware (one observation per procedure call, batches included).
 * - `fusebox_redis_invalid_values_total{kind}` — values read back from Redis that were skipped as invalid (a corrupt
 *   packed series, a key of the wrong type, a bad counter or score; server/app/reads/redisInput.ts, decision 014).
 * - `fusebox_janitor_pruned_total{kind}`; prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`);
 *   `fusebox_redis_up` (this scrape could talk to Redis) and `fusebox_fleet_exporter` (1 when this replica exported
 *   the fleet series in this scrape).
 *
 * The fleet (the monitored services, read from Redis at scrape time; only on the replica holding the exporter lease
 * unless `fleet` says otherwise): see server/app/fleetMetrics.ts.
 *
 * Access: with `FUSEBOX_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>` (compared in constant
 * time); without it, only loopback clients that did not come through a proxy may scrape (403 otherwise).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { RedisClient } from '../sdk/redisTopology'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'
import type { KeySpace } from '../../shared/keys'
import { FleetExporter, MetricFamily, type FleetCaps, type FleetMode } from './fleetMetrics'
import { redisInvalidValues } from './reads/redisInput'
import { isKnownHttpMethod, OTHER_HTTP_METHOD } from '../../shared/vocabulary'

/** OTel advised buckets for `http.server.request.duration`, seconds. */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
/** Content type of the Prometheus text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

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

/**
 * prom-client's default metrics (process CPU, memory, file descriptors, event-loop lag, GC, heap spaces) describe the
 * process, not an app: one registry per process, created by the first `createMetrics` and served by every app's
 * /metrics (each `collectDefaultMetrics` call starts its own event-loop monitor and GC observer, so one per app
 * would leak them in a process that builds many apps, as the tests do).
 */
let processRegistry: Registry | undefined
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
    // Gauges with a `_total` suffix, which `promtool check metrics` rejects (a `_total` is a counter); the same counts
    // stay available by type in `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`.
    for (const name of LINT_FAILING_DEFAULTS) processRegistry.removeSingleMetric(name)
  }
  return processRegistry
}

/** What `createMetrics` returns: the registry, the two Express handlers and `close`. */
export interface HttpMetrics {
  /** This app's own metrics (not the fleet, which is rendered at scrape time, nor the process defaults). */
  registry: Registry
  /** Times every request (mount first). */
  middleware: RequestHandler
  /** `GET /metrics` (guarded by `metricsToken` or loopback-only). */
  handler: RequestHandler
  /** Reads the fleet and holds the exporter lease (server/app/fleetMetrics.ts). */
  fleet: FleetExporter
  /**
   * Stops the lease renewal timer and gives the lease up, so another replica exports the fleet from its next scrape
   * on. Call when the app shuts down (the timer is `unref()`'d, so forgetting it does not keep the process alive;
   * an unreleased lease expires within EXPORTER_LEASE_TTL_MS). Never rejects.
   */
  close(): Promise<void>
}

/** Options of `createMetrics` beyond the token. */
export interface MetricsOptions extends FleetCaps {
  /**
   * Who exports the fleet series (the monitored services): `leader` (default) — only the replica holding the lease
   * `P:metrics:exporter`, for Prometheus scraping every replica as its own target; `always` — this replica, for a
   * setup that scrapes one load-balanced address (or runs one replica); `never` — not this one.
   */
  fleet?: FleetMode
  /** Lease life and renewal period, ms (defaults: fleetMetrics.ts; tests shorten them). */
  leaseTtlMs?: number
  leaseRenewMs?: number
}

/** Ensures a non-empty exposition chunk ends with a newline (prom-client's does not always). */
const chunk = (text: string): string => (text === '' || text.endsWith('\n') ? text : `${text}\n`)

/**
 * Builds a fresh (non-global) registry for one HTTP app.
 * @param metricsToken FUSEBOX_METRICS_TOKEN; empty/undefined → loopback-only scraping
 * @param options fleet mode and caps (see MetricsOptions; defaults: leader, the caps of fleetMetrics.ts)
 */
export function createMetrics(redis: RedisClient, keys: KeySpace, metricsToken?: string, options: MetricsOptions = {}): HttpMetrics {
  const registry = new Registry()
  registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE)
  registry.registerMetric(procedureDuration)
  registry.registerMetric(procedureErrors)
  registry.registerMetric(redisInvalidValues)
  registry.registerMetric(janitorPruned)
  const defaults = processMetrics()

  const httpDuration = new Histogram({
    name: 'fusebox_http_server_request_duration_seconds',
    help: 'Duration of HTTP requests to this Fusebox server (OpenTelemetry http.server.request.duration); SSE streams excluded.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: DURATION_BUCKETS_S,
    registers: [registry],
  })

  const fleet = new FleetExporter(redis, keys, {
    mode: options.fleet,
    leaseTtlMs: options.leaseTtlMs,
    leaseRenewMs: options.leaseRenewMs,
    maxServices: options.maxServices,
    maxInstancesPerService: options.maxInstancesPerService,
    maxBreakersPerService: options.maxBreakersPerService,
  })

  /** The whole exposition of one scrape: this app's metrics, the process defaults, the scrape gauges, the fleet. */
  const exposition = async (): Promise<string> => {
    // The fleet first: its reads count invalid values, which this scrape's own counter should already show.
    const scraped = await fleet.scrape()
    const [own, processText] = await Promise.all([registry.metrics(), defaults.metrics()])
    const redisUp = new MetricFamily('fusebox_redis_up', 'gauge', '1 when this scrape could talk to Redis, 0 when it could not (the fleet series are then absent).')
    redisUp.sample('fusebox_redis_up', [], scraped.redisOk ? 1 : 0)
    const exporter = new MetricFamily(
      'fusebox_fleet_exporter',
      'gauge',
      '1 when this replica exported the fleet series (the monitored services) in this scrape, 0 when another replica holds the exporter lease (or Redis is unreachable).',
    )
    exporter.sample('fusebox_fleet_exporter', [], scraped.exporting ? 1 : 0)
    return chunk(own) + chunk(processText) + redisUp.render() + exporter.render() + scraped.text
  }

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
    exposition()
      .then((text) => {
        // setHeader, not res.type()/send(): Express would re-serialise the parameters (charset first).
        res.status(200).setHeader('Cache-Control', 'no-store')
        res.setHeader('Content-Type', METRICS_CONTENT_TYPE)
        res.end(text)
      })
      .catch(next)
  }

  return { registry, middleware, handler, fleet, close: () => fleet.close() }
}
