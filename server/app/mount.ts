/**
 * Mount adapters (docs/decisions/025): the whole dashboard — tRPC, live SSE, the PWA's assets, manifest and service
 * worker — served under a path of the host application's own server, as Bull Board's
 * `app.use('/admin/queues', adapter.getRouter())`:
 *
 * - `fuseboxExpress(options)` → a request handler for `app.use('/ops/fusebox', handler)` in an Express 4 or 5 app
 *   (Express strips the mount path and sets `req.baseUrl`, which the dashboard reads);
 * - `fuseboxFastify` → a Fastify plugin for `fastify.register(fuseboxFastify, { prefix: '/ops/fusebox', ...options })`:
 *   its routes take over the raw request (`reply.hijack()`) and hand it to the same Express app with the prefix
 *   stripped from `req.url` and `req.baseUrl` set, bodies unread (the dashboard's tRPC reads and bounds them itself)
 *   and SSE streamed straight to the socket.
 *
 * Both accept every `createDashboard` option; `authenticate` receives the host framework's own request (the Express
 * request with what the host's middleware put on it, or the `FastifyRequest`). Neither imports Express or Fastify
 * at run time.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'
import { createDashboard, type Authenticate, type Dashboard, type DashboardOptions, type RequestHandler } from './dashboard'

/** Options of `fuseboxExpress`: `createDashboard`'s, with `authenticate` given the host's Express request. */
export interface FuseboxExpressOptions<Req extends IncomingMessage = ExpressRequestLike> extends Omit<DashboardOptions, 'authenticate'> {
  /** The host's sign-in (see `Authenticate`), called with the host's Express request (`req.user`, `req.session`, …). */
  authenticate?: Authenticate<Req>
}

/**
 * What an Express request looks like to `authenticate` without @types/express: a Node request with whatever the
 * host's middleware added. Annotate the hook's parameter (`(req: express.Request) => …`) for the real type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the host's middleware decides what a request carries
export type ExpressRequestLike = IncomingMessage & Record<string, any>

/** The Express handler: mount it, and call `close()` when the host app stops. */
export interface FuseboxExpressHandler extends RequestHandler {
  /** The dashboard behind the handler (its Redis client, login links, …). */
  readonly dashboard: Dashboard
  /** Ends live streams, stops the janitor and closes the Redis client the dashboard opened (`Dashboard.close`). */
  close(): Promise<void>
}

/**
 * The dashboard as an Express request handler, for `app.use('/ops/fusebox', fuseboxExpress({ redis, authenticate }))`
 * in an Express 4 or 5 application (ESM or CommonJS). It answers every request under the mount path itself.
 * @throws Error at set-up for invalid options (`createDashboard`)
 */
export function fuseboxExpress<Req extends IncomingMessage = ExpressRequestLike>(options: FuseboxExpressOptions<Req>): FuseboxExpressHandler {
  const dashboard = createDashboard(options as DashboardOptions)
  // The dashboard's app redirects the bare mount point (`/ops/fusebox` → `/ops/fusebox/`) and serves the rest.
  const handler: RequestHandler = (req, res, next) => dashboard.app(req, res, next)
  return Object.assign(handler, { dashboard, close: () => dashboard.close() })
}

/** Options of the `fuseboxFastify` plugin: `createDashboard`'s, with `authenticate` given the `FastifyRequest`. */
export interface FuseboxFastifyOptions extends Omit<DashboardOptions, 'authenticate'> {
  /** The host's sign-in (see `Authenticate`), called with the Fastify request (after the host's own hooks ran). */
  authenticate?: Authenticate<FastifyRequest>
}

/** Options Fastify's `register` itself takes; the plugin receives them too and leaves them out of the dashboard's. */
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers', 'childLoggerFactory'] as const

/** Methods the dashboard answers (anything else gets its 404 through the same routes' absence: Fastify's 404). */
const METHODS = ['GET', 'HEAD', 'POST'] as const

/**
 * The dashboard as a Fastify plugin (Fastify 5): `fastify.register(fuseboxFastify, { prefix: '/ops/fusebox', redis,
 * authenticate })`. Encapsulated, so its catch-all body parser (which leaves bodies unread for the dashboard) and
 * routes stay inside the prefix. On `fastify.close()` live streams end first (`preClose`, and any that starts later is
 * ended as it starts), then the dashboard closes (`onClose`). Its other requests in flight are answered in full; their
 * keep-alive connections then close at once instead of holding `close()` until Fastify's `keepAliveTimeout` (72 s).
 * Invalid options fail `register` (so `ready()`/`listen()` reject) with the list of problems.
 */
export const fuseboxFastify: FastifyPluginCallback<FuseboxFastifyOptions> = (fastify, opts, done) => {
  const { authenticate, ...rest } = opts
  const options: Record<string, unknown> = { ...rest }
  for (const key of REGISTER_OPTIONS) delete options[key]
  // The Fastify request of each raw request, for `authenticate` (the dashboard itself sees only the raw one).
  const requests = new WeakMap<IncomingMessage, FastifyRequest>()
  let dashboard: Dashboard
  try {
    dashboard = createDashboard({
      ...(options as Omit<DashboardOptions, 'authenticate'>),
      ...(authenticate
        ? {
            authenticate: (raw: IncomingMessage) => {
              const request = requests.get(raw)
              if (!request) throw new Error('fusebox-dashboard: no Fastify request for this request')
              return authenticate(request)
            },
          }
        : {}),
    })
  } catch (e) {
    done(e as Error)
    return
  }
  const base = fastify.prefix.replace(/\/+$/, '')
  // tRPC reads (and bounds, 1 MiB) the body itself: Fastify must not consume it first.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null))
  // Node's `server.close()` (which `fastify.close()` calls after `preClose`) closes the connections idle at that
  // moment, once. A keep-alive connection whose answer was still being written then stays open after it finishes,
  // until its client drops it or `keepAliveTimeout` runs out (Fastify: 72 s; Node's fetch keeps it for the server's
  // `Keep-Alive: timeout=72` hint, about 71 s), and `close()` waits for it. So, for the dashboard's (hijacked) answers: once closing, one not yet
  // started says `Connection: close` (Node then ends the connection after it), and each one that finishes closes the
  // connections idle by then (`closeIdleConnections`: never one with an answer in flight, so nothing of the host's is
  // cut; the host's own idle ones were due to close anyway).
  const inFlight = new Set<ServerResponse>()
  let closing = false
  const server = fastify.server as Partial<Pick<Server, 'closeIdleConnections'>>
  const endKeepAlive = (res: ServerResponse): void => {
    if (!res.headersSent && res.req.httpVersionMajor < 2) res.setHeader('Connection', 'close')
  }
  const handle = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack()
    const raw = request.raw
    const res = reply.raw
    inFlight.add(res)
    res.once('close', () => inFlight.delete(res))
    res.once('finish', () => {
      // After Node's own 'finish' handling has released the connection (it is idle only from then on).
      if (closing && typeof server.closeIdleConnections === 'function') setImmediate(() => server.closeIdleConnections?.())
    })
    if (closing) endKeepAlive(res) // reached only with Fastify's return503OnClosing off
    const originalUrl = raw.url ?? '/'
    requests.set(raw, request)
    let url = originalUrl.startsWith(base) ? originalUrl.slice(base.length) : originalUrl
    if (!url.startsWith('/')) url = `/${url}`
    // As Express would for a mounted app: the dashboard reads its base from `baseUrl` (`<base href>`, the redirect
    // of the bare prefix to `prefix/`).
    Object.assign(raw, { originalUrl, baseUrl: base, url })
    dashboard.app(raw, reply.raw, (err?: unknown) => {
      // The dashboard answers every request itself; this runs only if it did not.
      if (reply.raw.headersSent) return void reply.raw.end()
      reply.raw.statusCode = err ? 500 : 404
      reply.raw.setHeader('Content-Type', 'application/json')
      reply.raw.end(JSON.stringify({ error: { message: err ? 'Internal error' : 'Not found' } }))
    })
  }
  fastify.route({ method: [...METHODS], url: '/', exposeHeadRoute: false, handler: handle })
  fastify.route({ method: [...METHODS], url: '/*', exposeHeadRoute: false, handler: handle })
  fastify.addHook('preClose', (next) => {
    closing = true
    dashboard.endLiveStreams()
    for (const res of inFlight) endKeepAlive(res)
    next()
  })
  fastify.addHook('onClose', (_instance, next) => {
    dashboard.close().then(() => next(), next)
  })
  done()
}
