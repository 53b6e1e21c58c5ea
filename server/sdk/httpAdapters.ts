/**
 * HTTP adapters: turn a host's HTTP framework into `recordRequest` calls — a node:http / Express middleware, a
 * Fastify plugin and an Express error handler — with the route *template* as the route, never a raw URL.
 * Structural types only: the SDK depends on neither Express nor Fastify. Like every part of the collector, an
 * adapter never throws into the host's request path (failures go to `reportError`).
 */
import { performance } from 'node:perf_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ExpressRoutes } from './expressRoutes'
import { UNMATCHED_ROUTE, type FinishedRequest } from './requestMetrics'

/** Options of the HTTP middleware. */
export interface HttpMiddlewareOptions {
  /**
   * Route template of a request (e.g. `/products/:id`), for plain node:http servers. Express routes are detected
   * from `req.route` and the app's routing tree automatically, nested routers' mount templates included; this is
   * asked when Express matched no route or its mount templates cannot be known. Unknown routes are recorded as
   * `(unmatched)`, never as raw URLs.
   */
  routeTemplate?: (req: IncomingMessage) => string | undefined
}

/** The parts of a Fastify 4/5 instance the plugin uses (structural, so the SDK does not depend on Fastify). */
export interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown
  addHook(name: 'onError', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, error: unknown, done: () => void) => void): unknown
}
/** Request fields read: method and the matched route template (`routeOptions.url`, Fastify ≥ 4.10). */
export interface FastifyRequestLike {
  method: string
  routeOptions?: { url?: string }
}
/** Reply fields read: status and Fastify's own measured duration (ms). */
export interface FastifyReplyLike {
  statusCode: number
  elapsedTime: number
}
/** A Fastify plugin function, marked to skip encapsulation so its hooks see every route of the app. */
export type FastifyPluginLike = ((instance: FastifyLike, options: unknown, done: (err?: Error) => void) => void) & {
  [key: symbol]: unknown
}

/** A node:http / Express-compatible middleware: `(req, res, next?) => void`. */
export type HttpMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

/** An Express error middleware: `(err, req, res, next) => void`; passes `err` on unchanged. */
export type ExpressErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void

/** What the collector hands the adapters. */
export interface HttpAdaptersDeps {
  /** Records one finished request; never throws (the collector's `recordRequest`). */
  recordRequest: (r: FinishedRequest) => void
  /** Receives an adapter's own failure with where it happened (`httpMiddleware`, `fastifyPlugin`). */
  reportError: (error: unknown, where: string) => void
}

/** `res.locals` key where `expressErrorHandler` leaves the error class for the middleware. */
const ERROR_TYPE_LOCAL = 'fusebox.error.type'

/** OpenTelemetry `error.type` of a thrown value: its string `code` (`ECONNRESET`), else its class name, else `Error`. */
function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error'
}

/** The resolver `routeOf` uses when none is handed (its cache is weak: nothing is kept for discarded apps). */
/**
 * OpenTelemetry `url.scheme` of a request: Express's `req.protocol` when present (it follows the app's `trust proxy`
 * setting for `X-Forwarded-Proto`), else `https` on a TLS socket, else `http`.
 */
function schemeOf(req: IncomingMessage): 'http' | 'https' {
  const protocol = (req as IncomingMessage & { protocol?: unknown }).protocol
  if (protocol === 'https' || protocol === 'http') return protocol
  return (req.socket as { encrypted?: unknown } | undefined)?.encrypted === true ? 'https' : 'http'
}

const DEFAULT_ROUTES = new ExpressRoutes()

/**
 * Route template of a node:http / Express request: Express's matched route with its mount templates
 * (expressRoutes.ts), else `routeTemplate`, else `(unmatched)` — also when Express matched a route whose mount
 * templates cannot be known (a raw path segment never becomes a label). `baseAtRoute`: the base URL noted while
 * the request was routed (`ExpressRoutes.watch`); default `req.baseUrl`. Length and characters are checked later,
 * by `checkedRequest`.
 */
export function routeOf(req: IncomingMessage, options: HttpMiddlewareOptions, routes: ExpressRoutes = DEFAULT_ROUTES, baseAtRoute?: string): string {
  const express = routes.templateOf(req, baseAtRoute)
  if (typeof express === 'string') return express
  if (options.routeTemplate) {
    const t = options.routeTemplate(req)
    if (typeof t === 'string' && t.length > 0) return t
  }
  return UNMATCHED_ROUTE
}

/** See the module comment. One per collector; every adapter it makes records into that collector. */
export class HttpAdapters {
  /** Mount-template resolver for Express requests (caches per route, weakly). */
  private readonly routes = new ExpressRoutes()

  constructor(private readonly deps: HttpAdaptersDeps) {}

  /** Middleware for node:http and Express: records method, route template, status and duration (ms) on finish. */
  httpMiddleware(options: HttpMiddlewareOptions = {}): HttpMiddleware {
    const { recordRequest, reportError } = this.deps
    const routes = this.routes
    return (req, res, next) => {
      const startMs = performance.now()
      let baseAtRoute: () => string | undefined = () => undefined
      try {
        baseAtRoute = routes.watch(req)
      } catch (e) {
        reportError(e, 'httpMiddleware')
      }
      let recorded = false
      const onEnd = () => {
        if (recorded) return
        recorded = true
        try {
          const durationMs = performance.now() - startMs
          // A response closed before it finished was aborted by the client: 499 (nginx's convention), not an error.
          const status = res.writableFinished ? res.statusCode : 499
          const errorType = (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.[ERROR_TYPE_LOCAL]
          recordRequest({
            method: req.method ?? '',
            route: routeOf(req, options, routes, baseAtRoute()),
            status,
            durationMs,
            urlScheme: schemeOf(req),
            ...(typeof errorType === 'string' ? { error: true, errorType } : {}),
          })
        } catch (e) {
          reportError(e, 'httpMiddleware')
        }
      }
      res.once('finish', onEnd)
      res.once('close', onEnd)
      if (next) next()
    }
  }

  /**
   * Fastify plugin: records every response with Fastify's route template (`/users/:id`), method, status and
   * `reply.elapsedTime` (ms); errors thrown by handlers are recorded with their class as `error.type`. Unmatched
   * routes are recorded as `(unmatched)`.
   */
  fastifyPlugin(): FastifyPluginLike {
    const { recordRequest, reportError } = this.deps
    const errorTypes = new WeakMap<object, string>()
    const plugin = (instance: FastifyLike, _options: unknown, done: (err?: Error) => void): void => {
      instance.addHook('onError', (request, _reply, error, next) => {
        errorTypes.set(request, errorTypeOf(error))
        next()
      })
      instance.addHook('onResponse', (request, reply, next) => {
        try {
          const errorType = errorTypes.get(request)
          recordRequest({
            method: request.method,
            route: request.routeOptions?.url || UNMATCHED_ROUTE,
            status: reply.statusCode,
            durationMs: reply.elapsedTime,
            urlScheme: (request as { protocol?: unknown }).protocol === 'https' ? 'https' : 'http',
            ...(errorType === undefined ? {} : { error: true, errorType }),
          })
        } catch (e) {
          reportError(e, 'fastifyPlugin')
        }
        next()
      })
      done()
    }
    // What fastify-plugin does: hooks registered here apply to the whole app, not an encapsulated child context.
    return Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'fusebox' })
  }

  /**
   * Express error middleware: notes the error's class (OpenTelemetry `error.type`) for the request log, then
   * passes the error on unchanged. Mount it before your own error handler.
   */
  expressErrorHandler(): ExpressErrorHandler {
    return (err, _req, res, next) => {
      const locals = (res as ServerResponse & { locals?: Record<string, unknown> }).locals
      if (locals) locals[ERROR_TYPE_LOCAL] = errorTypeOf(err)
      next(err)
    }
  }
}
