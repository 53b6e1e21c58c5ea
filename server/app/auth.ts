/**
 * Viewer/operator authentication: access tokens (kept only as SHA-256 hashes, compared in constant time) are
 * exchanged for a session stored in Redis (so any number of server processes share it) and carried in an
 * HttpOnly, SameSite=Strict cookie (Secure over TLS).
 *
 * Secure default (docs/PRODUCT.md "Security"): with no token configured, a random 256-bit operator token is generated at
 * start and a login link is printed once; nothing is reachable anonymously.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import { z } from 'zod'
import type { KeySpace } from '../../shared/keys'
import { Role } from '../../shared/schemas'

/** Name of the session cookie. */
export const SESSION_COOKIE = 'fusebox_session'

/** A logged-in session. `actor` names the token holder in the audit log. */
export interface Session {
  id: string
  role: Role
  actor: string
  createdAtMs: number
}

const StoredSession = z.object({ role: Role, actor: z.string(), createdAtMs: z.number() })

interface TokenEntry {
  hash: Buffer
  role: Role
  actor: string
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Known tokens and the session store. */
export class Auth {
  private readonly tokens: TokenEntry[]

  /**
   * @param operatorTokens plain tokens from configuration (hashed here, the plain text is not kept)
   * @param viewerTokens likewise, for read-only access
   * @param sessionTtlS session lifetime in seconds
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    operatorTokens: readonly string[],
    viewerTokens: readonly string[],
    private readonly sessionTtlS: number,
  ) {
    this.tokens = [
      ...operatorTokens.map((t, i) => ({ hash: sha256(t), role: 'operator' as const, actor: `operator#${i + 1}` })),
      ...viewerTokens.map((t, i) => ({ hash: sha256(t), role: 'viewer' as const, actor: `viewer#${i + 1}` })),
    ]
  }

  /** True when no token was configured (the caller then adds a generated one). */
  get isEmpty(): boolean {
    return this.tokens.length === 0
  }

  /** Generates a random operator token (256 bits, base64url), registers it and returns the plain text once. */
  generateOperatorToken(): string {
    const token = randomBytes(32).toString('base64url')
    this.tokens.push({ hash: sha256(token), role: 'operator', actor: 'operator (generated token)' })
    return token
  }

  /** Role and actor of a token, or null. Compares every hash in constant time. */
  check(token: string): { role: Role; actor: string } | null {
    const h = sha256(token)
    let found: TokenEntry | null = null
    for (const entry of this.tokens) if (timingSafeEqual(entry.hash, h) && found === null) found = entry
    return found ? { role: found.role, actor: found.actor } : null
  }

  /** Creates a session in Redis (expiring after the TTL) and returns it. */
  async createSession(role: Role, actor: string, nowMs: number): Promise<Session> {
    const id = randomBytes(32).toString('base64url')
    await this.redis.set(this.keys.session(id), JSON.stringify({ role, actor, createdAtMs: nowMs }), 'EX', this.sessionTtlS)
    return { id, role, actor, createdAtMs: nowMs }
  }

  /** The session with that id, or null when unknown, expired or malformed. */
  async getSession(id: string | undefined): Promise<Session | null> {
    if (!id || !/^[A-Za-z0-9_-]{20,64}$/.test(id)) return null
    const raw = await this.redis.get(this.keys.session(id))
    if (raw === null) return null
    try {
      const parsed = StoredSession.safeParse(JSON.parse(raw))
      return parsed.success ? { id, ...parsed.data } : null
    } catch {
      return null
    }
  }

  /** Deletes a session (logout). */
  async deleteSession(id: string): Promise<void> {
    await this.redis.del(this.keys.session(id))
  }

  /** Session lifetime in seconds (for the cookie's Max-Age). */
  get ttlS(): number {
    return this.sessionTtlS
  }
}
