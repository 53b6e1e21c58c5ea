/**
 * tRPC set-up: request context, the error formatter (no stacks, no hosts; internal errors get an id that is
 * logged server-side) and the three procedure levels — public, viewer (any session), operator.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { initTRPC, TRPCError } from '@trpc/server'
import { parse as parseCookie } from 'cookie'
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import type { Receiver } from './alerts/notify'
import type { Clock } from '../../shared/timeBuckets'
import { callHostAuth, HostAuthError, hostSession, sessionCookieName, type Auth, type Session } from './auth'
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
  redis: RedisClient
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
  /** Read-only server (`AppDeps.readOnly`): sessions act as viewers, operator procedures answer FORBIDDEN. */
  readOnly?: boolean
  /** The host application's sign-in (`AppDeps.hostAuth`), for re-checking live streams of host users. */
  hostAuth?: HostAuthConfig
  /** This server's alerting set-up (`AppDeps.alerting`; absent: no receivers, not evaluating). */
  alerting?: AlertingInfo
}

/** What the API knows of this server's alerting (built by dashboard.ts; alerts/api.ts shows it in `alerts.status`). */
export interface AlertingInfo {
  receivers: readonly Receiver[]
  /** Evaluation interval, ms. */
  intervalMs: number
  /** Whether this server's evaluator holds the lease now (absent: this server does not evaluate). */
  holding?: () => boolean
}

/**
 * The host application's sign-in standing in for Fusebox's own (docs/decisions/025; built by dashboard.ts from
 * `DashboardOptions.authenticate`). `authenticate(req)` is called per tRPC request, per audit export and at every
 * live-stream re-check; it answers `{ role, name }` (HostUserSchema), or null for "not signed in at the host".
 */
export interface HostAuthConfig {
  authenticate: (req: IncomingMessage) => unknown
  /** Bound on one call, ms (default HOST_AUTH_TIMEOUT_MS = 3000); longer counts as a failure (503). */
  timeoutMs?: number
  /**
   * When the hook answers null: true — Fusebox's own tokens and sessions still sign in (`auth.login`); false — the
   * request is unauthenticated (401) and `auth.login` is refused (403).
   */
  fallback: boolean
}

/** The message of every operator procedure on a read-only server. */
export const READ_ONLY_MESSAGE = 'This Fusebox server is read-only (FUSEBOX_READ_ONLY / readOnly): commands are turned off'

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
  redis: RedisClient
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
  /** FUSEBOX_READ_ONLY / `DashboardOptions.readOnly` (default false): every session is capped at viewer. */
  readOnly?: boolean
  /** The host application's sign-in (mounted dashboards, server/app/mount.ts); absent: Fusebox's own only. */
  hostAuth?: HostAuthConfig
  /** Alert receivers and evaluation (alerts/evaluator.ts); absent: none. */
  alerting?: AlertingInfo
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
  const now = deps.clock ?? Date.now
  let session = deps.hostAuth ? await hostUserSession(deps.hostAuth, req, now()) : null
  if (session === null && (deps.hostAuth?.fallback ?? true)) {
    const cookies = parseCookie(req.headers.cookie ?? '')
    session = await deps.auth.getSession(cookies[sessionCookieName(secure)]).catch((err: unknown) => {
      throw asRedisUnavailable(err)
    })
  }
  // Read-only: whoever signs in acts as a viewer (auth.me says so, so the dashboard hides the controls).
  if (session !== null && deps.readOnly === true && session.role === 'operator') session = { ...session, role: 'viewer' }
  return {
    req,
    res,
    redis: deps.redis,
    keys: deps.keys,
    auth: deps.auth,
    hub: deps.hub,
    session,
    secure,
    now,
    clientAddress: clientKey(express.ip ?? req.socket.remoteAddress),
    limits: services?.limits,
    streams: services?.streams,
    auditRetention: deps.auditRetention,
    readOverview: overviewReaderOf(deps),
    readOnly: deps.readOnly === true,
    hostAuth: deps.hostAuth,
    alerting: deps.alerting,
  }
}

/** Last time a failure of the host's hook was logged with its cause, per reason (at most once per reason every 10 s). */
const hostAuthLoggedAtMs = new Map<string, number>()

/**
 * The session of the user the host's hook vouches for, or null (not signed in at the host). A hook that throws,
 * times out or answers a malformed user yields a 503 with a plain message (never its error text: it may name the
 * host's internals); the cause is logged server-side with an id.
 * @throws TRPCError SERVICE_UNAVAILABLE
 */
async function hostUserSession(hostAuth: HostAuthConfig, req: IncomingMessage, nowMs: number): Promise<Session | null> {
  try {
    const user = await callHostAuth(hostAuth.authenticate, req, hostAuth.timeoutMs)
    return user === null ? null : hostSession(user, nowMs)
  } catch (err) {
    const reason = err instanceof HostAuthError ? err.reason : 'threw'
    const errorId = randomUUID()
    // One line per failure, so the id a user quotes is always in the log; the cause (a stack) at most every 10 s.
    const last = hostAuthLoggedAtMs.get(reason) ?? 0
    const withCause = Date.now() - last >= 10_000
    if (withCause) hostAuthLoggedAtMs.set(reason, Date.now())
    console.error(`[fusebox] host sign-in failed (error id ${errorId}): ${(err as Error).message}`, ...(withCause && (err as Error).cause ? [(err as Error).cause] : []))
    const message =
      reason === 'timeout'
        ? `The host application's sign-in check did not answer in time; try again`
        : reason === 'invalid'
          ? `The host application's sign-in check answered an invalid user (error id ${errorId}; see the server log)`
          : `The host application's sign-in check failed (error id ${errorId}; see the server log)`
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message })
  }
}

/**
 * Whether a live stream's session still holds (streamGuard.ts re-checks): a Fusebox session must still be in Redis
 * and its token configured; a host user must still be answered by the hook with the same name and role. Rejects
 * (the stream is kept) when Redis or the hook cannot answer.
 */
export async function sessionStillValid(ctx: Pick<Context, 'auth' | 'req' | 'hostAuth' | 'readOnly'>, session: Session): Promise<boolean> {
  if (session.host) {
    if (!ctx.hostAuth) return false
    const user = await callHostAuth(ctx.hostAuth.authenticate, ctx.req, ctx.hostAuth.timeoutMs)
    if (user === null) return false
    const role = ctx.readOnly === true ? 'viewer' : user.role
    return user.name === session.actor && role === session.role
  }
  return (await ctx.auth.getSession(session.id)) !== null
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
 * Operator sessions only. 401 without a session, 403 for a viewer or on a read-only server (READ_ONLY_MESSAGE); then every mutation (a command) counts against
 * the token's command budget (rateLimits.ts: 30 per minute) — after authentication, so nobody else spends it.
 */
export const operatorProcedure = viewerProcedure.use(async ({ ctx, type, next }) => {
  if (ctx.readOnly === true) throw new TRPCError({ code: 'FORBIDDEN', message: READ_ONLY_MESSAGE })
  if (ctx.session.role !== 'operator') throw new TRPCError({ code: 'FORBIDDEN', message: 'Operator role required' })
  if (type === 'mutation' && ctx.limits) {
    const limited = await ctx.limits.commands.hit(ctx.session.tokenId)
    if (limited) tooManyRequests(ctx, limited.retryAfterS, 'Too many commands; try again later')
  }
  return next()
})
