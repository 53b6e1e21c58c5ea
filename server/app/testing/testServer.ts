/**
 * Test helper: the real Fusebox HTTP app (createHttpApp, real Redis from the Vitest globalSetup) on an ephemeral
 * loopback port, with a fresh random key prefix per server, plus `call()` — the HTTP a tRPC v11 client sends for a
 * query, a mutation or a subscription (non-batched wire format).
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createKeySpace, type KeySpace } from '../../../shared/keys'
import type { Role } from '../../../shared/schemas'
import { deletePrefix, openTestRedis } from '../../testing/redis'
import type { RedisClient } from '../../sdk/redisTopology'
import { Auth, SESSION_COOKIE } from '../auth'
import { CSRF_HEADER } from '../../../shared/vocabulary'
import { createHttpApp } from '../http'
import { createOverviewHub } from '../readModel'

/** Access tokens the test server accepts. */
export const OPERATOR_TOKEN = 'operator-token-for-tests-0001'
export const VIEWER_TOKEN = 'viewer-token-for-tests-00001'

/**
 * Rate limits high enough never to trigger (login: 10 per 5 min by default): the security tests need every call to
 * reach tRPC. Pass `http: { rateLimits: undefined }` to test the real limits.
 */
export const NO_RATE_LIMITS = { login: { windowMs: 60_000, limit: 1_000_000 }, commands: { windowMs: 60_000, limit: 1_000_000 } }

/** Options of `startTestServer`. */
export interface TestServerOptions {
  /** Redis client the app's procedures use (default: the server's own client). Auth always uses its own. */
  appRedis?: RedisClient
  /** Redis client the session store uses (default: the server's own client). */
  authRedis?: RedisClient
  /** Overrides of the HTTP options (default `{ staticDir: 'dist', rateLimits: NO_RATE_LIMITS }`). */
  http?: Partial<Parameters<typeof createHttpApp>[1]>
}

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  base: string
  /** The server's own Redis client (connected to the test Redis of the run's topology: a Redis or a Cluster). */
  redis: RedisClient
  keys: KeySpace
  auth: Auth
  /**
   * A fresh session cookie (`fusebox_session=<id>`) for the role, created directly in the session store (no HTTP
   * login, so it never counts against the login rate limit).
   */
  login(role: Role): Promise<string>
  /** Stops the server, deletes every key under its prefix and quits its Redis client. */
  close(): Promise<void>
}

/** Starts the real HTTP app on 127.0.0.1:0 with a fresh key prefix. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const redis = openTestRedis()
  const keys = createKeySpace('t' + randomBytes(6).toString('hex'))
  const auth = new Auth(opts.authRedis ?? redis, keys, [OPERATOR_TOKEN], [VIEWER_TOKEN], 3600)
  const appRedis = opts.appRedis ?? redis
  const hub = createOverviewHub(appRedis, keys)
  const app = createHttpApp(
    // overviewMaxAgeMs 0: tests write and read back at once, so no answer is served again (in-flight calls still share).
    { redis: appRedis, keys, auth, tls: false, hub, overviewMaxAgeMs: 0 },
    { staticDir: 'dist', rateLimits: NO_RATE_LIMITS, ...opts.http },
  )
  const server: Server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // Sessions for `login()` always go to the working Redis, even when `authRedis` is a broken one.
  const sessions = new Auth(redis, keys, [OPERATOR_TOKEN], [VIEWER_TOKEN], 3600)
  let serial = 0
  return {
    base,
    redis,
    keys,
    auth,
    async login(role) {
      serial += 1
      // Bound to the configured token of that role (sessions of unknown tokens are refused), named per login.
      const grant = sessions.check(role === 'operator' ? OPERATOR_TOKEN : VIEWER_TOKEN)!
      const session = await sessions.createSession({ ...grant, actor: `${role}#test${serial}` }, Date.now())
      return `${SESSION_COOKIE}=${session.id}`
    },
    async close() {
      hub.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await deletePrefix(redis, keys.prefix)
      await redis.quit()
    },
  }
}

/** A tRPC procedure type. */
export type ProcedureType = 'query' | 'mutation' | 'subscription'

/**
 * What `call` got back. For a subscription, `text` is what arrived until the first event other than `connected`
 * or `ping` was complete (or a timeout).
 */
export interface CallResult {
  status: number
  headers: Headers
  text: string
}

/** Headers every mutation needs (JSON content type and the CSRF header). */
export const MUTATION_HEADERS = { 'content-type': 'application/json', [CSRF_HEADER]: '1' } as const

/**
 * Calls a procedure the way the tRPC v11 links do (non-batched): a query is `GET /trpc/<path>?input=<json>`, a
 * mutation `POST /trpc/<path>` with the raw input JSON as body, a subscription `GET` with
 * `accept: text/event-stream` (read until its first data or error event, or `sseWaitMs`, then aborted).
 * `input === undefined` sends no input.
 */
export function call(base: string, path: string, type: ProcedureType, input: unknown, cookie?: string, sseWaitMs = 3000): Promise<CallResult> {
  return callRaw(base, path, type, input === undefined ? undefined : JSON.stringify(input), cookie, sseWaitMs)
}

/** Like `call`, with the input already serialized (`wire`: the exact body / `input` parameter text, or none). */
export async function callRaw(
  base: string,
  path: string,
  type: ProcedureType,
  wire: string | undefined,
  cookie?: string,
  sseWaitMs = 3000,
): Promise<CallResult> {
  const auth: Record<string, string> = cookie ? { cookie } : {}
  if (type === 'mutation') {
    const res = await fetch(`${base}/trpc/${path}`, {
      method: 'POST',
      headers: { ...MUTATION_HEADERS, ...auth },
      ...(wire === undefined ? {} : { body: wire }),
    })
    return { status: res.status, headers: res.headers, text: await res.text() }
  }
  const query = wire === undefined ? '' : `?input=${encodeURIComponent(wire)}`
  return rawGet(base, `/trpc/${path}${query}`, type === 'subscription' ? { accept: 'text/event-stream', ...auth } : auth, sseWaitMs)
}

/**
 * The HTTP status of a call, or for an event stream that failed at once (HTTP 200, first event
 * `serialized-error`), the status of that error.
 */
export function effectiveStatus(res: CallResult): number {
  const m = /event: serialized-error\r?\ndata: (.*)/.exec(res.text)
  if (res.status === 200 && m) {
    const status = (JSON.parse(m[1]!) as { data?: { httpStatus?: unknown } }).data?.httpStatus
    return typeof status === 'number' ? status : 500
  }
  return res.status
}

/** True when `text` holds a complete SSE event other than tRPC's `connected` and `ping`. */
function hasMeaningfulEvent(text: string): boolean {
  const events = text.split(/\r?\n\r?\n/).slice(0, -1) // the last part is an incomplete event (or empty)
  return events.some((e) => e.trim() !== '' && !/^event: (connected|ping)\s*$/m.test(e))
}

/**
 * GET of a raw path (`/trpc/x?input=...`, not re-encoded). An event stream is read until its first event other
 * than `connected`/`ping` is complete or `sseWaitMs` passed, then aborted; anything else is read whole.
 */
export async function rawGet(base: string, pathAndQuery: string, headers: Record<string, string>, sseWaitMs = 3000): Promise<CallResult> {
  const controller = new AbortController()
  const res = await fetch(`${base}${pathAndQuery}`, { headers, signal: controller.signal })
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream') || !res.body) {
    return { status: res.status, headers: res.headers, text: await res.text() }
  }
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const timer = setTimeout(() => controller.abort(), sseWaitMs)
  try {
    // tRPC first sends `connected` (and may send `ping`); the first other event — data, `serialized-error` or
    // `return` — tells whether the subscription started or failed.
    while (!hasMeaningfulEvent(text)) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return { status: res.status, headers: res.headers, text }
}
