/**
 * Rate limits on login and on commands (issue #4), counted in Redis so every Fusebox server process sharing the
 * Redis shares the counters (express-rate-limit + rate-limit-redis).
 *
 * - Login: POST `auth.login` — 10 attempts per 5 minutes per client.
 * - Commands: POST `breakers.*` / `caches.*` — 30 per minute per client.
 *
 * "Client" is `req.ip`: the socket address, unless the app was given a `trust proxy` setting (HttpOptions.trustProxy)
 * — X-Forwarded-For is never believed otherwise. IPv6 clients are grouped per /56 (express-rate-limit's default).
 *
 * Every call counts, also inside a tRPC batch (`/trpc/auth.login,auth.login?batch=1` is two attempts), otherwise one
 * request could carry a batch of guesses. The procedure list is derived exactly as tRPC's Express adapter does it:
 * the last path segment, URI-decoded, split on commas.
 *
 * Over the limit: HTTP 429, `Retry-After`, and a body shaped like a tRPC error so the client shows its message.
 *
 * Store errors pass (`passOnStoreError: true`): a Redis hiccup must not turn every login into a 500, and failing
 * closed would lock operators out; while Redis is down nothing can be done anyway (sessions and commands need it),
 * so an attacker gains nothing from the gap.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { rateLimit } from 'express-rate-limit'
import type { Redis } from 'ioredis'
import { RedisStore, type RedisReply } from 'rate-limit-redis'
import type { KeySpace } from '../../shared/keys'

/** A limit: `limit` calls per `windowMs` per client. */
export interface RateLimitRule {
  windowMs: number
  limit: number
}

export const LOGIN_LIMIT: RateLimitRule = { windowMs: 5 * 60_000, limit: 10 }
export const COMMAND_LIMIT: RateLimitRule = { windowMs: 60_000, limit: 30 }
/** JSON-RPC-style code tRPC uses for TOO_MANY_REQUESTS. */
export const TOO_MANY_REQUESTS_CODE = -32029

/** Counted calls per request at most (tRPC refuses larger batches anyway; bounds the Redis round trips). */
const MAX_COUNTED_CALLS = 11

export const isLoginProcedure = (path: string): boolean => path === 'auth.login'
export const isCommandProcedure = (path: string): boolean => path.startsWith('breakers.') || path.startsWith('caches.')

/**
 * Procedure paths a request to the tRPC mount addresses, as tRPC's Express adapter reads them (`req.path` is relative
 * to the `/trpc` mount). Splits on commas even without `?batch=1` (more counting, never less).
 * @returns [] when the path cannot be decoded (tRPC answers 400 without running anything)
 */
export function proceduresOf(req: Request): string[] {
  const last = req.path.slice(req.path.lastIndexOf('/') + 1)
  try {
    return decodeURIComponent(last).split(',')
  } catch {
    return []
  }
}

/** Body of a 429, shaped like a tRPC error response. */
export function tooManyRequestsBody(message: string): string {
  return JSON.stringify({ error: { message, code: TOO_MANY_REQUESTS_CODE, data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } } })
}

/**
 * rate-limit-redis loads its Lua script once, at start; if Redis is unreachable then, the stored promise stays
 * rejected and every later call fails even after Redis is back (it only reloads on NOSCRIPT). Reload after any error.
 */
class RecoveringRedisStore extends RedisStore {
  override async increment(key: string): ReturnType<RedisStore['increment']> {
    try {
      return await super.increment(key)
    } catch (error) {
      this.incrementScriptSha = this.loadIncrementScript(this.prefixKey(key))
      this.incrementScriptSha.catch(() => undefined) // the next call sees the outcome
      throw error
    }
  }
}

function limiter(redis: Redis, prefix: string, rule: RateLimitRule, message: string): RequestHandler {
  return rateLimit({
    windowMs: rule.windowMs,
    limit: rule.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    passOnStoreError: true,
    // Weighted counting runs the limiter once per call of a batch on the same request.
    validate: { singleCount: false },
    store: new RecoveringRedisStore({
      prefix,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    }),
    handler: (_req, res) => {
      res.status(429).set('Cache-Control', 'no-store').type('application/json').send(tooManyRequestsBody(message))
    },
  })
}

/** Runs `mw` once per counted call of the request (0 → straight to `next`). */
function weighted(mw: RequestHandler, count: (req: Request) => number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next()
    const n = Math.min(count(req), MAX_COUNTED_CALLS)
    let i = 0
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err)
      if (++i > n) return next()
      void mw(req, res, step)
    }
    step()
  }
}

/** The limiters to mount on `/trpc` (after the CSRF guard, before tRPC). */
export interface RateLimits {
  login: RequestHandler
  commands: RequestHandler
}

/**
 * Builds both limiters; counters live under `<prefix>:rl:login:` and `<prefix>:rl:cmd:` in Redis.
 * @param rules override the limits (tests)
 */
export function createRateLimits(redis: Redis, keys: KeySpace, rules: { login?: RateLimitRule; commands?: RateLimitRule } = {}): RateLimits {
  const login = limiter(redis, `${keys.prefix}:rl:login:`, rules.login ?? LOGIN_LIMIT, 'Too many login attempts; try again later')
  const commands = limiter(redis, `${keys.prefix}:rl:cmd:`, rules.commands ?? COMMAND_LIMIT, 'Too many commands; try again later')
  return {
    login: weighted(login, (req) => proceduresOf(req).filter(isLoginProcedure).length),
    commands: weighted(commands, (req) => proceduresOf(req).filter(isCommandProcedure).length),
  }
}
