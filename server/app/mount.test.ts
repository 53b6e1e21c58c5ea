/**
 * The mount adapters and the host sign-in (docs/decisions/025), over real HTTP against the real test redis-server:
 * an Express 5 host application with its own cookie sign-in mounts `fuseboxExpress` under /ops/fusebox, a Fastify 5
 * host registers `fuseboxFastify` under the same prefix; the host's users act as viewer or operator through the
 * `authenticate` hook, a failing hook answers 503 without taking the server down, and a read-only dashboard refuses
 * commands; in Chromium, the page under a Fastify prefix opens signed in as the host's user (repo `dist/`, built by
 * npm test). (Express 4 from CommonJS: server/app/dashboardTarball.test.ts, from the installed package.)
 */
import { randomBytes } from 'node:crypto'
import { Agent, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from '@playwright/test'
import express from 'express'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../../playwright.config'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { createCollector } from '../sdk/index'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { callHostAuth, type HostUser } from './auth'
import { createDashboard } from './dashboard'
import { fuseboxExpress, fuseboxFastify, type FuseboxExpressOptions, type FuseboxFastifyOptions } from './mount'
import { call, MUTATION_HEADERS } from './testing/testServer'

/** The host application's own users, by its session cookie `hostsid`. */
const HOST_USERS: Record<string, { email: string; admin: boolean }> = {
  'sid-viewer': { email: 'vera@example.com', admin: false },
  'sid-operator': { email: 'ops.lead@example.com', admin: true },
}
const OPERATOR_TOKEN = 'mount-test-operator-token-0001'
const VIEWER = 'hostsid=sid-viewer'
const OPERATOR = 'hostsid=sid-operator'

/** The host's session lookup (its cookie → its user), as a host app's middleware would do it. */
function hostUserOf(cookieHeader: string | undefined): { email: string; admin: boolean } | undefined {
  const sid = /(?:^|;\s*)hostsid=([^;]+)/.exec(cookieHeader ?? '')?.[1]
  return sid === undefined ? undefined : HOST_USERS[sid]
}

/** The documented mapping: the host's admins are operators, everyone else signed in a viewer; the email names them. */
function toFuseboxUser(user: { email: string; admin: boolean } | undefined): HostUser | null {
  return user ? { role: user.admin ? 'operator' : 'viewer', name: user.email } : null
}

let redis: Redis
const prefixes: string[] = []
const cleanups: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  redis = new Redis(testRedisUrl())
  await redis.ping() // connected before any collector flushes through it
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p)
  await redis.quit()
})

/** A fresh key prefix where service `shop` reported 5 requests (1 error) and has breaker `payments`. */
async function freshShop(): Promise<KeySpace> {
  const keys = createKeySpace(`m${randomBytes(5).toString('hex')}`)
  prefixes.push(keys.prefix)
  // The test's own connected client: a flush before the collector's connection is up would write nothing yet.
  const collector = createCollector({ redis, prefix: keys.prefix, service: 'shop', instance: 's1', flushIntervalMs: 60_000 })
  for (let i = 0; i < 5; i++) collector.recordRequest({ method: 'GET', route: '/cart', status: i === 0 ? 500 : 200, durationMs: 10 + i })
  await collector.flush()
  // Open until the test ends: the overview counts what live instances reported.
  cleanups.push(() => collector.close())
  await redis.sadd(keys.breakers('shop'), 'payments')
  await redis.sadd(keys.services(), 'shop')
  return keys
}

/** An Express 5 host app: JSON body parsing for its own routes, its own cookie sign-in, the dashboard mounted. */
async function expressHost(keys: KeySpace, options: Partial<FuseboxExpressOptions<express.Request>> = {}): Promise<string> {
  const host = express()
  // A host-wide body parser before the mount: the dashboard's tRPC must still get its POST bodies.
  host.use(express.json())
  host.use((req, _res, next) => {
    ;(req as express.Request & { user?: unknown }).user = hostUserOf(req.headers.cookie)
    next()
  })
  host.get('/', (_req, res) => res.send('host home'))
  const fusebox = fuseboxExpress({
    redis: testRedisUrl(),
    keyPrefix: keys.prefix,
    authenticate: (req: express.Request & { user?: { email: string; admin: boolean } }) => toFuseboxUser(req.user),
    ...options,
  })
  host.use('/ops/fusebox', fusebox)
  const server: Server = host.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await fusebox.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** The JSON of a tRPC answer: `result.data`, or `error` (message and data.code). */
function body(text: string): { result?: { data: unknown }; error?: { message: string; data: { code: string; httpStatus: number } } } {
  return JSON.parse(text) as ReturnType<typeof body>
}

/** `GET <base>/healthz`, once the dashboard's own Redis client is connected (≤ 2 s). */
async function healthz(base: string): Promise<unknown> {
  const deadline = Date.now() + 2000
  for (;;) {
    const res = await fetch(`${base}/healthz`)
    if (res.status === 200 || Date.now() > deadline) return res.json()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const forceOpen = { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'upstream down' }

describe('fuseboxExpress: the dashboard under /ops/fusebox of an Express 5 app, signed in by the host', () => {
  it("a host viewer reads the overview but cannot send a breaker command; a host operator can, and the audit names the host's user", async () => {
    const keys = await freshShop()
    const base = `${await expressHost(keys, { fallbackToTokens: false })}/ops/fusebox`

    const me = await call(base, 'auth.me', 'query', undefined, VIEWER)
    expect(me.status, me.text).toBe(200)
    expect(body(me.text).result?.data).toEqual({ role: 'viewer', actor: 'vera@example.com' })
    const overview = await call(base, 'overview.get', 'query', undefined, VIEWER)
    expect(overview.status, overview.text).toBe(200)
    expect(body(overview.text).result?.data).toMatchObject({ services: [{ service: 'shop', requests: 5, errors: 1 }] })
    const refused = await call(base, 'breakers.command', 'mutation', forceOpen, VIEWER)
    expect(refused.status).toBe(403)
    expect(body(refused.text).error?.data.code).toBe('FORBIDDEN')
    expect(await redis.exists(keys.breakerDesired('shop', 'payments'))).toBe(0)

    const issued = await call(base, 'breakers.command', 'mutation', forceOpen, OPERATOR)
    expect(issued.status, issued.text).toBe(200)
    expect(await redis.hget(keys.breakerDesired('shop', 'payments'), 'mode')).toBe('FORCED_OPEN')
    const audit = await call(base, 'audit.list', 'query', { service: 'shop' }, VIEWER)
    expect(audit.status, audit.text).toBe(200)
    const entries = (body(audit.text).result?.data as { entries: { actor: string; action: string; reason: string }[] }).entries
    expect(entries).toEqual([expect.objectContaining({ actor: 'ops.lead@example.com', reason: 'upstream down' })])
    // Nothing the host vouches for is stored as a Fusebox session.
    expect(await redis.keys(`${keys.prefix}:session:*`)).toEqual([])
  })

  it('without a host user and with fallbackToTokens false, every call is 401 and token sign-in is refused (403)', async () => {
    const keys = await freshShop()
    const base = `${await expressHost(keys, { fallbackToTokens: false, operatorTokens: [OPERATOR_TOKEN] })}/ops/fusebox`
    expect((await call(base, 'overview.get', 'query', undefined)).status).toBe(401)
    const login = await call(base, 'auth.login', 'mutation', { token: OPERATOR_TOKEN })
    expect(login.status).toBe(403)
    expect(body(login.text).error?.message).toBe('Sign in through the host application')
  })

  it("with the default fallback, a request the host does not sign in may use Fusebox's own token login under the mount path", async () => {
    const keys = await freshShop()
    const base = `${await expressHost(keys, { operatorTokens: [{ name: 'alice', token: OPERATOR_TOKEN }] })}/ops/fusebox`
    expect((await call(base, 'overview.get', 'query', undefined)).status).toBe(401)
    const login = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: MUTATION_HEADERS, body: JSON.stringify({ token: OPERATOR_TOKEN }) })
    expect(login.status, await login.clone().text()).toBe(200)
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    expect(body((await call(base, 'auth.me', 'query', undefined, cookie)).text).result?.data).toEqual({ role: 'operator', actor: 'alice' })
    // A host user wins over a Fusebox cookie on the same request.
    expect(body((await call(base, 'auth.me', 'query', undefined, `${cookie}; ${VIEWER}`)).text).result?.data).toEqual({ role: 'viewer', actor: 'vera@example.com' })
  })

  it('answers /healthz under the mount path and redirects the bare mount point to its folder; the host keeps its own routes', async () => {
    const keys = await freshShop()
    const host = await expressHost(keys)
    expect(await healthz(`${host}/ops/fusebox`)).toEqual({ status: 'ok', redis: 'ready' })
    const bare = await fetch(`${host}/ops/fusebox?x=1`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/ops/fusebox/?x=1')
    expect(await (await fetch(`${host}/`)).text()).toBe('host home')
  })

  it('a throwing, slow or malformed hook answers 503 with a plain message (no stack, no hook text) and the server stays up', async () => {
    const keys = await freshShop()
    let mode: 'throw' | 'slow' | 'invalid' | 'ok' = 'throw'
    const base = `${await expressHost(keys, {
      authenticateTimeoutMs: 200,
      authenticate: async (req: express.Request) => {
        if (mode === 'throw') throw new Error('session store at 10.1.2.3:5432 refused')
        if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000))
        if (mode === 'invalid') return { role: 'admin', name: 'x' } as unknown as HostUser
        return toFuseboxUser(hostUserOf(req.headers.cookie))
      },
    })}/ops/fusebox`
    const thrown = await call(base, 'overview.get', 'query', undefined, VIEWER)
    expect(thrown.status).toBe(503)
    expect(body(thrown.text).error?.message).toMatch(/^The host application's sign-in check failed \(error id [\w-]+; see the server log\)$/)
    expect(thrown.text).not.toContain('10.1.2.3')
    expect(thrown.text).not.toMatch(/at .*\.ts:\d+/)

    mode = 'slow'
    const started = performance.now()
    const slow = await call(base, 'overview.get', 'query', undefined, VIEWER)
    expect(slow.status).toBe(503)
    expect(body(slow.text).error?.message).toBe("The host application's sign-in check did not answer in time; try again")
    expect(performance.now() - started).toBeLessThan(1500)

    mode = 'invalid'
    const invalid = await call(base, 'auth.me', 'query', undefined, VIEWER)
    expect(invalid.status).toBe(503)
    expect(body(invalid.text).error?.message).toMatch(/answered an invalid user/)

    mode = 'ok'
    expect((await call(base, 'overview.get', 'query', undefined, VIEWER)).status).toBe(200)
  })

  it('a read-only dashboard caps a host operator at viewer and answers a command 403 saying the server is read-only', async () => {
    const keys = await freshShop()
    const base = `${await expressHost(keys, { readOnly: true, operatorTokens: [OPERATOR_TOKEN] })}/ops/fusebox`
    expect(body((await call(base, 'auth.me', 'query', undefined, OPERATOR)).text).result?.data).toEqual({ role: 'viewer', actor: 'ops.lead@example.com' })
    const refused = await call(base, 'breakers.command', 'mutation', forceOpen, OPERATOR)
    expect(refused.status).toBe(403)
    expect(body(refused.text).error).toMatchObject({ message: expect.stringContaining('read-only'), data: { code: 'FORBIDDEN' } })
    // A Fusebox operator token signs in as a viewer too.
    const login = await call(base, 'auth.login', 'mutation', { token: OPERATOR_TOKEN })
    expect(body(login.text).result?.data).toEqual({ role: 'viewer' })
    expect(await redis.exists(keys.breakerDesired('shop', 'payments'))).toBe(0)
  })

  it("a host user's live stream ends within one re-check (5 s) once the host no longer signs the user in", async () => {
    const keys = await freshShop()
    let signedIn = true
    const base = `${await expressHost(keys, { authenticate: () => (signedIn ? { role: 'viewer', name: 'vera@example.com' } : null) })}/ops/fusebox`
    const controller = new AbortController()
    const res = await fetch(`${base}/trpc/live.snapshot`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (pattern: RegExp, ms: number) => {
      const deadline = Date.now() + ms
      while (!pattern.test(text) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))])
        if (chunk === null || chunk.done) break
        text += decoder.decode(chunk.value, { stream: true })
      }
    }
    try {
      await readUntil(/\ndata: \{"asOfMs"/, 4000)
      expect(text).toMatch(/\ndata: \{"asOfMs"/)
      signedIn = false
      const endedAt = Date.now()
      await readUntil(/Your session ended/, 7000)
      expect(text).toContain('Your session ended')
      expect(Date.now() - endedAt).toBeLessThan(6500)
    } finally {
      controller.abort()
    }
  }, 15_000)
})

describe('fuseboxFastify: the dashboard as a Fastify 5 plugin under a prefix', () => {
  async function fastifyHost(keys: KeySpace, options: Partial<FuseboxFastifyOptions> = {}): Promise<{ app: FastifyInstance; base: string }> {
    const app = Fastify()
    app.decorateRequest('hostUser', null)
    app.addHook('onRequest', async (request) => {
      ;(request as FastifyRequest & { hostUser: unknown }).hostUser = hostUserOf(request.headers.cookie) ?? null
    })
    app.post('/api/echo', async (request) => ({ echoed: request.body }))
    await app.register(fuseboxFastify, {
      prefix: '/ops/fusebox',
      redis: testRedisUrl(),
      keyPrefix: keys.prefix,
      authenticate: (request) => toFuseboxUser((request as FastifyRequest & { hostUser?: { email: string; admin: boolean } }).hostUser ?? undefined),
      ...options,
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => app.close())
    return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
  }

  it('serves a query (GET), a mutation (POST body unread by Fastify) and a live SSE stream through the plugin', async () => {
    const keys = await freshShop()
    const { base: host } = await fastifyHost(keys)
    const base = `${host}/ops/fusebox`
    const overview = await call(base, 'overview.get', 'query', undefined, VIEWER)
    expect(overview.status, overview.text).toBe(200)
    expect(body(overview.text).result?.data).toMatchObject({ services: [{ service: 'shop', requests: 5 }] })

    const issued = await call(base, 'breakers.command', 'mutation', forceOpen, OPERATOR)
    expect(issued.status, issued.text).toBe(200)
    expect(body(issued.text).result?.data).toMatchObject({ commandId: expect.any(String) })
    const audit = body((await call(base, 'audit.list', 'query', { service: 'shop' }, VIEWER)).text).result?.data as { entries: { actor: string }[] }
    expect(audit.entries.map((e) => e.actor)).toEqual(['ops.lead@example.com'])

    const live = await call(base, 'live.snapshot', 'subscription', undefined, VIEWER, 4000)
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toContain('text/event-stream')
    expect(live.text).toMatch(/\ndata: \{"asOfMs":\d+/)
    expect(live.text).toContain('"service":"shop"')

    // The host's own JSON routes still parse bodies; outside the prefix nothing is the dashboard's.
    const echo = await fetch(`${host}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
    expect(await echo.json()).toEqual({ echoed: { a: 1 } })
    expect((await fetch(`${host}/trpc/overview.get`)).status).toBe(404)
    expect(await healthz(base)).toEqual({ status: 'ok', redis: 'ready' })
    expect((await fetch(`${base}`, { redirect: 'manual' })).headers.get('location')).toBe('/ops/fusebox/')
  })

  it('fastify.close() ends open live streams and closes the dashboard promptly; a hook that throws is a 503, not a crash', async () => {
    const keys = await freshShop()
    const { app, base: host } = await fastifyHost(keys, {
      authenticate: (request) => {
        if (request.headers['x-break'] === '1') throw new Error('boom')
        return { role: 'viewer', name: 'v' }
      },
    })
    const base = `${host}/ops/fusebox`
    const broken = await fetch(`${base}/trpc/overview.get`, { headers: { 'x-break': '1' } })
    expect(broken.status).toBe(503)
    expect((await broken.json()) as unknown).toMatchObject({ error: { message: expect.stringMatching(/sign-in check failed/) } })
    expect((await fetch(`${base}/trpc/overview.get`)).status).toBe(200)

    const res = await fetch(`${base}/trpc/live.snapshot`, { headers: { accept: 'text/event-stream' } })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read()
    const started = performance.now()
    await app.close()
    const closeMs = performance.now() - started
    expect(closeMs).toBeLessThan(2500)
    // The stream was ended by the server (the read finishes instead of hanging).
    for (let chunk = await reader.read().catch(() => ({ done: true })); !chunk.done; chunk = await reader.read().catch(() => ({ done: true }))) {
      // drain what was in flight
    }
  })

  /**
   * A GET over `agent` (a keep-alive pool, as a browser keeps its connections): resolves at the response head, with
   * the whole body as `body` (rejects if the connection is cut before the end) and the first body bytes as `first`.
   */
  function get(url: string, headers: Record<string, string>, agent: Agent): Promise<{ res: IncomingMessage; first: Promise<string>; body: Promise<string> }> {
    return new Promise((resolve, reject) => {
      httpRequest(url, { agent, headers }, (res) => {
        let text = ''
        let gotFirst: (s: string) => void = () => undefined
        const first = new Promise<string>((r) => (gotFirst = r))
        const body = new Promise<string>((done, fail) => {
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString('utf8')
            gotFirst(text)
          })
          res.on('end', () => done(text))
          res.on('error', fail)
          res.on('aborted', () => fail(new Error('response cut')))
        })
        body.catch(() => undefined)
        resolve({ res, first, body })
      })
        .on('error', reject)
        .end()
    })
  }

  /** How long `app.close()` took (ms), or Infinity once it has taken `limitMs` (the test then fails without hanging). */
  async function timedClose(app: FastifyInstance, limitMs = 3000): Promise<number> {
    const started = performance.now()
    const closed = app.close().then(() => performance.now() - started)
    return Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), limitMs))])
  }

  it("fastify.close() lets a dashboard response in flight finish in full, then closes its keep-alive connection at once (no 72 s wait)", async () => {
    const keys = await freshShop()
    // The dashboard's own Redis client, whose commands the test can hold back to keep an answer in flight.
    const gated = new Redis(testRedisUrl())
    let openGate: () => void = () => undefined
    let gate: Promise<void> | null = null
    const sendCommand = gated.sendCommand.bind(gated)
    gated.sendCommand = ((...args: Parameters<typeof sendCommand>) =>
      gate === null ? sendCommand(...args) : (void gate.then(() => sendCommand(...args)), args[0].promise)) as typeof gated.sendCommand
    cleanups.push(async () => gated.disconnect())
    let hookCalled: () => void = () => undefined
    const hookWaiting = new Promise<void>((r) => (hookCalled = r))
    let releaseHook: () => void = () => undefined
    const hookReleased = new Promise<void>((r) => (releaseHook = r))
    const { app, base: host } = await fastifyHost(keys, {
      redis: gated,
      authenticate: async (request) => {
        if (request.headers['x-hold'] === '1') {
          hookCalled()
          await hookReleased
        }
        return { role: 'viewer', name: 'v' }
      },
    })
    const agent = new Agent({ keepAlive: true })
    cleanups.push(async () => agent.destroy())
    const base = `${host}/ops/fusebox`
    expect((await get(`${base}/trpc/overview.get`, {}, agent)).res.statusCode).toBe(200) // Redis is up

    // (1) A streamed tRPC batch whose head and first result are out while its second call waits for Redis.
    gate = new Promise<void>((r) => (openGate = r))
    const batch = await get(`${base}/trpc/auth.me,overview.get?batch=1&input=${encodeURIComponent('{}')}`, { 'trpc-accept': 'application/jsonl' }, agent)
    expect(batch.res.statusCode).toBe(200)
    expect(await batch.first).toMatch(/^\{"0":/) // the JSONL head: results follow as they resolve
    // (2) A query still waiting for the host's sign-in hook (nothing written yet).
    const waiting = get(`${base}/trpc/overview.get`, { 'x-hold': '1' }, agent)
    await hookWaiting

    const closing = timedClose(app)
    await new Promise((r) => setTimeout(r, 100))
    releaseHook()
    openGate()
    gate = null
    const held = await waiting
    expect(held.res.statusCode).toBe(200)
    expect(await held.body).toContain('"service":"shop"')
    expect(await batch.body).toContain('"service":"shop"') // answered in full, not cut
    expect(await closing).toBeLessThan(2500)
    expect(held.res.headers.connection).toBe('close') // its client was told the connection ends with this answer
  })

  it('fastify.close() also ends a live stream that starts after it began (its request was still waiting for the host hook)', async () => {
    const keys = await freshShop()
    let hookCalled: () => void = () => undefined
    const hookWaiting = new Promise<void>((r) => (hookCalled = r))
    let releaseHook: () => void = () => undefined
    const hookReleased = new Promise<void>((r) => (releaseHook = r))
    const { app, base: host } = await fastifyHost(keys, {
      authenticate: async () => {
        hookCalled()
        await hookReleased
        return { role: 'viewer', name: 'v' }
      },
    })
    const agent = new Agent({ keepAlive: true })
    cleanups.push(async () => agent.destroy())
    const stream = get(`${host}/ops/fusebox/trpc/live.snapshot`, { accept: 'text/event-stream' }, agent)
    await hookWaiting
    const closing = timedClose(app)
    await new Promise((r) => setTimeout(r, 100))
    releaseHook()
    expect(await closing).toBeLessThan(2500)
    // The stream is over (its head may or may not have made it out before it was ended).
    const live = await stream.catch(() => null)
    const ended = live === null ? 'ended' : await Promise.race([live.body.then(() => 'ended', () => 'ended'), new Promise((r) => setTimeout(() => r('open'), 1000))])
    expect(ended).toBe('ended')
  })

  it('invalid options fail register with every problem listed, naming no token', async () => {
    const app = Fastify()
    cleanups.push(() => app.close())
    await expect(
      app.register(fuseboxFastify, { prefix: '/ops', redis: 'http://nope', keyPrefix: 'bad prefix!', operatorTokens: ['short-secret'] }).ready(),
    ).rejects.toThrow(/redis: must be a redis:\/\/ or rediss:\/\/ URL[\s\S]*keyPrefix: must be 1-32[\s\S]*operatorTokens\.0\.token: each token must be at least 16/)
  })
})

describe('callHostAuth (the hook runner)', () => {
  it('trims the name, ignores extra fields, and refuses control characters, empty or overlong names and unknown roles', async () => {
    const host = { role: 'operator', name: '  ops.lead@example.com ', id: 42 }
    await expect(callHostAuth(() => host, null)).resolves.toEqual({ role: 'operator', name: 'ops.lead@example.com' })
    await expect(callHostAuth(() => undefined, null)).resolves.toBeNull()
    for (const bad of [{ role: 'viewer', name: 'eve\nadmin' }, { role: 'viewer', name: '   ' }, { role: 'viewer', name: 'x'.repeat(101) }, { role: 'root', name: 'x' }, 'alice']) {
      await expect(callHostAuth(() => bad, null), JSON.stringify(bad)).rejects.toMatchObject({ name: 'HostAuthError', reason: 'invalid' })
    }
    await expect(callHostAuth(() => new Promise(() => undefined), null, 50)).rejects.toMatchObject({ reason: 'timeout' })
    await expect(callHostAuth(() => Promise.reject(new Error('down')), null)).rejects.toMatchObject({ reason: 'threw' })
  })
})

describe('createDashboard', () => {
  it("uses a host's ioredis client as given and never closes it", async () => {
    const own = new Redis(testRedisUrl())
    try {
      const keys = await freshShop()
      const dashboard = createDashboard({ redis: own, keyPrefix: keys.prefix, operatorTokens: `alice:${OPERATOR_TOKEN}` })
      expect(dashboard.redis).toBe(own)
      await dashboard.close()
      expect(await own.ping()).toBe('PONG')
    } finally {
      own.disconnect()
    }
  })

  it('throws at set-up for an unknown option, a bad hook, duplicate tokens or a bad base path', () => {
    expect(() => createDashboard({ redis: testRedisUrl(), prefix: 'x' } as never)).toThrow(/options: Unrecognized key: "prefix"/)
    expect(() => createDashboard({ redis: testRedisUrl(), authenticate: 'yes' as never })).toThrow(/authenticate: must be a function/)
    expect(() => createDashboard({ redis: testRedisUrl(), operatorTokens: [OPERATOR_TOKEN], viewerTokens: [OPERATOR_TOKEN] })).toThrow(/configured twice/)
    expect(() => createDashboard({ redis: testRedisUrl(), basePath: '/ops/' })).toThrow(/basePath: must not end with "\/"/)
  })
})

describe('the mounted dashboard in Chromium', () => {
  it('a Fastify host with its own sign-in: the page under /ops/fusebox/ opens signed in as the host user, Overview and worker under the prefix', async () => {
    const keys = await freshShop()
    const app = Fastify()
    app.decorateRequest('hostUser', null)
    app.addHook('onRequest', async (request) => {
      ;(request as FastifyRequest & { hostUser: unknown }).hostUser = hostUserOf(request.headers.cookie) ?? null
    })
    await app.register(fuseboxFastify, {
      prefix: '/ops/fusebox',
      redis: testRedisUrl(),
      keyPrefix: keys.prefix,
      fallbackToTokens: false,
      authenticate: (request) => toFuseboxUser((request as FastifyRequest & { hostUser?: { email: string; admin: boolean } }).hostUser ?? undefined),
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    cleanups.push(() => app.close())
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
    cleanups.push(() => browser.close())
    const context = await browser.newContext()
    await context.addCookies([{ name: 'hostsid', value: 'sid-operator', url: origin }])
    const page = await context.newPage()
    const requested: string[] = []
    page.on('request', (r) => requested.push(r.url()))
    await page.goto(`${origin}/ops/fusebox/`)
    await page.getByRole('heading', { level: 1, name: 'Overview', exact: true }).waitFor({ timeout: 20_000 })
    await page.getByTestId('service-shop').waitFor({ timeout: 20_000 })
    expect(await page.getByLabel('Access token').count()).toBe(0)
    const registration = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active?.scriptURL })))
    expect(registration).toEqual({ scope: `${origin}/ops/fusebox/`, script: `${origin}/ops/fusebox/sw.js` })
    expect(requested.filter((u) => !u.startsWith(`${origin}/ops/fusebox/`))).toEqual([])
    expect(requested.some((u) => u.startsWith(`${origin}/ops/fusebox/trpc/live.snapshot`))).toBe(true)
  }, 60_000)
})
