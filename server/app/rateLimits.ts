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
 * Over the limit: HTTP 429 (tRPC TOO_MANY_REQUESTS) with `Retry-After`. A store error (Redis unreachable, a cluster
 * slot without a master, a counter key of the wrong type) refuses the call with 503 (`RedisUnavailableError`, mapped
 * by redisUnavailable.ts; docs/decisions/028, superseding decision 016's "store errors pass"): a login or command
 * needs Redis anyway, and letting calls through unchecked would silently switch the limits off whenever the store
 * misbehaves — on a Redis Cluster a misrouted or failing-over counter would otherwise disable them unnoticed.
 *
 * On a Redis Cluster every counter is one key, so each script call and each read routes by that key's slot: the
 * counters of different clients spread over the masters, and no call spans slots.
 */
import { ipKeyGenerator } from 'express-rate-limit'
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import { RedisUnavailableError } from './redisUnavailable'
import { reportInvalidValue } from './reads/redisInput'

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

// A counter is a string holding a decimal integer. Anything else at its key (another type, a non-integer string —
// not written by Fusebox) is deleted by the script that meets it and reported back (`repaired` = 1): Redis is an
// input (decision 014), and a corrupt counter without a TTL must not refuse its client with 503 for ever.
const HEAL = `
local t = redis.call('TYPE', KEYS[1]).ok
local repaired = 0
if t ~= 'none' then
  local v = t == 'string' and redis.call('GET', KEYS[1]) or false
  if not v or not string.match(v, '^%d+$') or string.len(v) > 15 then redis.call('DEL', KEYS[1]); repaired = 1 end
end`

// INCR a fixed-window counter; the first hit sets the window. Returns { count, ms left in the window, repaired }.
const HIT_SCRIPT = `${HEAL}
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { c, ttl, repaired }`

// The count (0 when none) and ms left in the window, without counting. Returns { count, ttl, repaired }.
const PEEK_SCRIPT = `${HEAL}
local v = redis.call('GET', KEYS[1])
if not v then return { 0, 0, repaired } end
return { tonumber(v), redis.call('PTTL', KEYS[1]), repaired }`

/** A fixed-window counter per key, in Redis under `prefix`. */
class WindowCounter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly rule: RateLimitRule,
  ) {}

  /**
   * Counts one hit; returns the count in the current window and ms until it resets. A corrupt counter is replaced by
   * a fresh one and reported (`fusebox_redis_invalid_values_total{kind="rate_limit_counter"}`). Rejects on store
   * errors. One key per call, so it routes by that key's slot on a cluster.
   */
  async hit(key: string): Promise<{ count: number; resetMs: number }> {
    const [count, resetMs, repaired] = (await this.redis.eval(HIT_SCRIPT, 1, this.prefix + key, String(this.rule.windowMs))) as [number, number, number]
    if (repaired === 1) reportInvalidValue('rate_limit_counter', this.prefix + key, 'not a string holding an integer: replaced by a fresh counter')
    return { count, resetMs }
  }

  /** The count in the current window (0 when none) and ms until it resets; a corrupt counter reads 0 (and is deleted, reported). Rejects on store errors. */
  async peek(key: string): Promise<{ count: number; resetMs: number }> {
    const [count, ttl, repaired] = (await this.redis.eval(PEEK_SCRIPT, 1, this.prefix + key)) as [number, number, number]
    if (repaired === 1) reportInvalidValue('rate_limit_counter', this.prefix + key, 'not a string holding an integer: deleted')
    return { count: Number(count), resetMs: Math.max(0, Number(ttl)) }
  }
}

/** The refusal when a limit cannot be checked: 503 through redisUnavailable.ts, the store error as `cause`. */
function unchecked(what: string, cause: unknown): RedisUnavailableError {
  return new RedisUnavailableError(`${what} rate limit cannot be checked: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
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
    private readonly redis: RedisClient,
    private readonly prefix: string,
    rule: RateLimitRule,
  ) {
    this.failures = new WindowCounter(redis, `${prefix}:rl:login:`, rule)
  }

  /**
   * Before checking a token from `client`: null to go ahead, or a refusal when the address is over its failure
   * limit and another attempt from it was checked less than LOGIN_SLOT_MS ago.
   * @throws RedisUnavailableError when the counter cannot be read (the login answers 503)
   */
  async admit(client: string): Promise<Limited | null> {
    let count: number
    let slot: string | null = 'OK'
    try {
      count = (await this.failures.peek(client)).count
      if (count >= this.failures.rule.limit) slot = await this.redis.set(`${this.prefix}:rl:loginslot:${client}`, '1', 'PX', LOGIN_SLOT_MS, 'NX')
    } catch (e) {
      throw unchecked('login', e)
    }
    return slot === 'OK' ? null : { retryAfterS: retryAfter(LOGIN_SLOT_MS) }
  }

  /**
   * Counts a failed attempt; returns a refusal once the address is over its limit (answer 429, not 401).
   * @throws RedisUnavailableError when the failure cannot be counted (503: an uncounted guess would be a free one)
   */
  async failed(client: string): Promise<Limited | null> {
    let hit: { count: number; resetMs: number }
    try {
      hit = await this.failures.hit(client)
    } catch (e) {
      throw unchecked('login', e)
    }
    return hit.count > this.failures.rule.limit ? { retryAfterS: retryAfter(hit.resetMs) } : null
  }
}

/** Operator commands per access token. */
export class CommandLimiter {
  private readonly counter: WindowCounter

  constructor(redis: RedisClient, prefix: string, rule: RateLimitRule) {
    this.counter = new WindowCounter(redis, `${prefix}:rl:cmd:`, rule)
  }

  /**
   * Counts one command of `tokenId`; a refusal when over the limit.
   * @throws RedisUnavailableError when the counter cannot be written (the command answers 503, nothing is issued)
   */
  async hit(tokenId: string): Promise<Limited | null> {
    let hit: { count: number; resetMs: number }
    try {
      hit = await this.counter.hit(tokenId)
    } catch (e) {
      throw unchecked('command', e)
    }
    return hit.count > this.counter.rule.limit ? { retryAfterS: retryAfter(hit.resetMs) } : null
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
export function createRateLimits(redis: RedisClient, keys: KeySpace, rules: { login?: RateLimitRule; commands?: RateLimitRule } = {}): RateLimits {
  return {
    login: new LoginLimiter(redis, keys.prefix, rules.login ?? LOGIN_LIMIT),
    commands: new CommandLimiter(redis, keys.prefix, rules.commands ?? COMMAND_LIMIT),
  }
}
