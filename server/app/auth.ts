/**
 * Viewer/operator authentication (docs/decisions/016-auth-that-ends.md): access tokens (kept only as SHA-256 hashes,
 * compared in constant time) are exchanged for a session stored in Redis (so any number of server processes share
 * it) and carried in an HttpOnly, SameSite=Strict cookie (`__Host-` prefixed and Secure over TLS).
 *
 * Sessions end when they should:
 * - a session is bound to the token that made it (`tokenId`, derived from the token's hash); when that token is no
 *   longer configured, the session is refused on its next use;
 * - "sign out everywhere" ends every session of the caller's token (`P:tokensessions:<tokenId>` lists them);
 * - Redis holds the SHA-256 of the cookie value as the key name, never the value: reading the keyspace (KEYS, a
 *   backup, a replica) gives no usable cookie.
 *
 * Secure default (docs/PRODUCT.md "Security"): with no token configured, login links are one-time tokens kept in
 * Redis as hashes (`issueLoginLink`, printed at start and by `npm run login-link`) and consumed by GETDEL on first
 * use, whichever server process sees it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { RedisClient } from '../sdk/redisTopology'
import { z } from 'zod'
import type { KeySpace } from '../../shared/keys'
import { Role } from '../../shared/schemas'
import { NAME_PATTERN } from '../../shared/vocabulary'

/** Name of the session cookie over plain HTTP. */
export const SESSION_COOKIE = 'fusebox_session'
/**
 * Name of the session cookie over TLS: the `__Host-` prefix makes browsers accept it only with Secure, Path=/ and
 * no Domain, so a sibling subdomain cannot plant or shadow it.
 */
export const SECURE_SESSION_COOKIE = '__Host-fusebox_session'

/** The cookie name for a request that is (`secure`) or is not served over TLS. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE
}

/** Token id of every session made from a one-time login link (they form one family for "sign out everywhere"). */
export const LOGIN_LINK_TOKEN_ID = 'login-link'
/** Audit actor of a login-link session. */
export const LOGIN_LINK_ACTOR = 'login-link'
/** Lifetime of a printed login link that nobody used, seconds (1 h; `npm run login-link` prints a new one). */
export const LOGIN_LINK_TTL_S = 3600
/** Most live sessions one token may have; the oldest are ended beyond it (bounds `P:tokensessions:*`). */
export const MAX_SESSIONS_PER_TOKEN = 1000

/** A configured access token: its role, an optional person's name (the audit actor) and the secret. */
export interface TokenSpec {
  role: Role
  /** NAME_PATTERN; without it the actor is `<role>-<first 8 hex of the token id>` (stable, not positional). */
  name?: string
  token: string
}

/** What a valid token grants: the id sessions are bound to, the role, and the actor name the audit records. */
export interface TokenGrant {
  tokenId: string
  role: Role
  actor: string
}

/**
 * A logged-in session. `id` is the cookie value (in memory only); `keyId` = SHA-256 hex of it, the Redis key name.
 * `actor` names the token holder in the audit log.
 */
export interface Session extends TokenGrant {
  id: string
  keyId: string
  createdAtMs: number
  /**
   * Set when the host application vouched for the user (`hostSession`, docs/decisions/025): nothing is stored in
   * Redis, `id` is empty, and the session lasts exactly as long as the host's `authenticate` hook keeps answering
   * the same user.
   */
  host?: true
}

const StoredSession = z.object({ role: Role, actor: z.string().min(1).max(100), tokenId: z.string().min(1).max(64), createdAtMs: z.number() })

/** Cookie values we issue: 32 random bytes, base64url (43 characters). Anything else is not looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/
/** Login link tokens we issue: the same shape. */
const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** SHA-256 hex of a string (session key ids, login link keys). */
export function sha256Hex(s: string): string {
  return sha256(s).toString('hex')
}

/**
 * Stable id of a token: 16 hex characters (64 bits) of a domain-separated SHA-256, so it names the token in
 * sessions, rate-limit keys and default actor names without revealing the token or its plain hash.
 */
export function tokenIdOf(token: string): string {
  return createHash('sha256').update('fusebox-token-id\0', 'utf8').update(token, 'utf8').digest('hex').slice(0, 16)
}

interface TokenEntry extends TokenGrant {
  hash: Buffer
}

/** Options of `Auth` beyond the tokens. */
export interface AuthOptions {
  /**
   * Accept one-time login link tokens from Redis (`issueLoginLink`). Default: true exactly when no token is
   * configured (the secure default of `npm start`).
   */
  loginLinks?: boolean
}

/**
 * Issues a one-time login link token: 32 random bytes (base64url); only its SHA-256 is stored in Redis
 * (`P:loginlink:<hash>`, expiring after `ttlS`, default LOGIN_LINK_TTL_S). Used by the server at start and by
 * `npm run login-link` (server/app/loginLinkCli.ts). Returns the plain token, to be shown once.
 */
export async function issueLoginLink(redis: RedisClient, keys: KeySpace, ttlS: number = LOGIN_LINK_TTL_S): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await redis.set(keys.loginLink(sha256Hex(token)), '1', 'EX', ttlS)
  return token
}

/** Known tokens and the session store. */
export class Auth {
  private readonly tokens: TokenEntry[]
  private readonly byId = new Map<string, TokenEntry>()
  private readonly loginLinks: boolean

  /**
   * @param operatorTokens plain tokens, or named ones, from configuration (hashed here, the plain text is not kept)
   * @param viewerTokens likewise, for read-only access
   * @param sessionTtlS session lifetime in seconds (fractions allowed, for tests)
   * @throws Error when a token or a name appears twice, or a name breaks NAME_PATTERN
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    operatorTokens: readonly (string | Omit<TokenSpec, 'role'>)[],
    viewerTokens: readonly (string | Omit<TokenSpec, 'role'>)[],
    private readonly sessionTtlS: number,
    options: AuthOptions = {},
  ) {
    const specs: TokenSpec[] = [
      ...operatorTokens.map((t) => (typeof t === 'string' ? { role: 'operator' as const, token: t } : { ...t, role: 'operator' as const })),
      ...viewerTokens.map((t) => (typeof t === 'string' ? { role: 'viewer' as const, token: t } : { ...t, role: 'viewer' as const })),
    ]
    this.tokens = []
    const names = new Set<string>()
    for (const spec of specs) {
      const tokenId = tokenIdOf(spec.token)
      if (this.byId.has(tokenId)) throw new Error(`an access token is configured twice (token id ${tokenId})`)
      if (spec.name !== undefined) {
        if (!NAME_PATTERN.test(spec.name)) throw new Error(`token name "${spec.name}" must match ${String(NAME_PATTERN)}`)
        if (names.has(spec.name)) throw new Error(`token name "${spec.name}" is used twice`)
        names.add(spec.name)
      }
      const entry: TokenEntry = { hash: sha256(spec.token), tokenId, role: spec.role, actor: spec.name ?? `${spec.role}-${tokenId.slice(0, 8)}` }
      this.tokens.push(entry)
      this.byId.set(tokenId, entry)
    }
    this.loginLinks = options.loginLinks ?? this.tokens.length === 0
  }

  /** True when no token was configured (login links are then the way in). */
  get isEmpty(): boolean {
    return this.tokens.length === 0
  }

  /** Whether one-time login links are accepted (AuthOptions.loginLinks). */
  get acceptsLoginLinks(): boolean {
    return this.loginLinks
  }

  /** The grant of a configured token, or null. Compares every hash in constant time. */
  check(token: string): TokenGrant | null {
    const h = sha256(token)
    let found: TokenEntry | null = null
    for (const entry of this.tokens) if (timingSafeEqual(entry.hash, h) && found === null) found = entry
    return found ? { tokenId: found.tokenId, role: found.role, actor: found.actor } : null
  }

  /**
   * The grant of a configured token, or of a pending one-time login link, which this consumes (GETDEL: exactly one
   * caller, on any server process, gets it). Null for anything else.
   */
  async redeem(token: string): Promise<TokenGrant | null> {
    const configured = this.check(token)
    if (configured) return configured
    if (!this.loginLinks || !LINK_TOKEN.test(token)) return null
    const consumed = await this.redis.getdel(this.keys.loginLink(sha256Hex(token)))
    return consumed === null ? null : { tokenId: LOGIN_LINK_TOKEN_ID, role: 'operator', actor: LOGIN_LINK_ACTOR }
  }

  /**
   * Creates a session for a grant (expiring after the TTL) and returns it. The token's session index is written
   * first, so a session is never live without being listed for "sign out everywhere"; the index is pruned of
   * expired entries and capped at MAX_SESSIONS_PER_TOKEN (the oldest sessions are ended).
   */
  async createSession(grant: TokenGrant, nowMs: number): Promise<Session> {
    const id = randomBytes(32).toString('base64url')
    const keyId = sha256Hex(id)
    const ttlMs = Math.max(1, Math.round(this.sessionTtlS * 1000))
    const index = this.keys.tokenSessions(grant.tokenId)
    const [, , , [, card]] = (await this.redis
      .multi()
      .zremrangebyscore(index, '-inf', nowMs)
      .zadd(index, nowMs + ttlMs, keyId)
      .pexpire(index, ttlMs)
      .zcard(index)
      .exec()) as [unknown, unknown, unknown, [unknown, number]]
    if (card > MAX_SESSIONS_PER_TOKEN) {
      const evicted = (await this.redis.zpopmin(index, card - MAX_SESSIONS_PER_TOKEN)).filter((_, i) => i % 2 === 0)
      for (const k of evicted) await this.redis.del(this.keys.session(k))
    }
    const stored = { role: grant.role, actor: grant.actor, tokenId: grant.tokenId, createdAtMs: nowMs }
    await this.redis.set(this.keys.session(keyId), JSON.stringify(stored), 'PX', ttlMs)
    return { id, keyId, ...stored }
  }

  /**
   * The session with that cookie value, or null when unknown, expired, malformed, or made by a token that is no
   * longer configured here. The role is the token's current one (a token moved to the viewer list
   * loses operator rights at once).
   */
  async getSession(id: string | undefined): Promise<Session | null> {
    if (!id || !SESSION_ID.test(id)) return null
    const keyId = sha256Hex(id)
    const raw = await this.redis.get(this.keys.session(keyId))
    if (raw === null) return null
    let parsed: z.infer<typeof StoredSession>
    try {
      const result = StoredSession.safeParse(JSON.parse(raw))
      if (!result.success) return null
      parsed = result.data
    } catch {
      return null
    }
    const role = this.currentRole(parsed.tokenId)
    // Refused, not deleted: during a rolling restart another process may still (or already) have the token; the key
    // expires with the session either way.
    if (role === null) return null
    return { id, keyId, ...parsed, role }
  }

  /** Role a token id grants now, or null when it is not configured (login links: only while they are accepted). */
  private currentRole(tokenId: string): Role | null {
    if (tokenId === LOGIN_LINK_TOKEN_ID) return this.loginLinks ? 'operator' : null
    return this.byId.get(tokenId)?.role ?? null
  }

  /** Deletes a session (logout). */
  async deleteSession(session: Pick<Session, 'keyId' | 'tokenId'>): Promise<void> {
    await this.redis.del(this.keys.session(session.keyId))
    await this.redis.zrem(this.keys.tokenSessions(session.tokenId), session.keyId)
  }

  /**
   * Ends every session of a token ("sign out everywhere"), on every server process (their next request, or the
   * next re-check of a live stream, finds no session). Returns how many sessions were listed.
   */
  async deleteTokenSessions(tokenId: string): Promise<number> {
    const index = this.keys.tokenSessions(tokenId)
    const members = await this.redis.zrange(index, '0', '-1')
    // One key per command: session keys carry no hash tag (shared/keys.ts), so no multi-key DEL across slots.
    for (const keyId of members) await this.redis.del(this.keys.session(keyId))
    if (members.length > 0) await this.redis.zrem(index, ...members)
    return members.length
  }

  /** Session lifetime in seconds (for the cookie's Max-Age). */
  get ttlS(): number {
    return this.sessionTtlS
  }
}

/**
 * A user the host application vouches for: what a mounted dashboard's `authenticate` hook returns
 * (docs/decisions/025). `name` becomes the audit actor (trimmed; 1–100 characters, no control characters).
 */
export interface HostUser {
  /** `Role`, spelled out so the package's declarations need no zod. */
  role: 'viewer' | 'operator'
  name: string
}

/** The shape `authenticate` must answer (extra fields of the host's own user object are ignored). */
export const HostUserSchema = z.object({
  role: Role,
  name: z
    .string()
    .trim()
    .min(1, { error: 'name must not be empty' })
    .max(100, { error: 'name must be at most 100 characters' })
    .regex(/^[^\p{Cc}]*$/u, { error: 'name must not contain control characters' }),
})

/** Default bound on one call of the host's `authenticate` hook, ms: below the dashboard's 5 s session check. */
export const HOST_AUTH_TIMEOUT_MS = 3000

/** Why the host's `authenticate` hook gave no usable answer: it threw, took too long, or answered a malformed user. */
export class HostAuthError extends Error {
  constructor(
    message: string,
    readonly reason: 'threw' | 'timeout' | 'invalid',
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'HostAuthError'
  }
}

/**
 * Calls the host's hook for one request, bounded by `timeoutMs`, and validates its answer.
 * @returns the user (name trimmed), or null when the hook answered null/undefined (not signed in at the host)
 * @throws HostAuthError when the hook throws, rejects, takes longer than `timeoutMs`, or answers anything else
 */
export async function callHostAuth<R>(hook: (req: R) => unknown, req: R, timeoutMs: number = HOST_AUTH_TIMEOUT_MS): Promise<HostUser | null> {
  let timer: NodeJS.Timeout | undefined
  let answer: unknown
  try {
    answer = await Promise.race([
      Promise.resolve().then(() => hook(req)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HostAuthError(`the authenticate hook did not answer within ${timeoutMs} ms`, 'timeout')), timeoutMs)
        timer.unref()
      }),
    ])
  } catch (e) {
    if (e instanceof HostAuthError) throw e
    throw new HostAuthError(`the authenticate hook threw: ${e instanceof Error ? e.message : String(e)}`, 'threw', { cause: e })
  } finally {
    clearTimeout(timer)
  }
  if (answer === null || answer === undefined) return null
  const parsed = HostUserSchema.safeParse(answer)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')
    throw new HostAuthError(`the authenticate hook answered an invalid user (expected { role: 'viewer' | 'operator', name: string } or null): ${issues}`, 'invalid')
  }
  return { role: parsed.data.role, name: parsed.data.name }
}

/**
 * The in-memory session of a host-authenticated user. Its `tokenId` and `keyId` (`host-` + 16 hex of a
 * domain-separated SHA-256 of the name) key the per-user command budget and live-stream cap, so one host user's
 * tabs share them as one token's sessions do.
 */
export function hostSession(user: HostUser, nowMs: number): Session {
  const id = `host-${createHash('sha256').update('fusebox-host-user\0', 'utf8').update(user.name, 'utf8').digest('hex').slice(0, 16)}`
  return { id: '', keyId: id, tokenId: id, role: user.role, actor: user.name, createdAtMs: nowMs, host: true }
}
