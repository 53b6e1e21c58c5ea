/**
 * A tRPC caller of the real router for command and audit tests: a context with the given role and clock on the
 * test Redis, without the HTTP layer (no rate limits, no stream guard). Tests only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import type { AuditRetention } from './audit'
import { appRouter } from './router'
import { createCallerFactory, type Context } from './trpc'

const createCaller = createCallerFactory(appRouter)

/** Options of `testCaller`: role (default operator), clock (default `Date.now`), audit bounds (default 90 days). */
export interface TestCallerOptions {
  role?: 'operator' | 'viewer'
  now?: () => number
  auditRetention?: AuditRetention
}

/** A caller acting as `actor` with `options.role`. */
export function testCaller(redis: RedisClient, keys: KeySpace, actor: string, options: TestCallerOptions = {}) {
  const role = options.role ?? 'operator'
  // The session's shape belongs to auth.ts; procedures here read only role and actor.
  const session = { id: 's'.repeat(43), keyId: 'k', tokenId: `token-${actor}`, role, actor, createdAtMs: Date.now() } as unknown as Context['session']
  const ctx = {
    req: {} as IncomingMessage,
    res: { setHeader: () => undefined } as unknown as ServerResponse,
    redis,
    keys,
    auth: null as unknown as Context['auth'],
    hub: null as unknown as Context['hub'],
    session,
    secure: false,
    now: options.now ?? Date.now,
    auditRetention: options.auditRetention,
  } as Context
  return createCaller(ctx)
}
