/**
 * tRPC set-up: request context, the error formatter (no stacks, no hosts; internal errors get an id that is
 * logged server-side) and the three procedure levels — public, viewer (any session), operator.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { initTRPC, TRPCError } from '@trpc/server'
import { parse as parseCookie } from 'cookie'
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import type { Clock } from '../../shared/timeBuckets'
import { SESSION_COOKIE, type Auth, type Session } from './auth'
import type { LiveHub } from './liveHub'
import { observeProcedure } from './metrics'
import { asRedisUnavailable } from './redisUnavailable'

/** Everything a procedure may use. `secure` is true when the request came over TLS. */
export interface Context {
  req: IncomingMessage
  res: ServerResponse
  redis: Redis
  keys: KeySpace
  auth: Auth
  hub: LiveHub
  session: Session | null
  secure: boolean
  /** The read path's clock, epoch ms (`AppDeps.clock`). */
  now: Clock
}

/**
 * Dependencies shared by every request, built once where the app is built (server/app/main.ts, the test server):
 * `tls` — served over TLS (directly or behind an https proxy); `hub` — the live fan-out, which its builder closes
 * on shutdown.
 */
export interface AppDeps {
  redis: Redis
  keys: KeySpace
  auth: Auth
  tls: boolean
  hub: LiveHub
  /** Epoch ms for every read and command (default `Date.now`); tests drive simulated time through it. */
  clock?: Clock
}

/**
 * Builds the context of one request: resolves the session cookie against Redis.
 * @throws TRPCError SERVICE_UNAVAILABLE when Redis cannot be reached (see redisUnavailable.ts)
 */
export async function createContext(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<Context> {
  const cookies = parseCookie(req.headers.cookie ?? '')
  const session = await deps.auth.getSession(cookies[SESSION_COOKIE]).catch((err: unknown) => {
    throw asRedisUnavailable(err)
  })
  const secure = deps.tls || (req.socket as { encrypted?: boolean }).encrypted === true
  return { req, res, redis: deps.redis, keys: deps.keys, auth: deps.auth, hub: deps.hub, session, secure, now: deps.clock ?? Date.now }
}

const t = initTRPC.context<Context>().create({
  sse: {
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 20_000 },
  },
  errorFormatter({ shape, error }) {
    const data = { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path }
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      // Never leak the cause (it may name Redis' address); log it with an id the operator can quote.
      const errorId = randomUUID()
      console.error(`[fusebox] internal error ${errorId} on ${shape.data.path ?? '?'}:`, error.cause ?? error)
      return { ...shape, message: `Internal error (id ${errorId})`, data: { ...data, errorId } }
    }
    return { ...shape, data }
  },
})

/** Router and middleware builders. */
export const router = t.router
export const createCallerFactory = t.createCallerFactory

/** Times every query and mutation (401s and 403s included) for `/metrics`; subscriptions are long-lived, not timed. */
const timed = t.middleware(async ({ path, type, next }) => {
  const start = performance.now()
  const result = await next()
  if (type !== 'subscription') observeProcedure(path, (performance.now() - start) / 1000, result.ok)
  return result
})

/** A query or mutation that failed because Redis is unavailable answers 503 with a plain message, not a 500. */
const redisUnavailable = t.middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok) {
    const mapped = asRedisUnavailable(result.error)
    if (mapped !== result.error) throw mapped
  }
  return result
})

/** No session needed (login only). */
export const publicProcedure = t.procedure.use(timed).use(redisUnavailable)

/** Any logged-in session (viewer or operator). 401 without one. */
export const viewerProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' })
  return next({ ctx: { ...ctx, session: ctx.session } })
})

/** Operator sessions only. 401 without a session, 403 for a viewer. */
export const operatorProcedure = viewerProcedure.use(({ ctx, next }) => {
  if (ctx.session.role !== 'operator') throw new TRPCError({ code: 'FORBIDDEN', message: 'Operator role required' })
  return next()
})
