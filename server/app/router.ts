/**
 * The Fusebox API (tRPC v11 at /trpc): queries are GET (cacheable by the service worker), mutations POST, live
 * updates an SSE subscription. The dashboard imports only `type AppRouter` from here.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { TRPCError, tracked } from '@trpc/server'
import { serialize as serializeCookie } from 'cookie'
import { z } from 'zod'
import { BreakerCommand, Name, type OverviewSnapshot } from '../../shared/schemas'
import { SESSION_COOKIE } from './auth'
import { issueBreakerCommand, UnknownBreakerError } from './breakerCommands'
import { readOverview } from './readModel'
import { operatorProcedure, publicProcedure, router, viewerProcedure, type Context } from './trpc'

/** Default overview window: the last 5 minutes (issue #2). */
export const DEFAULT_WINDOW_MS = 5 * 60_000
/** Live push period. */
export const LIVE_INTERVAL_MS = 1000

const WindowInput = z.object({ windowMs: z.number().int().min(10_000).max(3_600_000).optional() }).optional()

function setSessionCookie(ctx: Context, value: string, maxAgeS: number): void {
  ctx.res.setHeader(
    'Set-Cookie',
    serializeCookie(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', maxAge: maxAgeS }),
  )
}

export const appRouter = router({
  auth: router({
    /** Exchanges an access token for a session cookie. 401 on a wrong token. */
    login: publicProcedure.input(z.object({ token: z.string().min(1).max(512) })).mutation(async ({ ctx, input }) => {
      const who = ctx.auth.check(input.token)
      if (!who) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Unknown access token' })
      const session = await ctx.auth.createSession(who.role, who.actor, Date.now())
      setSessionCookie(ctx, session.id, ctx.auth.ttlS)
      return { role: session.role }
    }),
    /** Ends the session and clears the cookie. */
    logout: viewerProcedure.mutation(async ({ ctx }) => {
      await ctx.auth.deleteSession(ctx.session.id)
      setSessionCookie(ctx, '', 0)
      return { ok: true as const }
    }),
    /** The current session's role. 401 without a session. */
    me: viewerProcedure.query(({ ctx }) => ({ role: ctx.session.role })),
  }),

  overview: router({
    /** Every service's throughput, error rate and p50/p95/p99 over the window (default 5 min), and every breaker. */
    get: viewerProcedure.input(WindowInput).query(({ ctx, input }): Promise<OverviewSnapshot> =>
      readOverview(ctx.redis, ctx.keys, Date.now(), input?.windowMs ?? DEFAULT_WINDOW_MS),
    ),
  }),

  breakers: router({
    /** Issues reset / forceOpen / forceClosed / release to every instance; returns the command id and generation. */
    command: operatorProcedure
      .input(z.object({ service: Name, breaker: Name, command: BreakerCommand, reason: z.string().trim().min(1).max(500) }))
      .mutation(async ({ ctx, input }) => {
        try {
          return await issueBreakerCommand(ctx.redis, ctx.keys, { ...input, actor: ctx.session.actor }, Date.now())
        } catch (e) {
          if (e instanceof UnknownBreakerError) throw new TRPCError({ code: 'NOT_FOUND', message: e.message })
          throw e
        }
      }),
  }),

  live: router({
    /** Pushes the overview snapshot every second over SSE; ids are the snapshot times (resumable, idempotent). */
    snapshot: viewerProcedure
      .input(z.object({ lastEventId: z.string().max(64).nullish(), windowMs: z.number().int().min(10_000).max(3_600_000).optional() }).optional())
      .subscription(async function* ({ ctx, input, signal }) {
        const windowMs = input?.windowMs ?? DEFAULT_WINDOW_MS
        while (!signal?.aborted) {
          const snapshot = await readOverview(ctx.redis, ctx.keys, Date.now(), windowMs)
          yield tracked(String(snapshot.asOfMs), snapshot)
          try {
            await sleep(LIVE_INTERVAL_MS, undefined, { signal })
          } catch {
            return
          }
        }
      }),
  }),
})

/** The API's type, for the dashboard's tRPC client. */
export type AppRouter = typeof appRouter
