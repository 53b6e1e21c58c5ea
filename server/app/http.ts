/**
 * The HTTP surface: request metrics, compression (brotli/gzip, never SSE), security headers (helmet), the CSRF guard
 * and rate limits for mutations, tRPC at /trpc, /healthz, /metrics, and the built dashboard with caching headers
 * (hashed assets immutable; index.html, sw.js and the manifest no-cache).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { constants as zlibConstants } from 'node:zlib'
import { createExpressMiddleware } from '@trpc/server/adapters/express'
import compression from 'compression'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { createMetrics, HTTP_ROUTES, isEventStream, setHttpRoute } from './metrics'
import { createRateLimits, type RateLimitRule } from './rateLimits'
import { appRouter } from './router'
import { createContext, type AppDeps } from './trpc'

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
   * FUSEBOX_TRUST_PROXY → Express `trust proxy`: which hops may set X-Forwarded-For (a hop count, or addresses /
   * subnets / `loopback` etc.). Default `false`: the client is the socket address, X-Forwarded-For is ignored.
   * `req.ip` keys the rate limits and the /metrics loopback check. Never `true` (anyone could pick their own IP).
   */
  trustProxy?: false | number | string
  /** Override the login / command rate limits (tests). */
  rateLimits?: { login?: RateLimitRule; commands?: RateLimitRule }
}

/** Open requests per app, so shutdown can end SSE streams (see `closeLiveStreams`). */
const openResponses = new WeakMap<express.Express, Set<Response>>()

/**
 * Ends every open Server-Sent Events stream of `app` (tRPC subscriptions see their `signal` abort; browsers'
 * EventSource reconnects, to another server once this one stopped listening). Other requests are left to finish.
 * @returns how many streams were ended
 */
export function closeLiveStreams(app: express.Express): number {
  let n = 0
  for (const res of openResponses.get(app) ?? []) {
    if (isEventStream(res)) {
      res.destroy()
      n++
    }
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

/** Builds the Express app. */
export function createHttpApp(deps: AppDeps, options: HttpOptions): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', 'strong')
  app.set('trust proxy', options.trustProxy ?? false)

  const open = new Set<Response>()
  openResponses.set(app, open)
  app.use((_req, res, next) => {
    open.add(res)
    res.once('close', () => open.delete(res))
    next()
  })
  const metrics = createMetrics(deps.redis, deps.keys, options.metricsToken)
  app.use(metrics.middleware)
  app.use(
    compression({
      filter: shouldCompress,
      // Brotli quality 4: close to gzip's speed with smaller output, fine for per-request JSON.
      brotli: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4, [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT } },
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
      strictTransportSecurity: deps.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'no-referrer' },
      // Same as frame-ancestors 'none', for browsers that predate CSP 2.
      xFrameOptions: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    }),
  )

  app.get('/healthz', (_req, res) => {
    setHttpRoute(res, HTTP_ROUTES.healthz)
    const ok = deps.redis.status === 'ready'
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'degraded', redis: deps.redis.status })
  })

  app.get('/metrics', metrics.handler)

  const limits = createRateLimits(deps.redis, deps.keys, options.rateLimits)
  app.use(
    '/trpc',
    (_req, res, next) => {
      setHttpRoute(res, HTTP_ROUTES.trpc)
      res.set('Cache-Control', 'no-store')
      next()
    },
    csrfGuard,
    limits.login,
    limits.commands,
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createContext(deps, req, res),
      maxBodySize: MAX_BODY_BYTES,
      maxBatchSize: MAX_BATCH_SIZE,
    }),
  )

  const dir = resolve(options.staticDir)
  const index = resolve(dir, 'index.html')
  const assetsPrefix = resolve(dir, 'assets') + '/'
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
  // SPA fallback: any other GET for a page (not an API or a file) gets the app shell.
  app.get(/^\/(?!trpc|healthz|metrics|assets\/)[^.]*$/, (_req, res) => {
    setHttpRoute(res, HTTP_ROUTES.shell)
    if (!existsSync(index)) return jsonError(res, 503, 'Dashboard not built: run `npm run build`')
    res.set('Cache-Control', 'no-cache').sendFile(index)
  })
  app.use((_req, res) => jsonError(res, 404, 'Not found'))
  // Last-resort error handler: never a stack trace to the client.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500
    if (status >= 500) console.error('[fusebox] http error:', err)
    jsonError(res, status, status >= 500 ? 'Internal error' : 'Bad request')
  })
  return app
}
