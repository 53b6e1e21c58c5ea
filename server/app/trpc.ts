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
import { sessionCookieName, type Auth, type Session } from './auth'
import type { AuditRetention } from './audit'
import type { LiveHub } from './liveHub'
import { createOverviewReader, type OverviewReader } from './readModel'
import { observeProcedure } from './metrics'
import { clientKey, type RateLimits } from './rateLimits'
import { asRedisUnavailable } from './redisUnavailable'
import type { StreamGuard } from './streamGuard'

/**
 * Everything a procedure may use. `secure` is true when the request came over TLS: `AppDeps.tls`, a TLS socket, or
 * `X-Forwarded-Proto: https` from a proxy that FUSEBOX_TRUST_PROXY trusts (Express `req.secure`).
 */
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
  /** Rate-limit key of the client address (`req.ip`, see rateLimits.ts); absent in direct callers (tests). */
  clientAddress?: string
  /** Login and command limiters (absent: not limited, e.g. `createCaller` in tests). */
  limits?: RateLimits
  /** Live-stream guard (absent: streams are neither re-checked nor capped, e.g. `createCaller` in tests). */
  streams?: StreamGuard
  /** How the audit is bounded (`AppDeps.auditRetention`; absent: 90 days, `STREAM_CAPS.audit`). */
  auditRetention?: AuditRetention
  /** The app's shared overview reader (readModel.ts `createOverviewReader`; absent in direct callers: unshared). */
  readOverview?: OverviewReader
}

/** Per-app parts of the context that createHttpApp builds once (limiters, stream guard). */
export interface AppServices {
  limits: RateLimits
  streams: StreamGuard
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
  /** Audit bounds: FUSEBOX_AUDIT_RETENTION_DAYS and `STREAM_CAPS.audit` (default 90 days; server/app/audit.ts). */
  auditRetention?: AuditRetention
  /**
   * How old a shared `overview.get` answer may be, in ms (readModel.ts `createOverviewReader`; default
   * OVERVIEW_MAX_AGE_MS = 1000; 0: only concurrent calls share one computation, as tests that write then read need).
   */
  overviewMaxAgeMs?: number
}

/** One shared overview reader per app (its deps object), made on first use. */
const overviewReaders = new WeakMap<AppDeps, OverviewReader>()

function overviewReaderOf(deps: AppDeps): OverviewReader {
  let reader = overviewReaders.get(deps)
  if (!reader) {
    reader = createOverviewReader(deps.redis, deps.keys, deps.overviewMaxAgeMs)
    overviewReaders.set(deps, reader)
  }
  return reader
}

/**
 * Builds the context of one request: resolves the session cookie against Redis.
 * @throws TRPCError SERVICE_UNAVAILABLE when Redis cannot be reached (see redisUnavailable.ts)
 */
export async function createContext(deps: AppDeps, req: IncomingMessage, res: ServerResponse, services?: AppServices): Promise<Context> {
  const express = req as IncomingMessage & { secure?: boolean; ip?: string }
  const secure = deps.tls || express.secure === true || (req.socket as { encrypted?: boolean }).encrypted === true
  // Over TLS only the `__Host-` cookie counts: a plain-named one may have been planted by a sibling subdomain.
  const cookies = parseCookie(req.headers.cookie ?? '')
  const session = await deps.auth.getSession(cookies[sessionCookieName(secure)]).catch((err: unknown) => {
    throw asRedisUnavailable(err)
  })
  return {
    req,
    res,
    redis: deps.redis,
    keys: deps.keys,
    auth: deps.auth,
    hub: deps.hub,
    session,
    secure,
    now: deps.clock ?? Date.now,
    clientAddress: clientKey(express.ip ?? req.socket.remoteAddress),
    limits: services?.limits,
    streams: services?.streams,
    auditRetention: deps.auditRetention,
    readOverview: overviewReaderOf(deps),
  }
}

/** Sets `Retry-After` and throws the tRPC 429. */
export function tooManyRequests(ctx: Pick<Context, 'res'>, retryAfterS: number, message: string): never {
  if (!ctx.res.headersSent) ctx.res.setHeader('Retry-After', String(retryAfterS))
  throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message })
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

/**
 * Operator sessions only. 401 without a session, 403 for a viewer; then every mutation (a command) counts against
 * the token's command budget (rateLimits.ts: 30 per minute) — after authentication, so nobody else spends it.
 */
export const operatorProcedure = viewerProcedure.use(async ({ ctx, type, next }) => {
  if (ctx.session.role !== 'operator') throw new TRPCError({ code: 'FORBIDDEN', message: 'Operator role required' })
  if (type === 'mutation' && ctx.limits) {
    const limited = await ctx.limits.commands.hit(ctx.session.tokenId)
    if (limited) tooManyRequests(ctx, limited.retryAfterS, 'Too many commands; try again later')
  }
  return next()
})
