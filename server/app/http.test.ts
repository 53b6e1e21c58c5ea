import { randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliDecompressSync } from 'node:zlib'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { deletePrefix, openTestRedis, scanKeys, testRedisUrl, testTopology } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { startBlackHole, startTcpProxy } from '../testing/tcpProxy'
import { Auth, SESSION_COOKIE } from './auth'
import { createHttpApp, shouldCompress, type HttpOptions } from './http'
import { createOverviewHub } from './readModel'
import { REDIS_UNAVAILABLE_MESSAGE } from './redisUnavailable'

const OPERATOR = 'operator-token-for-tests-0001'
const VIEWER = 'viewer-token-for-tests-00001'
const prefix = `h${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
let redis: RedisClient
let server: Server
let base: string

beforeAll(async () => {
  redis = openTestRedis()
  const auth = new Auth(redis, keys, [OPERATOR], [VIEWER], 3600)
  // Many logins from one address in this file: a generous login limit here; the real limits are tested on fresh apps.
  const app = createHttpApp({ redis, keys, auth, tls: false, hub: createOverviewHub(redis, keys) }, { staticDir: 'dist', rateLimits: { login: { windowMs: 60_000, limit: 1000 } } })
  server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await redis.sadd(keys.breakers('storefront'), 'payments')
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await redis.quit()
})

const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }

async function login(token: string): Promise<string> {
  const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token }) })
  expect(res.status).toBe(200)
  const cookie = res.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/HttpOnly/i)
  expect(cookie).toMatch(/SameSite=Strict/i)
  return cookie.split(';')[0]!
}

function command(cookie?: string, init: Partial<RequestInit> = {}): Promise<Response> {
  return fetch(`${base}/trpc/breakers.command`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ service: 'storefront', breaker: 'payments', command: 'reset', reason: 'test' }),
    ...init,
  })
}

describe('HTTP API', () => {
  it('refuses a mutation without a session with 401', async () => {
    expect((await command()).status).toBe(401)
  })

  it('refuses a mutation from a viewer session with 403', async () => {
    expect((await command(await login(VIEWER))).status).toBe(403)
  })

  it('accepts a mutation from an operator session and returns the command id and generation', async () => {
    const res = await command(await login(OPERATOR))
    expect(res.status).toBe(200)
    const body = (await res.json()) as { result: { data: { commandId: string; generation: number } } }
    expect(body.result.data.generation).toBeGreaterThanOrEqual(1)
  })

  it('refuses a wrong token with 401 and reads nothing anonymously', async () => {
    const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token: 'nope' }) })
    expect(res.status).toBe(401)
    expect((await fetch(`${base}/trpc/overview.get`)).status).toBe(401)
  })

  it('refuses text/plain and form posts to a mutation before the resolver runs', async () => {
    const cookie = await login(OPERATOR)
    const before = await redis.hget(keys.breakerDesired('storefront', 'payments'), 'generation')
    const plain = await command(cookie, { headers: { 'content-type': 'text/plain', cookie } })
    const form = new FormData()
    form.set('service', 'storefront')
    const multipart = await fetch(`${base}/trpc/breakers.command`, { method: 'POST', headers: { cookie, 'x-fusebox-csrf': '1' }, body: form })
    const noHeader = await command(cookie, { headers: { 'content-type': 'application/json', cookie } })
    expect([plain.status, multipart.status, noHeader.status]).toEqual([415, 415, 403])
    expect(await redis.hget(keys.breakerDesired('storefront', 'payments'), 'generation')).toBe(before)
  })

  it('refuses GET on a mutation', async () => {
    const cookie = await login(OPERATOR)
    const res = await fetch(`${base}/trpc/breakers.command?input=${encodeURIComponent('{}')}`, { headers: { cookie } })
    expect(res.status).toBe(405)
  })

  it('answers bad input with a 400 and no stack trace', async () => {
    const cookie = await login(OPERATOR)
    const res = await fetch(`${base}/trpc/breakers.command`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, cookie },
      body: JSON.stringify({ service: '{evil}', breaker: 'payments', command: 'explode', reason: '' }),
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toMatch(/stack|at .*\.ts:\d+/)
  })

  it('sends security headers: CSP without unsafe-inline scripts, frame-ancestors none, nosniff, referrer policy', async () => {
    const res = await fetch(`${base}/healthz`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })
})

/** A fresh app (own random key prefix, so its rate-limit counters are its own) on an ephemeral port. */
async function freshApp(options: Partial<HttpOptions> = {}): Promise<{ base: string; keys: ReturnType<typeof createKeySpace>; close(): Promise<void> }> {
  const k = createKeySpace(`h${randomBytes(6).toString('hex')}`)
  const auth = new Auth(redis, k, [OPERATOR], [VIEWER], 3600)
  const srv = createHttpApp({ redis, keys: k, auth, tls: false, hub: createOverviewHub(redis, k) }, { staticDir: 'dist', ...options }).listen(0, '127.0.0.1')
  await new Promise((r) => srv.once('listening', r))
  return {
    base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    keys: k,
    async close() {
      srv.closeAllConnections()
      await new Promise((r) => srv.close(r))
      await deletePrefix(redis, k.prefix)
    },
  }
}

function post(at: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${at}/trpc/${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) })
}

/** GET with exact request headers (fetch would add its own Accept-Encoding and decode the body). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const TOO_MANY = { code: -32029, data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } }

describe('rate limits', () => {
  it('answers the 11th failed login within 5 minutes with 429, a tRPC-shaped error and Retry-After', async () => {
    const app = await freshApp()
    try {
      expect((await post(app.base, 'auth.login', { token: OPERATOR })).status).toBe(200) // successes do not count
      for (let i = 0; i < 10; i++) expect((await post(app.base, 'auth.login', { token: `wrong-${i}` })).status).toBe(401)
      const res = await post(app.base, 'auth.login', { token: 'wrong-10' })
      expect(res.status).toBe(429)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(300)
      const body = (await res.json()) as { error: { message: string; code: number; data: unknown } }
      expect(body.error).toMatchObject(TOO_MANY)
      expect(body.error.message).toMatch(/too many/i)
      // Counters live in Redis under the app's prefix (shared by every server process).
      expect(await scanKeys(redis, `${app.keys.prefix}:rl:login:*`)).toHaveLength(1)
      // The right token still logs in (one check per second per limited address: authEnds.test.ts).
      await new Promise((r) => setTimeout(r, 1100))
      expect((await post(app.base, 'auth.login', { token: OPERATOR })).status).toBe(200)
      // Other procedures are not affected by the login limit.
      expect((await fetch(`${app.base}/trpc/auth.me`)).status).toBe(401)
    } finally {
      await app.close()
    }
  })

  it('counts every auth.login call of a batch, so batching does not multiply guesses', async () => {
    const app = await freshApp()
    try {
      const batch = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [String(i), { token: `wrong-${i}` }]))
      const path = `${Array(5).fill('auth.login').join(',')}?batch=1`
      expect((await post(app.base, path, batch)).status).toBe(401)
      expect((await post(app.base, path, batch)).status).toBe(401)
      expect((await post(app.base, path, batch)).status).toBe(429)
      // Percent-encoding the name (tRPC decodes it) does not dodge the count either.
      expect((await post(app.base, 'auth%2Elogin', { token: 'wrong-encoded' })).status).toBe(429)
    } finally {
      await app.close()
    }
  })

  // A TCP proxy in front of the one standalone node cuts Redis off: single-node only.
  it.skipIf(testTopology() === 'cluster')('refuses logins with 503 (never lets them through unchecked) while its rate-limit store is unreachable, and limits again once it is back', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port))
    proxy.cut() // down from the start: the store cannot even load its script
    const flaky = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    flaky.on('error', () => undefined)
    const k = createKeySpace(`h${randomBytes(6).toString('hex')}`)
    const auth = new Auth(redis, k, [OPERATOR], [VIEWER], 3600) // sessions on the healthy client
    const srv = createHttpApp({ redis: flaky, keys: k, auth, tls: false, hub: createOverviewHub(flaky, k) }, { staticDir: 'dist' }).listen(0, '127.0.0.1')
    await new Promise((r) => srv.once('listening', r))
    const at = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
    try {
      // Not a single guess is checked without being counted: wrong and right tokens alike wait for the store.
      for (let i = 0; i < 12; i++) expect((await post(at, 'auth.login', { token: 'wrong' })).status).toBe(503)
      const right = await post(at, 'auth.login', { token: OPERATOR })
      expect(right.status).toBe(503)
      expect(((await right.json()) as { error: { data: { code: string } } }).error.data.code).toBe('SERVICE_UNAVAILABLE')
      proxy.restore()
      await new Promise<void>((resolve) => (flaky.status === 'ready' ? resolve() : flaky.once('ready', () => resolve())))
      for (let i = 0; i < 10; i++) expect((await post(at, 'auth.login', { token: 'wrong' })).status).toBe(401)
      expect((await post(at, 'auth.login', { token: 'wrong' })).status).toBe(429)
    } finally {
      srv.closeAllConnections()
      await new Promise((r) => srv.close(r))
      flaky.disconnect()
      await proxy.close()
      await deletePrefix(redis, k.prefix)
    }
  })

  // A TCP proxy in front of the one standalone node cuts Redis off: single-node only.
  it.skipIf(testTopology() === 'cluster')('answers 503 "Redis is unreachable" (not a 500) while Redis is down or hangs, and serves again once it is back', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port))
    const hole = await startBlackHole()
    const down = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    const hung = new Redis(`redis://127.0.0.1:${hole.port}`, { maxRetriesPerRequest: 1, commandTimeout: 300, lazyConnect: true })
    for (const c of [down, hung]) c.on('error', () => undefined)
    await down.ping()
    const k = createKeySpace(`h${randomBytes(6).toString('hex')}`)
    const healthyAuth = new Auth(redis, k, [OPERATOR], [VIEWER], 3600)
    const apps = await Promise.all(
      [
        { data: down, auth: new Auth(down, k, [OPERATOR], [VIEWER], 3600) }, // the session lookup fails
        { data: hung, auth: healthyAuth }, // signed in, then the query hangs until commandTimeout
      ].map(async ({ data, auth }) => {
        const srv = createHttpApp({ redis: data, keys: k, auth, tls: false, hub: createOverviewHub(data, k) }, { staticDir: 'dist' }).listen(0, '127.0.0.1')
        await new Promise((r) => srv.once('listening', r))
        return { srv, at: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` }
      }),
    )
    try {
      const session = await healthyAuth.createSession(healthyAuth.check(VIEWER)!, Date.now())
      const cookie = `${SESSION_COOKIE}=${session.id}`
      proxy.cut()
      for (const { at } of apps) {
        const res = await fetch(`${at}/trpc/overview.get`, { headers: { cookie } })
        expect(res.status).toBe(503)
        const body = (await res.json()) as { error: { message: string; data: { code: string } } }
        expect(body.error.message).toBe(REDIS_UNAVAILABLE_MESSAGE)
        expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE')
      }
      proxy.restore()
      await new Promise<void>((resolve) => (down.status === 'ready' ? resolve() : down.once('ready', () => resolve())))
      // The proxied client reaches the same Redis: the session made on the healthy one is found once it is back.
      expect((await fetch(`${apps[0]!.at}/trpc/overview.get`, { headers: { cookie } })).status).toBe(200)
    } finally {
      for (const { srv } of apps) {
        srv.closeAllConnections()
        await new Promise((r) => srv.close(r))
      }
      down.disconnect()
      hung.disconnect()
      await proxy.close()
      await hole.close()
      await deletePrefix(redis, k.prefix)
    }
  })

  it('limits operator commands to 30 per minute per token, queries not at all', async () => {
    const app = await freshApp()
    try {
      const cookie = await (async () => {
        const res = await post(app.base, 'auth.login', { token: OPERATOR })
        return (res.headers.get('set-cookie') ?? '').split(';')[0]!
      })()
      const body = { service: 'storefront', breaker: 'nope', command: 'reset', reason: 'rate limit test' }
      for (let i = 0; i < 20; i++) expect((await post(app.base, 'breakers.command', body, { cookie })).status).toBe(404)
      const tag = { service: 'storefront', cache: 'products', tag: 'sku-1', reason: 'rate limit test' }
      for (let i = 0; i < 10; i++) expect((await post(app.base, 'caches.invalidateTag', tag, { cookie })).status).toBe(200)
      for (let i = 0; i < 10; i++) expect((await fetch(`${app.base}/trpc/auth.me`, { headers: { cookie } })).status).toBe(200)
      const limited = await post(app.base, 'breakers.command', body, { cookie })
      expect(limited.status).toBe(429)
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(((await limited.json()) as { error: unknown }).error).toMatchObject(TOO_MANY)
      expect((await fetch(`${app.base}/trpc/auth.me`, { headers: { cookie } })).status).toBe(200)
      expect((await post(app.base, 'auth.logout', {}, { cookie })).status).toBe(200)
    } finally {
      await app.close()
    }
  })
})

describe('compression', () => {
  it('serves assets and tRPC JSON brotli-compressed when the client accepts br', async () => {
    const asset = (await import('node:fs')).readdirSync('dist/assets').find((f) => f.endsWith('.js'))!
    const js = await rawGet(`${base}/assets/${asset}`, { 'accept-encoding': 'br' })
    expect(js.status).toBe(200)
    expect(js.headers['content-encoding']).toBe('br')
    expect(js.headers.vary).toMatch(/accept-encoding/i)
    expect(brotliDecompressSync(js.body).toString('utf8').length).toBeGreaterThan(js.body.length)

    // A batch of ten 401s is > 1 KiB of JSON (the compression threshold).
    const path = `/trpc/${Array(10).fill('overview.get').join(',')}?batch=1`
    const json = await rawGet(`${base}${path}`, { 'accept-encoding': 'gzip, br' })
    expect(json.headers['content-type']).toMatch(/^application\/json/)
    expect(json.headers['content-encoding']).toBe('br')
    const decoded = JSON.parse(brotliDecompressSync(json.body).toString('utf8')) as { error: { data: { httpStatus: number } } }[]
    expect(decoded.map((e) => e.error.data.httpStatus)).toEqual(Array(10).fill(401))

    const gzip = await rawGet(`${base}/assets/${asset}`, { 'accept-encoding': 'gzip' })
    expect(gzip.headers['content-encoding']).toBe('gzip')
  })

  it('filters out event streams and streamed JSONL even without Cache-Control: no-transform', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as Parameters<typeof shouldCompress>[0]
    const res = (type: string) => ({ getHeader: (n: string) => (n.toLowerCase() === 'content-type' ? type : undefined) }) as unknown as Parameters<typeof shouldCompress>[1]
    expect(shouldCompress(req({}), res('application/json'))).toBe(true)
    expect(shouldCompress(req({}), res('text/javascript; charset=utf-8'))).toBe(true)
    expect(shouldCompress(req({}), res('text/event-stream'))).toBe(false)
    expect(shouldCompress(req({ accept: 'text/event-stream' }), res('application/json'))).toBe(false)
    expect(shouldCompress(req({ 'trpc-accept': 'application/jsonl' }), res('application/json'))).toBe(false)
    expect(shouldCompress(req({}), res('image/png'))).toBe(false)
  })

  it('never compresses or buffers an SSE subscription: the first snapshot arrives promptly, uncompressed', async () => {
    const cookie = await login(VIEWER)
    const controller = new AbortController()
    const started = performance.now()
    const res = await fetch(`${base}/trpc/live.snapshot`, {
      headers: { cookie, accept: 'text/event-stream', 'accept-encoding': 'br, gzip' },
      signal: controller.signal,
    })
    try {
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      expect(res.headers.get('content-encoding')).toBeNull()
      const reader = res.body!.getReader()
      let text = ''
      // tRPC sends `event: connected` first; a snapshot is a data event without an `event:` line.
      const hasSnapshot = () => text.split(/\r?\n\r?\n/).slice(0, -1).some((e) => /^data: /m.test(e) && !/^event: /m.test(e))
      while (!hasSnapshot()) {
        const { done, value } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      expect(text).toMatch(/"asOfMs":\d+/)
      // Live push is every second; a compressor holding the stream back would miss this by far.
      expect(performance.now() - started).toBeLessThan(2500)
    } finally {
      controller.abort()
    }
  })
})
