/**
 * Rate limits on login and on commands (issue #4, re-keyed by issue #11; docs/decisions/016-auth-that-ends.md),
 * counted in Redis (fixed windows) so every Fusebox server process sharing the Redis shares the counters.
 *
 * Keyed so that one client's failures never lock out another:
 * - Login (`auth.login`): only FAILED attempts count, per client address — 10 per 5 minutes. The token is checked
 *   before anything is refused, so the right token logs in even while its address is being limited: over the limit
 *   an address gets one token check per second (`P:rl:loginslot:<client>`, SET NX PX 1000); other attempts in that
 *   second are answered 429 without being checked. Brute force from one address is thus bounded to 10 guesses, then
 *   1 per second; tokens are ≥ 16 characters and generated ones 256 bits.
 * - Commands (operator mutations): 30 per minute per access token, counted AFTER authentication and the role check
 *   (trpc.ts), so anonymous or viewer calls get 401/403 and never consume an operator's budget.
 *
 * "Client address" is `req.ip`: the socket address, unless `FUSEBOX_TRUST_PROXY` (Express `trust proxy`) trusts the
 * hop that set X-Forwarded-For. IPv6 clients are grouped per /56 (express-rate-limit's `ipKeyGenerator`).
 *
 * Every call counts, also inside a tRPC batch: the checks run in the procedures, once per call.
 *
 * Over the limit: HTTP 429 (tRPC TOO_MANY_REQUESTS) with `Retry-After`. Store errors pass: a Redis hiccup must not
 * turn every login into a 500, and failing closed would lock operators out; while Redis is down nothing can be done
 * anyway (sessions and commands need it), so an attacker gains nothing from the gap.
 */
import { ipKeyGenerator } from 'express-rate-limit'
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'

/** A limit: `limit` counted calls per `windowMs` per key. */
export interface RateLimitRule {
  windowMs: number
  limit: number
}

/** Failed logins per client address (5 min window). */
export const LOGIN_LIMIT: RateLimitRule = { windowMs: 5 * 60_000, limit: 10 }
/** Operator commands per access token (1 min window). */
export const COMMAND_LIMIT: RateLimitRule = { windowMs: 60_000, limit: 30 }
/** Over the login limit, one token check per address per this many ms. */
export const LOGIN_SLOT_MS = 1000

/** A refusal: wait this many seconds (for `Retry-After`, ≥ 1). */
export interface Limited {
  retryAfterS: number
}

// INCR a fixed-window counter; the first hit sets the window. Returns { count, ms left in the window }.
const HIT_SCRIPT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { c, ttl }`

/** A fixed-window counter per key, in Redis under `prefix`. */
class WindowCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly rule: RateLimitRule,
  ) {}

  /** Counts one hit; returns the count in the current window and ms until it resets. Rejects on store errors. */
  async hit(key: string): Promise<{ count: number; resetMs: number }> {
    const [count, resetMs] = (await this.redis.eval(HIT_SCRIPT, 1, this.prefix + key, String(this.rule.windowMs))) as [number, number]
    return { count, resetMs }
  }

  /** The count in the current window (0 when none) and ms until it resets. */
  async peek(key: string): Promise<{ count: number; resetMs: number }> {
    const [count, ttl] = (await this.redis.multi().get(this.prefix + key).pttl(this.prefix + key).exec()) as [[unknown, string | null], [unknown, number]]
    return { count: Number(count[1] ?? 0), resetMs: Math.max(0, ttl[1]) }
  }
}

const retryAfter = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/** The rate-limit key of a client address (IPv6 grouped per /56); `unknown` when there is none. */
export function clientKey(ip: string | undefined): string {
  return ip ? ipKeyGenerator(ip, 56) : 'unknown'
}

/** Login attempts per client address: see the module comment. */
export class LoginLimiter {
  private readonly failures: WindowCounter

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    rule: RateLimitRule,
  ) {
    this.failures = new WindowCounter(redis, `${prefix}:rl:login:`, rule)
  }

  /**
   * Before checking a token from `client`: null to go ahead, or a refusal when the address is over its failure
   * limit and another attempt from it was checked less than LOGIN_SLOT_MS ago. Store errors → go ahead.
   */
  async admit(client: string): Promise<Limited | null> {
    try {
      const { count } = await this.failures.peek(client)
      if (count < this.failures.rule.limit) return null
      const slot = await this.redis.set(`${this.prefix}:rl:loginslot:${client}`, '1', 'PX', LOGIN_SLOT_MS, 'NX')
      return slot === 'OK' ? null : { retryAfterS: retryAfter(LOGIN_SLOT_MS) }
    } catch {
      return null
    }
  }

  /** Counts a failed attempt; returns a refusal once the address is over its limit (answer 429, not 401). */
  async failed(client: string): Promise<Limited | null> {
    try {
      const { count, resetMs } = await this.failures.hit(client)
      return count > this.failures.rule.limit ? { retryAfterS: retryAfter(resetMs) } : null
    } catch {
      return null
    }
  }
}

/** Operator commands per access token. */
export class CommandLimiter {
  private readonly counter: WindowCounter

  constructor(redis: Redis, prefix: string, rule: RateLimitRule) {
    this.counter = new WindowCounter(redis, `${prefix}:rl:cmd:`, rule)
  }

  /** Counts one command of `tokenId`; a refusal when over the limit. Store errors → allowed. */
  async hit(tokenId: string): Promise<Limited | null> {
    try {
      const { count, resetMs } = await this.counter.hit(tokenId)
      return count > this.counter.rule.limit ? { retryAfterS: retryAfter(resetMs) } : null
    } catch {
      return null
    }
  }
}

/** The limiters the procedures use (built once per app, handed to every request's context). */
export interface RateLimits {
  login: LoginLimiter
  commands: CommandLimiter
}

/**
 * Builds both limiters; counters live under `<prefix>:rl:login:`, `<prefix>:rl:loginslot:` and `<prefix>:rl:cmd:`.
 * @param rules override the limits (tests); defaults LOGIN_LIMIT and COMMAND_LIMIT
 */
export function createRateLimits(redis: Redis, keys: KeySpace, rules: { login?: RateLimitRule; commands?: RateLimitRule } = {}): RateLimits {
  return {
    login: new LoginLimiter(redis, keys.prefix, rules.login ?? LOGIN_LIMIT),
    commands: new CommandLimiter(redis, keys.prefix, rules.commands ?? COMMAND_LIMIT),
  }
}
