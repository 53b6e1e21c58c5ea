/**
 * The Fusebox API (tRPC v11 at /trpc): queries are GET (cacheable by the service worker), mutations POST, live
 * updates an SSE subscription. Every input is validated by zod; every procedure but `auth.login` needs a session,
 * and mutations need the operator role. The dashboard imports only `type AppRouter` from here.
 */
import { TRPCError, tracked } from '@trpc/server'
import { serialize as serializeCookie } from 'cookie'
import { z } from 'zod'
import type { KeySpace } from '../../shared/keys'
import { BreakerCommand, ENDPOINTS_MAX_LIMIT, Name, type OverviewSnapshot } from '../../shared/schemas'
import { EVENT_TYPES, HTTP_METHODS } from '../../shared/vocabulary'
import { alertsRouter } from './alerts/api'
import { recordAudit } from './audit'
import { sessionCookieName } from './auth'
import { CommandNotAppliedError, issueBreakerCommand, UnknownBreakerError } from './breakerCommands'
import { readOverview } from './readModel'
import { readAuditPage } from './reads/audit'
import { readBreakerDetail, readBreakerList, readCommandStatus } from './reads/breakers'
import { isWrongType, reportInvalidValue } from './reads/redisInput'
import { invalidateCacheTag, readCaches } from './reads/caches'
import { readInstances, readRedisHealth, readServices } from './reads/instances'
import { issueQueueCommand, QueueAction, readQueueCommand } from './queueCommands'
import { readQueues } from './reads/queues'
import { ENDPOINT_SORT_KEYS, readEndpoints, readRouteSeries, readServiceSeries } from './reads/series'
import { eventEntry, readStreamPage, readStreamWindow, requestLogEntry, type StreamEntry } from './reads/streams'
import { operatorProcedure, publicProcedure, router, sessionStillValid, tooManyRequests, viewerProcedure, type Context } from './trpc'

/** Default overview window: the last 5 minutes (issue #2). */
export const DEFAULT_WINDOW_MS = 5 * 60_000
/** Longest window any query accepts: the 1 h tier's retention (30 days). */
export const MAX_WINDOW_MS = 30 * 24 * 3_600_000

/** A time window in ms: 10 s … 30 days. */
const WindowMs = z.number().int().min(10_000).max(MAX_WINDOW_MS)
/** Epoch ms (2000-01-01 … 2100-01-01). */
const EpochMs = z.number().int().min(946_684_800_000).max(4_102_444_800_000)
/** A stream cursor: a Redis stream ID `<ms>-<seq>`. */
const Cursor = z.string().regex(/^\d{1,15}-\d{1,10}$/, { error: 'cursor must be a stream id like 1700000000000-0' })
/** Free text without control characters (route templates, tags, filters). */
const Text = (max: number) =>
  z.string().min(1).max(max).regex(/^[^\p{Cc}]*$/u, { error: 'control characters are not allowed' })
const Reason = z.string().trim().min(1, { error: 'a reason is required' }).max(500)
const Limit = z.number().int().min(1).max(500).default(100)
/** Cursor paging of a stream list (`StreamQuery`): entries older than `cursor`, at most `limit` (1–500, default 100). */
const StreamPaging = { cursor: Cursor.nullish(), limit: Limit }
/** Time bounds of a stream list (`StreamQuery`): entries within [fromMs, toMs], epoch ms, both optional. */
const StreamTimeBounds = { fromMs: EpochMs.optional(), toMs: EpochMs.optional() }
/**
 * Input of a service's stream list (`requests.list`, `events.list`): the service, cursor paging, the stream's own
 * `filters` (all optional), and time bounds.
 */
function streamListInput<S extends z.ZodRawShape>(filters: S) {
  return z.object({ service: Name, ...StreamPaging, ...filters, ...StreamTimeBounds })
}
/**
 * Input of a `.window` procedure: rows [offset, offset + limit) of one service's stream, offset 0 = newest, or the
 * newest at or before `untilId` (a paused view's anchor, see `readStreamWindow`).
 */
const StreamWindowInput = z.object({ service: Name, offset: z.number().int().min(0).max(100_000_000), limit: Limit, untilId: Cursor.optional() })
/** HTTP method as the SDK records it (OpenTelemetry: known methods or `_OTHER`). */
const Method = z.enum(HTTP_METHODS)

/** Sets (or, with maxAgeS 0, clears) the session cookie: `__Host-…; Secure` over TLS, plain-named otherwise. */
function setSessionCookie(ctx: Context, value: string, maxAgeS: number): void {
  ctx.res.setHeader(
    'Set-Cookie',
    serializeCookie(sessionCookieName(ctx.secure), value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: ctx.secure,
      path: '/',
      maxAge: Math.ceil(maxAgeS),
    }),
  )
}

/**
 * A `.window` procedure over one service's stream (`keyOf` names it): rows [offset, offset + limit), newest first,
 * as `readStreamWindow` returns them (`{ total, offset, entries, exact, newestId }`). `entry` maps a stream entry
 * unfiltered (null: malformed, left out).
 */
function streamWindowProcedure<T>(keyOf: (keys: KeySpace, service: string) => string, entry: (e: StreamEntry) => T | null) {
  return viewerProcedure
    .input(StreamWindowInput)
    .query(({ ctx, input }) => readStreamWindow(ctx.redis, keyOf(ctx.keys, input.service), input.offset, input.limit, entry, input.untilId))
}

export const appRouter = router({
  auth: router({
    /**
     * Exchanges an access token (configured, or a one-time login link, consumed here) for a session cookie bound to
     * that token. 401 on a wrong token; 429 once the client address has failed too often (rateLimits.ts) — the right
     * token still logs in then, at most one check per second per address.
     */
    login: publicProcedure.input(z.object({ token: z.string().min(1).max(512) })).mutation(async ({ ctx, input }) => {
      // A mounted dashboard whose host sign-in has no fallback (docs/decisions/025) takes no Fusebox token.
      if (ctx.hostAuth && !ctx.hostAuth.fallback) throw new TRPCError({ code: 'FORBIDDEN', message: 'Sign in through the host application' })
      const client = ctx.clientAddress ?? 'unknown'
      const refused = await ctx.limits?.login.admit(client)
      if (refused) tooManyRequests(ctx, refused.retryAfterS, 'Too many login attempts; try again later')
      const grant = await ctx.auth.redeem(input.token)
      if (!grant) {
        const limited = await ctx.limits?.login.failed(client)
        if (limited) tooManyRequests(ctx, limited.retryAfterS, 'Too many login attempts; try again later')
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Unknown access token' })
      }
      const session = await ctx.auth.createSession(grant, Date.now())
      setSessionCookie(ctx, session.id, ctx.auth.ttlS)
      // Read-only server: the session acts as a viewer (trpc.ts createContext caps it on every request).
      return { role: ctx.readOnly === true ? ('viewer' as const) : session.role }
    }),
    /** Ends the session (and its live streams on this server at once, elsewhere within 10 s); clears the cookie. */
    logout: viewerProcedure.mutation(async ({ ctx }) => {
      // A host user has no Fusebox session to end: the host application signs them out.
      if (ctx.session.host) return { ok: true as const }
      await ctx.auth.deleteSession(ctx.session)
      ctx.streams?.endSession(ctx.session.keyId)
      setSessionCookie(ctx, '', 0)
      return { ok: true as const }
    }),
    /**
     * "Sign out everywhere": ends every session of the caller's access token (all devices, all server processes),
     * this one included; clears the cookie. Returns how many sessions were ended.
     */
    logoutEverywhere: viewerProcedure.mutation(async ({ ctx }) => {
      if (ctx.session.host) return { ok: true as const, ended: 0 }
      const ended = await ctx.auth.deleteTokenSessions(ctx.session.tokenId)
      await ctx.auth.deleteSession(ctx.session)
      ctx.streams?.endToken(ctx.session.tokenId)
      setSessionCookie(ctx, '', 0)
      return { ok: true as const, ended }
    }),
    /**
     * The current session's role (viewer on a read-only server) and actor name — for a host user (docs/decisions/025)
     * the host's name. 401 without a session.
     */
    me: viewerProcedure.query(({ ctx }) => ({ role: ctx.session.role, actor: ctx.session.actor })),
  }),

  services: router({
    /** Every service that ever reported, with instances up / total. */
    list: viewerProcedure.query(({ ctx }) => readServices(ctx.redis, ctx.keys, ctx.now())),
  }),

  overview: router({
    /**
     * Every service's throughput, error rate and p50/p95/p99/p99.9 over the window (default the last 5 min; with
     * `untilMs`, the window ending then), and every breaker as it is now.
     */
    get: viewerProcedure
      .input(z.object({ windowMs: WindowMs.optional(), untilMs: EpochMs.optional() }).optional())
      .query(({ ctx, input }): Promise<OverviewSnapshot> =>
        (ctx.readOverview ?? ((nowMs, windowMs, untilMs) => readOverview(ctx.redis, ctx.keys, nowMs, windowMs, untilMs)))(
          ctx.now(),
          input?.windowMs ?? DEFAULT_WINDOW_MS,
          input?.untilMs,
        ),
      ),
  }),

  series: router({
    /**
     * Throughput, error rate and p50/p95/p99/p99.9 per bucket for a service, or one route of it, over the window
     * (ending `untilMs`, default now), with the window's totals; the server picks the tier (≤ 1,000 points). A
     * bucket no instance flushed is a gap (`noData`).
     */
    get: viewerProcedure
      .input(
        z.object({
          service: Name,
          windowMs: WindowMs.default(15 * 60_000),
          untilMs: EpochMs.optional(),
          route: z.object({ method: Method, route: Text(300) }).optional(),
        }),
      )
      .query(({ ctx, input }) =>
        input.route
          ? readRouteSeries(ctx.redis, ctx.keys, input.service, input.route.method, input.route.route, ctx.now(), input)
          : readServiceSeries(ctx.redis, ctx.keys, input.service, ctx.now(), input),
      ),
  }),

  endpoints: router({
    /** Every route of a service with rps, error %, p50/p95/p99/p99.9 over the window (as `series.get`); sorted, filtered and paged here (limit ≤ ENDPOINTS_MAX_LIMIT). */
    list: viewerProcedure
      .input(
        z.object({
          service: Name,
          windowMs: WindowMs.default(DEFAULT_WINDOW_MS),
          untilMs: EpochMs.optional(),
          sortBy: z.enum(ENDPOINT_SORT_KEYS).default('throughputRps'),
          descending: z.boolean().default(true),
          filter: z.string().max(200).regex(/^[^\p{Cc}]*$/u).optional(),
          offset: z.number().int().min(0).max(1_000_000).default(0),
          // Higher than other lists: the dashboard takes a service's whole route table in one call.
          limit: z.number().int().min(1).max(ENDPOINTS_MAX_LIMIT).default(100),
        }),
      )
      .query(({ ctx, input }) => readEndpoints(ctx.redis, ctx.keys, input, ctx.now())),
  }),

  requests: router({
    /** The sampled request log (slow and failed requests), newest first, cursor-paged and filterable. */
    list: viewerProcedure
      .input(
        streamListInput({
          route: Text(300).optional(),
          status: z.string().regex(/^([1-5]xx|[1-5]\d\d)$/, { error: 'status is a code (503) or a class (5xx)' }).optional(),
          instance: Name.optional(),
        }),
      )
      .query(({ ctx, input }) =>
        readStreamPage(ctx.redis, ctx.keys.requestLog(input.service), input, (e) =>
          requestLogEntry(e, { route: input.route, status: input.status, instance: input.instance }),
        ),
      ),
    /**
     * Rows [offset, offset + limit) of the whole request log, newest first, for a virtualized table at any size:
     * exact for the first 5,000 rows, located by time beyond (`exact: false`). Unfiltered; use `list` to filter.
     */
    window: streamWindowProcedure((keys, service) => keys.requestLog(service), (e) => requestLogEntry(e)),
  }),

  events: router({
    /** Breaker transitions, commands issued and applied, newest first, cursor-paged and filterable. */
    list: viewerProcedure
      .input(
        streamListInput({
          breaker: Name.optional(),
          instance: Name.optional(),
          type: z.enum(EVENT_TYPES).optional(),
        }),
      )
      .query(({ ctx, input }) =>
        readStreamPage(ctx.redis, ctx.keys.events(input.service), input, (e) =>
          eventEntry(e, { breaker: input.breaker, instance: input.instance, type: input.type }),
        ),
      ),
    /** Rows [offset, offset + limit) of the whole events stream, newest first (see `requests.window`). */
    window: streamWindowProcedure((keys, service) => keys.events(service), (e) => eventEntry(e)),
  }),

  audit: router({
    /**
     * Operator actions (who, when, what, why, outcome), newest first, cursor-paged: one service's audit stream, or
     * every service's and the global one merged by time (reads/audit.ts). Export: GET /api/audit.jsonl.
     */
    list: viewerProcedure
      .input(
        z
          .object({ ...StreamPaging, service: Name.optional(), actor: Text(100).optional(), ...StreamTimeBounds })
          .default({ limit: 100 }),
      )
      .query(({ ctx, input }) =>
        readAuditPage(ctx.redis, ctx.keys, input),
      ),
  }),

  /** Alert rules, alerts, silences, history and deliveries (alerts/api.ts). */
  alerts: alertsRouter,

  breakers: router({
    /** Every breaker (of one service, or all): cluster state, disagreement, per-instance reports and options. */
    list: viewerProcedure
      .input(z.object({ service: Name.optional() }).optional())
      .query(({ ctx, input }) => readBreakerList(ctx.redis, ctx.keys, input?.service, ctx.now())),
    /** One breaker with its state timeline over the window (ending `untilMs`, default now). 404 when the breaker is unknown. */
    get: viewerProcedure
      .input(z.object({ service: Name, breaker: Name, windowMs: WindowMs.default(3_600_000), untilMs: EpochMs.optional() }))
      .query(async ({ ctx, input }) => {
        const nowMs = ctx.now()
        const detail = await readBreakerDetail(ctx.redis, ctx.keys, input.service, input.breaker, nowMs, input.windowMs, undefined, input.untilMs ?? nowMs)
        if (!detail) throw new TRPCError({ code: 'NOT_FOUND', message: `no breaker ${input.breaker} in service ${input.service}` })
        return detail
      }),
    /**
     * Issues reset / forceOpen / forceClosed / release to every instance, or to `instance` only; returns the command
     * id, generation and the fixed set of instances it must reach (follow it with `commandStatus`). One atomic step
     * (desired state, command record, event, audit entry, nudge): success means all of it committed; 404 for an
     * unknown breaker; 412 when a key it writes is corrupt, or a key it reads first to know the breaker and its
     * targets (breakers set, state hash) holds the wrong type (nothing was changed; counted as `wrong_type`).
     */
    command: operatorProcedure
      .input(z.object({ service: Name, breaker: Name, command: BreakerCommand, reason: Reason, instance: Name.optional() }))
      .mutation(async ({ ctx, input }) => {
        try {
          return await issueBreakerCommand(ctx.redis, ctx.keys, { ...input, actor: ctx.session.actor }, ctx.now(), {
            auditRetention: ctx.auditRetention,
          })
        } catch (e) {
          if (e instanceof UnknownBreakerError) throw new TRPCError({ code: 'NOT_FOUND', message: e.message })
          if (e instanceof CommandNotAppliedError) {
            throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `Command not applied, nothing was changed: ${e.message}` })
          }
          // Redis is an input (decision 014): WRONGTYPE here comes from the reads before the script (the script
          // checks the types of what it writes itself), so nothing was written.
          if (isWrongType(e)) {
            const where = `${ctx.keys.breakers(input.service)} or ${ctx.keys.breakerState(input.service, input.breaker)}`
            reportInvalidValue('wrong_type', where, (e as Error).message)
            throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `Command not applied, nothing was changed: ${where} holds the wrong type` })
          }
          throw e
        }
      }),
    /**
     * Where a command stands on each instance of its fixed target set: applied / pending / unreachable / gone
     * (reads/breakers.ts `CommandStatus`); `complete` only once every target not gone applied it. 404 when unknown.
     */
    commandStatus: viewerProcedure
      .input(z.object({ service: Name, commandId: z.uuid() }))
      .query(async ({ ctx, input }) => {
        const status = await readCommandStatus(ctx.redis, ctx.keys, input.service, input.commandId, ctx.now())
        if (!status) throw new TRPCError({ code: 'NOT_FOUND', message: `no command ${input.commandId}` })
        return status
      }),
  }),

  caches: router({
    /** Every cache of a service: hits, misses, sets, invalidations and hit ratio, in total and per bucket. */
    list: viewerProcedure
      .input(z.object({ service: Name, windowMs: WindowMs.default(15 * 60_000), untilMs: EpochMs.optional() }))
      .query(({ ctx, input }) => {
        const nowMs = ctx.now()
        return readCaches(ctx.redis, ctx.keys, input.service, nowMs, input.windowMs, undefined, input.untilMs ?? nowMs)
      }),
    /** Removes every entry of a cache carrying a tag (all instances), with an audit entry. Returns keys removed. */
    invalidateTag: operatorProcedure
      .input(z.object({ service: Name, cache: Name, tag: Text(512), reason: Reason }))
      .mutation(async ({ ctx, input }) => {
        const nowMs = ctx.now()
        const removed = await invalidateCacheTag(ctx.redis, ctx.keys, input.service, input.cache, input.tag, nowMs)
        await recordAudit(ctx.redis, ctx.keys, {
          atMs: nowMs,
          actor: ctx.session.actor,
          service: input.service,
          action: 'invalidateTag',
          targetDescription: `${input.cache} tag ${input.tag}`,
          reason: input.reason,
          outcome: `removed ${removed} key${removed === 1 ? '' : 's'}`,
        }, ctx.auditRetention)
        return { removed }
      }),
  }),

  queues: router({
    /**
     * Every BullMQ queue a service's instances watch (collector.watchQueue): latest counts by state, the oldest
     * waiting job's age, completed and failed over the window and per minute, one point per bucket (reads/queues.ts).
     */
    list: viewerProcedure
      .input(z.object({ service: Name, windowMs: WindowMs.default(15 * 60_000), untilMs: EpochMs.optional() }))
      .query(({ ctx, input }) => {
        const nowMs = ctx.now()
        return readQueues(ctx.redis, ctx.keys, input.service, nowMs, input.windowMs, undefined, input.untilMs ?? nowMs)
      }),
    /**
     * "Retry failed" or "clean completed / failed older than …" on a watched queue (operator; audited with the
     * reason): taken by the first instance watching it within ~1 s (queueCommands.ts). Follow with `commandStatus`.
     */
    command: operatorProcedure
      .input(z.object({ service: Name, queue: Name, action: QueueAction, olderThanS: z.number().int().min(0).max(30 * 86_400).default(3600), reason: Reason }))
      .mutation(({ ctx, input }) => issueQueueCommand(ctx.redis, ctx.keys, { ...input, actor: ctx.session.actor }, ctx.now(), ctx.auditRetention)),
    /** Where a queue command stands: pending, running, done (jobs affected) or failed (why). 404 when unknown. */
    commandStatus: viewerProcedure.input(z.object({ service: Name, commandId: z.uuid() })).query(async ({ ctx, input }) => {
      const status = await readQueueCommand(ctx.redis, ctx.keys, input.service, input.commandId)
      if (!status) throw new TRPCError({ code: 'NOT_FOUND', message: `no queue command ${input.commandId}` })
      return status
    }),
  }),

  instances: router({
    /** Instances of a service with health: up/down, heap, RSS, CPU %, event-loop delay p99, uptime, version. */
    list: viewerProcedure.input(z.object({ service: Name })).query(({ ctx, input }) => readInstances(ctx.redis, ctx.keys, input.service, ctx.now())),
  }),

  redis: router({
    /** Redis health: memory, ops/s, keyspace hit ratio, clients, keys, AOF. */
    info: viewerProcedure.query(({ ctx }) => readRedisHealth(ctx.redis)),
  }),

  live: router({
    /**
     * Pushes the overview snapshot every second over SSE (one computation per server shared by all tabs). Event ids
     * are snapshot times; a reconnect resumes with the latest snapshot (snapshots are complete, not deltas).
     */
    snapshot: viewerProcedure
      .input(z.object({ lastEventId: z.string().max(64).nullish(), windowMs: WindowMs.optional() }).optional())
      .subscription(async function* ({ ctx, input, signal }) {
        // Re-checked every few seconds and capped per session (streamGuard.ts): the stream ends with its session.
        const { session } = ctx
        const lease = ctx.streams?.open(session, () => sessionStillValid(ctx, session), signal)
        try {
          for await (const snapshot of ctx.hub.stream(input?.windowMs ?? DEFAULT_WINDOW_MS, lease?.signal ?? signal)) {
            yield tracked(String(snapshot.asOfMs), snapshot)
          }
        } finally {
          lease?.release()
        }
        if (lease?.ended()) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session ended' })
      }),
  }),
})

/** The API's type, for the dashboard's tRPC client. */
export type AppRouter = typeof appRouter
