/**
 * The HTTP surface: security headers (helmet), the CSRF guard for mutations, tRPC at /trpc, /healthz, and the
 * built dashboard with caching headers (hashed assets immutable; index.html, sw.js and the manifest no-cache).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createExpressMiddleware } from '@trpc/server/adapters/express'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import { appRouter } from './router'
import { createContext, type AppDeps } from './trpc'

/** Header every mutation must carry; a cross-site HTML form cannot set it (no CSRF by form). */
export const CSRF_HEADER = 'x-fusebox-csrf'
/** Largest accepted request body, bytes (issue #4: ≤ 1 MiB). */
export const MAX_BODY_BYTES = 1024 * 1024
/** Most calls accepted in one tRPC batch. */
export const MAX_BATCH_SIZE = 10

/** Options of the HTTP app. */
export interface HttpOptions {
  /** Folder of the built dashboard (vite build output). */
  staticDir: string
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
      crossOriginEmbedderPolicy: false,
    }),
  )

  app.get('/healthz', (_req, res) => {
    const ok = deps.redis.status === 'ready'
    res.status(ok ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ok ? 'ok' : 'degraded', redis: deps.redis.status })
  })

  app.use(
    '/trpc',
    csrfGuard,
    (_req, res, next) => {
      res.set('Cache-Control', 'no-store')
      next()
    },
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req, res }) => createContext(deps, req, res),
      maxBodySize: MAX_BODY_BYTES,
      maxBatchSize: MAX_BATCH_SIZE,
    }),
  )

  const dir = resolve(options.staticDir)
  const index = resolve(dir, 'index.html')
  app.use(
    express.static(dir, {
      index: false,
      setHeaders(res, path) {
        if (path.includes('/assets/')) res.set('Cache-Control', 'public, max-age=31536000, immutable')
        else res.set('Cache-Control', 'no-cache')
      },
    }),
  )
  // SPA fallback: any other GET for a page (not an API or a file) gets the app shell.
  app.get(/^\/(?!trpc|healthz|metrics|assets\/)[^.]*$/, (_req, res) => {
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
