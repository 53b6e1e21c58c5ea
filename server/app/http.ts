/**
 * The HTTP surface: request metrics, compression (brotli/gzip, never SSE), security headers (helmet; HSTS per request
 * over TLS), the CSRF guard for mutations, tRPC at /trpc (rate limits run inside the procedures, after the token or
 * session check: rateLimits.ts), /healthz, /metrics, and the built dashboard with caching headers (hashed assets
 * immutable; index.html, sw.js and the manifest no-cache). All of it under a base path when `basePath` is set or the
 * app is mounted as a sub-app (`parent.use('/ops/fusebox', app)`): the app shell's `<base href>` is written per request
 * from `req.baseUrl` (docs/decisions/024-base-path.md).
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { constants as zlibConstants } from 'node:zlib'
import { createExpressMiddleware } from '@trpc/server/adapters/express'
import compression from 'compression'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import type { Cluster } from 'ioredis'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { isCluster } from '../sdk/redisTopology'
import { auditExportHandler } from './auditExport'
import { normalizeBasePath, withBaseHref } from './basePath'
import type { FleetMode } from './fleetMetrics'
import { createMetrics, HTTP_ROUTES, isEventStream, setHttpRoute, type HttpMetrics } from './metrics'
import { createRateLimits, type RateLimitRule } from './rateLimits'
import { appRouter } from './router'
import { StreamGuard, type StreamGuardOptions } from './streamGuard'
import { createContext, type AppDeps, type AppServices } from './trpc'

/** Largest accepted request body, bytes (issue #4: ≤ 1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024
/** Most calls accepted in one tRPC batch. */
export const MAX_BATCH_SIZE = 10

/** Options of the HTTP app. */
export interface HttpOptions {
  /** Folder of the built dashboard (vite build output). */
  staticDir: string
  /**
   * FUSEBOX_METRICS_TOKEN: when set, `GET /metrics` requires `Authorization: Bearer <token>`; when unset, /metrics
   * is served to loopback clients only (403 otherwise).
   */
  metricsToken?: string
  /**
   * FUSEBOX_TRUST_PROXY → Express `trust proxy`: which hops may set X-Forwarded-For / X-Forwarded-Proto (a hop
   * count, or addresses / subnets / `loopback` etc.). Default `false`: the client is the socket address and the
   * forwarding headers are ignored (and, when they arrive, a warning is logged once). `req.ip` keys the login rate
   * limit; the forwarded protocol decides the Secure cookie and HSTS. Never `true` (anyone could pick their own IP).
   * Once set, /metrics needs FUSEBOX_METRICS_TOKEN (a local proxy makes every client look like loopback).
   */
  trustProxy?: false | number | string
  /** FUSEBOX_PUBLIC_URL; once set, /metrics needs FUSEBOX_METRICS_TOKEN (the app is reachable beyond this host). */
  publicUrl?: string
  /** Override the login / command rate limits (tests). */
  rateLimits?: { login?: RateLimitRule; commands?: RateLimitRule }
  /** Live-stream session re-check period and per-session cap (defaults in streamGuard.ts; tests shorten them). */
  liveStreams?: StreamGuardOptions
  /** FUSEBOX_METRICS_FLEET: who exports the monitored services' metrics (metrics.ts `MetricsOptions.fleet`; default leader). */
  metricsFleet?: FleetMode
  /** Receives configuration warnings found while serving (default console.warn), e.g. untrusted forwarding headers. */
  warn?: (message: string) => void
  /**
   * FUSEBOX_BASE_PATH: serve everything under this path (`/ops/fusebox`: the dashboard, /trpc, /healthz, /metrics,
   * /api/audit.jsonl, assets, manifest and service worker) and answer 404 elsewhere; '' or unset = at `/`. Checked by
   * basePath.ts `normalizeBasePath` (leading slash, no trailing slash, no `//`, `.` or `..`, only A-Z a-z 0-9 . _ ~ -).
   * Not needed when the returned app is itself mounted in another Express app: it reads its base from `req.baseUrl`.
   */
  basePath?: string
}

/** Headers a reverse proxy adds; seeing them on a request from a hop we do not trust means a misconfiguration. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-real-ip'] as const

/** HSTS value over TLS: one year, subdomains included. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains'

/** How long /healthz waits for each master of a cluster to answer CLUSTER INFO, ms. */
export const HEALTHZ_NODE_TIMEOUT_MS = 1000

/** What /healthz reports of a Redis Cluster. */
export interface ClusterHealthz {
  /** `cluster_state` of CLUSTER INFO as the answering masters see it (`ok` when every slot is served; see checkCluster). */
  state: string
  /** Masters ioredis currently knows. */
  masters: number
  /**
   * How many masters did not answer CLUSTER INFO within HEALTHZ_NODE_TIMEOUT_MS. A count, not addresses: /healthz answers
   * anyone, and where Redis lives is not theirs to know; the server log names them.
   */
  failing: number
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A cluster is healthy when every master ioredis knows answers CLUSTER INFO within HEALTHZ_NODE_TIMEOUT_MS and each
 * says `cluster_state:ok`: a hung or dead master means part of the data cannot be read or written, and a master
 * that sees the cluster failing (slots without a master) says so. `state` is `ok` when every answer is, else the
 * first other state (`fail`), or `unknown` when no master answered. Never rejects.
 */
async function checkCluster(cluster: Cluster): Promise<ClusterHealthz> {
  const masters = cluster.nodes('master')
  const answers = await Promise.all(
    masters.map((node) =>
      withinMs(node.cluster('INFO'), HEALTHZ_NODE_TIMEOUT_MS, 'CLUSTER INFO').then(
        (info) => ({ state: /cluster_state:(\w+)/.exec(String(info))?.[1] ?? 'unknown' }),
        () => ({ failing: `${node.options.host ?? ''}:${node.options.port ?? ''}` }),
      ),
    ),
  )
  const states = answers.flatMap((a) => ('state' in a ? [a.state] : []))
  const failing = answers.flatMap((a) => ('failing' in a ? [a.failing] : [])).sort()
  if (failing.length > 0) console.error(`[fusebox] /healthz: Redis Cluster master(s) not answering within ${HEALTHZ_NODE_TIMEOUT_MS} ms: ${failing.join(', ')}`)
  const state = states.length === 0 ? 'unknown' : (states.find((st) => st !== 'ok') ?? 'ok')
  return { state, masters: masters.length, failing: failing.length }
}

/** Each app's metrics, so shutdown can give up the fleet exporter lease (see `closeMetrics`). */
const appMetrics = new WeakMap<express.Express, HttpMetrics>()

/**
 * Stops `app`'s metrics: the fleet exporter lease is given up (another replica exports from its next scrape) and its
 * renewal timer stopped. Call on shutdown, before Redis closes. Never rejects.
 */
export async function closeMetrics(app: express.Express): Promise<void> {
  await appMetrics.get(app)?.close()
}

/** Open requests per app, so shutdown can end SSE streams (see `closeLiveStreams`). */
const openResponses = new WeakMap<express.Express, Set<Response>>()
/** The open-response sets of apps whose live streams were closed: a stream that starts there later is ended too. */
const streamsClosed = new WeakSet<Set<Response>>()

/**
 * Ends `res` as soon as its head goes out as an event stream: a request already past its checks (waiting for the
 * host's sign-in hook, say) when `closeLiveStreams` ran, or one arriving after it on a kept-alive connection.
 */
function endIfEventStream(res: Response): void {
  const writeHead = res.writeHead
  res.writeHead = function (this: Response, ...args: unknown[]) {
    const result = (writeHead as (...a: unknown[]) => Response).apply(this, args)
    if (isEventStream(this)) setImmediate(() => this.destroy())
    return result
  } as Response['writeHead']
}

/**
 * Ends every open Server-Sent Events stream of `app` (tRPC subscriptions see their `signal` abort; browsers'
 * EventSource reconnects, to another server once this one stopped listening), and from then on every stream of
 * `app` as soon as it starts (shutdown must not wait on one). Other requests are left to finish.
 * @returns how many streams were ended now
 */
export function closeLiveStreams(app: express.Express): number {
  const open = openResponses.get(app)
  if (open === undefined) return 0
  let n = 0
  const first = !streamsClosed.has(open)
  streamsClosed.add(open)
  for (const res of open) {
    if (isEventStream(res)) {
      res.destroy()
      n++
    } else if (first && !res.headersSent) endIfEventStream(res)
  }
  return n
}

/**
 * Compress JSON and assets, but never a stream: SSE (`text/event-stream`, or a request that asks for one) and tRPC's
 * streamed JSONL batches would sit in the compressor's buffer instead of reaching the browser. (tRPC's SSE responses
 * also carry `Cache-Control: no-transform`, which compression honours; this does not rely on it.)
 */
export function shouldCompress(req: Request, res: Response): boolean {
  if (isEventStream(res) || (req.headers.accept ?? '').includes('text/event-stream')) return false
  if (req.headers['trpc-accept'] === 'application/jsonl' || String(res.getHeader('content-type') ?? '').includes('jsonl')) return false
  return compression.filter(req, res)
}

function jsonError(res: Response, status: number, message: string): void {
  res.status(status).type('application/json').send(JSON.stringify({ error: { message } }))
}

/** Refuses POSTs to /trpc that are not JSON or lack the custom header, before any resolver runs. */
function csrfGuard(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST') return next()
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json') return jsonError(res, 415, 'Mutations must be sent as application/json')
  if (req.headers[CSRF_HEADER] !== '1') return jsonError(res, 403, `Missing ${CSRF_HEADER} header`)
  next()
}

/**
 * Builds the Express app: at `/`, or — with `options.basePath` — an app that serves the dashboard under that path,
 * redirects the bare base (`/ops/fusebox` → `/ops/fusebox/`) and answers every other path with a JSON 404.
 * @throws Error when `options.basePath` is invalid (`normalizeBasePath`)
 */
export function createHttpApp(deps: AppDeps, options: HttpOptions): express.Express {
  const basePath = normalizeBasePath(options.basePath ?? '')
  const app = createDashboardApp(deps, options)
  if (basePath === '') return app
  const outer = express()
  outer.disable('x-powered-by')
  outer.set('trust proxy', options.trustProxy ?? false)
  // closeLiveStreams(outer) ends the mounted app's streams.
  openResponses.set(outer, openResponses.get(app)!)
  appMetrics.set(outer, appMetrics.get(app)!) // and closeMetrics(outer) its metrics
  outer.use(basePath, app)
  outer.use((_req, res) => {
    res.set('Cache-Control', 'no-store')
    jsonError(res, 404, 'Not found')
  })
  return outer
}

/** The dashboard app itself; served at whatever path it is mounted at (`req.baseUrl`, '' at the root). */
function createDashboardApp(deps: AppDeps, options: HttpOptions): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', 'strong')
  app.set('trust proxy', options.trustProxy ?? false)

  const open = new Set<Response>()
  openResponses.set(app, open)
  app.use((_req, res, next) => {
    open.add(res)
    res.once('close', () => open.delete(res))
    if (streamsClosed.has(open)) endIfEventStream(res)
    next()
  })
  // The bare base of a mounted app (`/ops/fusebox`) → `/ops/fusebox/`: relative URLs, the router and the service
  // worker's scope (`/ops/fusebox/`, which `/ops/fusebox` is outside of) all need the trailing slash.
  app.use((req, res, next) => {
    if (req.baseUrl === '' || req.path !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return next()
    const [pathname = '', query] = req.originalUrl.split(/\?(.*)/s, 2)
    if (pathname.endsWith('/')) return next()
    res.set('Cache-Control', 'no-store').redirect(308, `${req.baseUrl}/${query === undefined ? '' : `?${query}`}`)
  })
  const metrics = createMetrics(deps.redis, deps.keys, options.metricsToken, options.metricsFleet === undefined ? {} : { fleet: options.metricsFleet })
  appMetrics.set(app, metrics)
  app.use(metrics.middleware)
  app.use(
    compression({
      filter: shouldCompress,
      // Brotli quality 1 and gzip level 1 for per-request JSON: a 250 KB overview-like body compresses in ~0.8 ms at
      // quality 1 against ~2.9 ms at quality 4 (compression's default) and ~4.8 ms for gzip level 6, to about the same
      // size (77.6 KB vs 77.4 KB; gzip 1: 86 KB vs 76 KB). At 500 overview calls a second that decides whether the
      // server fits in its cores (docs/BENCHMARKS.md, topic overviewLoad).
      brotli: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1, [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT } },
      level: 1,
    }),
  )
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          // React sets style properties through the DOM (allowed); recharts/tooltips add style attributes.
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'worker-src': ["'self'"],
          'manifest-src': ["'self'"],
          'font-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'self'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
        },
      },
      // Set per request below: the forwarded protocol decides when a trusted proxy terminates TLS.
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'no-referrer' },
      // Same as frame-ancestors 'none', for browsers that predate CSP 2.
      xFrameOptions: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    }),
  )

  // HSTS whenever this request is served over TLS: a public https URL, a TLS socket, or a trusted proxy's
  // `X-Forwarded-Proto: https` (Express `req.secure`). Browsers ignore it over plain HTTP anyway (RFC 6797 §8.1).
  app.use((req, res, next) => {
    if (deps.tls || req.secure) res.setHeader('Strict-Transport-Security', HSTS_VALUE)
    next()
  })
  // Forwarding headers from a hop `trust proxy` does not trust are ignored; say so once, it is usually a missing
  // FUSEBOX_TRUST_PROXY behind a proxy (then rate limits see the proxy's address and cookies miss Secure).
  const warn = options.warn ?? ((m: string) => console.warn(m))
  let warnedUntrustedProxy = false
  app.use((req, _res, next) => {
    if (!warnedUntrustedProxy && FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined)) {
      const trust = app.get('trust proxy fn') as (addr: string, i: number) => boolean
      const from = req.socket.remoteAddress ?? ''
      if (!trust(from, 0)) {
        warnedUntrustedProxy = true
        warn(
          `[fusebox] a request from ${from} carried forwarding headers (${FORWARDING_HEADERS.filter((h) => req.headers[h] !== undefined).join(', ')}) ` +
            'that are ignored: if Fusebox runs behind a reverse proxy, set FUSEBOX_TRUST_PROXY to its address or hop count (see .env.example)',
        )
      }
    }
    next()
  })

  app.get('/healthz', (_req, res) => {
    setHttpRoute(res, HTTP_ROUTES.healthz)
    const answer = (ok: boolean, extra: Record<string, unknown> = {}) =>
      res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'degraded', redis: deps.redis.status, ...extra })
    if (deps.redis.status !== 'ready' || !isCluster(deps.redis)) return answer(deps.redis.status === 'ready')
    void checkCluster(deps.redis).then((cluster) => answer(cluster.state === 'ok' && cluster.masters > 0 && cluster.failing === 0, { cluster }))
  })

  // The audit log as JSON lines for a signed-in session (server/app/auditExport.ts).
  app.get('/api/audit.jsonl', auditExportHandler(deps))

  // Behind a proxy or at a public URL, "loopback" says nothing about who scrapes: only the bearer token counts.
  const metricsNeedToken = options.publicUrl !== undefined || (options.trustProxy ?? false) !== false
  const metricsTokenSet = (options.metricsToken ?? '').length > 0
  app.get(
    '/metrics',
    (_req, res, next) => {
      if (metricsNeedToken && !metricsTokenSet) {
        setHttpRoute(res, HTTP_ROUTES.metrics)
        res.status(403).set('Cache-Control', 'no-store').type('text/plain')
        res.send('With FUSEBOX_PUBLIC_URL or FUSEBOX_TRUST_PROXY set, /metrics needs FUSEBOX_METRICS_TOKEN (Authorization: Bearer)\n')
        return
      }
      next()
    },
    metrics.handler,
  )

  const services: AppServices = {
    limits: createRateLimits(deps.redis, deps.keys, options.rateLimits),
    streams: new StreamGuard(options.liveStreams),
  }
  app.use(
    '/trpc',
    (_req, res, next) => {
      setHttpRoute(res, HTTP_ROUTES.trpc)
      res.set('Cache-Control', 'no-store')
      next()
    },
    csrfGuard,
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createContext(deps, req, res, services),
      maxBodySize: MAX_BODY_BYTES,
      maxBatchSize: MAX_BATCH_SIZE,
    }),
  )

  const dir = resolve(options.staticDir)
  const index = resolve(dir, 'index.html')
  const assetsPrefix = resolve(dir, 'assets') + '/'
  /**
   * The app shell with `<base href="<req.baseUrl>/">` (basePath.ts `withBaseHref`): read per request (about 1 KB; a
   * new build on disk is served at once, as express.static does), strong ETag over the rewritten bytes.
   */
  const sendShell = async (req: Request, res: Response): Promise<void> => {
    setHttpRoute(res, HTTP_ROUTES.shell)
    let html: string
    try {
      html = await readFile(index, 'utf8')
    } catch {
      return jsonError(res, 503, 'Dashboard not built: run `npm run build`')
    }
    res.set('Cache-Control', 'no-cache').type('html').send(withBaseHref(html, req.baseUrl))
  }
  // index.html itself (the service worker precaches it by that name) gets the base too, never the file as built.
  app.get('/index.html', (req, res, next) => void sendShell(req, res).catch(next))
  app.use(
    express.static(dir, {
      index: false,
      setHeaders(res, path) {
        if (path.startsWith(assetsPrefix)) {
          setHttpRoute(res, HTTP_ROUTES.assets)
          res.set('Cache-Control', 'public, max-age=31536000, immutable')
        } else {
          if (path === index) setHttpRoute(res, HTTP_ROUTES.shell)
          res.set('Cache-Control', 'no-cache')
        }
      },
    }),
  )
  // SPA fallback: any other GET for a page (not an API or a file) gets the app shell. Paths here are relative to
  // where the app is mounted (Express strips `req.baseUrl`), so this holds under any base.
  app.get(/^\/(?!trpc|healthz|metrics|assets\/)[^.]*$/, (req, res, next) => void sendShell(req, res).catch(next))
  app.use((_req, res) => jsonError(res, 404, 'Not found'))
  // Last-resort error handler: never a stack trace to the client.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500
    if (status >= 500) console.error('[fusebox] http error:', err)
    jsonError(res, status, status >= 500 ? 'Internal error' : 'Bad request')
  })
  return app
}
