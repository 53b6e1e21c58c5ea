/**
 * Internal errors (issue #4): a real failure inside the server reaches the client as a 500 with the generic message
 * `Internal error (id <uuid>)` and that id in `error.data.errorId` — no stack, no cause, no Redis address — while the
 * server log carries the cause under the same id. Redis being unreachable is not an internal error: 503 with the
 * plain REDIS_UNAVAILABLE_MESSAGE, and nothing else leaks either.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { isCluster, type RedisClient } from '../sdk/redisTopology'
import { openTestRedis, testRedisTarget } from '../testing/redis'
import { REDIS_UNAVAILABLE_MESSAGE } from './redisUnavailable'
import { call, startTestServer, type CallResult, type TestServer } from './testing/testServer'

/** Host and port of every node the run's Redis is reached at (the one node, or every cluster seed): never in an answer. */
const redisEndpoints = ((target) =>
  typeof target === 'string'
    ? [{ hostname: new URL(target).hostname, port: new URL(target).port }]
    : target.cluster.split(',').map((seed) => ({ hostname: seed.slice(0, seed.lastIndexOf(':')), port: seed.slice(seed.lastIndexOf(':') + 1) })))(testRedisTarget())
const GENERIC = /^Internal error \(id ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)$/

interface ErrorBody {
  error: { message: string; code: number; data: { code: string; httpStatus: number; path?: string; errorId?: string } }
}

/** A connected client, then disconnected for good: every command rejects ("Connection is closed."). */
async function closedClient(): Promise<RedisClient> {
  const client = openTestRedis()
  await client.ping()
  if (!isCluster(client)) {
    client.disconnect()
    return client
  }
  // A Cluster refuses commands once it has ended. QUIT, not disconnect(): after disconnect() ioredis 6 drains its node
  // pool twice, going back from 'end' to 'close', where commands wait in its offline queue forever.
  const ended = new Promise((r) => client.once('end', r))
  await client.quit()
  await ended
  return client
}

/** Asserts the answer is the generic internal error and returns its id. */
function expectGenericInternalError(res: CallResult): string {
  expect(res.status, res.text).toBe(500)
  expectNoLeak(res.text)
  const body = JSON.parse(res.text) as ErrorBody
  const m = GENERIC.exec(body.error.message)
  expect(m, body.error.message).not.toBeNull()
  expect(body.error.data.errorId).toBe(m![1])
  expect(body.error.data.code).toBe('INTERNAL_SERVER_ERROR')
  expect(Object.keys(body.error.data).sort()).toEqual(['code', 'errorId', 'httpStatus', 'path'].filter((k) => k in body.error.data).sort())
  return m![1]!
}

/** Asserts the answer is 503 "Redis is unreachable: …" for `path`. */
function expectRedisUnavailable(res: CallResult, path: string): void {
  expect(res.status, res.text).toBe(503)
  expectNoLeak(res.text)
  const body = JSON.parse(res.text) as ErrorBody
  expect(body.error.message).toBe(REDIS_UNAVAILABLE_MESSAGE)
  expect(body.error.data).toEqual({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503, path })
}

function expectNoLeak(answer: string): void {
  // The one sentence that names Redis on purpose; no address, port, cause or stack besides it.
  const text = answer.replaceAll(REDIS_UNAVAILABLE_MESSAGE, '')
  expect(text).not.toMatch(/stack/i)
  expect(text).not.toMatch(/\bat [^\s"]+ \(?[^\s"]*:\d+:\d+\)?/)
  expect(text).not.toMatch(/redis/i)
  expect(text).not.toContain('127.0.0.1')
  for (const { hostname, port } of redisEndpoints) {
    expect(text).not.toContain(hostname)
    expect(text).not.toMatch(new RegExp(`\\b${port}\\b`))
  }
  expect(text).not.toMatch(/ECONNREFUSED|WRONGTYPE|NOPERM|Connection is closed/)
}

/** The console.error lines the server logged, joined. */
function logged(spy: { mock: { calls: unknown[][] } }): string {
  return spy.mock.calls.map((args) => args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : String(a))).join(' ')).join('\n')
}

const started: TestServer[] = []
const clients: RedisClient[] = []
async function server(opts: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const srv = await startTestServer(opts)
  started.push(srv)
  return srv
}

let errorSpy: ReturnType<typeof vi.spyOn>
beforeAll(() => {
  errorSpy = vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(() => {
  errorSpy.mockClear()
})
afterAll(async () => {
  errorSpy.mockRestore()
  await Promise.all(started.map((s) => s.close()))
  for (const c of clients) c.disconnect()
})

describe('Redis unreachable: 503 with a plain message, not an internal error', () => {
  it('a query whose Redis connection is closed', async () => {
    const broken = await closedClient()
    clients.push(broken)
    const srv = await server({ appRedis: broken })
    expectRedisUnavailable(await call(srv.base, 'overview.get', 'query', undefined, await srv.login('viewer')), 'overview.get')
    expect(logged(errorSpy)).not.toMatch(/internal error/)
  })

  it('the session lookup failing (Redis down before any resolver runs): queries and mutations alike', async () => {
    const broken = await closedClient()
    clients.push(broken)
    const srv = await server({ authRedis: broken })
    const cookie = await srv.login('operator') // stored through the working client; the app cannot read it
    for (const [path, type, input] of [
      ['overview.get', 'query', undefined],
      ['auth.me', 'query', undefined],
      ['breakers.command', 'mutation', { service: 'storefront', breaker: 'payments', command: 'reset', reason: 'x' }],
    ] as const) {
      expectRedisUnavailable(await call(srv.base, path, type, input, cookie), path)
    }
  })
})

describe('internal errors reach the client as a generic message with an error id', () => {
  it('a real Redis error reply (NOPERM) inside a resolver: 500, generic message', async () => {
    // Not WRONGTYPE: a key of the wrong type is bad data, skipped and counted (docs/decisions/014), not an error.
    // A user the ACL denies SMEMBERS gets a real error reply from the very first read of the overview.
    const user = `noperm${Date.now()}`
    // ACL users are per node: on a cluster, the user is set on every node (masters and replicas) the client may use.
    const admin = openTestRedis()
    clients.push(admin)
    await admin.ping()
    const aclNodes = isCluster(admin) ? admin.nodes('all') : [admin]
    await Promise.all(aclNodes.map((n) => n.acl('SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-smembers')))
    try {
      const denied = openTestRedis({ username: user, password: 'pw' })
      clients.push(denied)
      const srv = await server({ appRedis: denied })
      const res = await call(srv.base, 'overview.get', 'query', undefined, await srv.login('viewer'))
      const id = expectGenericInternalError(res)
      expect(logged(errorSpy)).toContain(id)
      expect(logged(errorSpy)).toMatch(/NOPERM/)
    } finally {
      await Promise.all(aclNodes.map((n) => n.acl('DELUSER', user)))
    }
  })

  it('a subscription whose Redis fails: the live hub skips the tick and logs it, the stream leaks nothing', async () => {
    const broken = await closedClient()
    clients.push(broken)
    const srv = await server({ appRedis: broken })
    // By design (liveHub.ts) a failed snapshot is logged and skipped and subscribers stay connected: no error event.
    const res = await call(srv.base, 'live.snapshot', 'subscription', undefined, await srv.login('viewer'), 1500)
    expect(res.status).toBe(200)
    expectNoLeak(res.text)
    const events = res.text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '')
    for (const e of events) {
      if (/^event: serialized-error/m.test(e)) {
        // Should the hub ever report errors to subscribers, they must be the generic shape too.
        const shape = JSON.parse(/^data: (.*)$/m.exec(e)![1]!) as { message: string; data: { errorId?: string } }
        expect(shape.message).toMatch(GENERIC)
        expect(shape.data.errorId).toBe(GENERIC.exec(shape.message)![1])
      } else {
        expect(e, res.text).toMatch(/^event: (connected|ping)$/m)
      }
    }
    expect(logged(errorSpy)).toMatch(/live snapshot failed[\s\S]*Connection is closed/)
  })
})
