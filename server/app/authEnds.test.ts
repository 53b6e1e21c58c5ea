/**
 * Issue #11 findings 6, 7 and 11 ("Operators can be locked out", "Auth does not end when it should", "Transport
 * flags"), each as a regression test over real HTTP against the real app and real Redis
 * (docs/decisions/016-auth-that-ends.md).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { deletePrefix, openTestRedis, scanKeys, testRedisTarget } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { Auth, issueLoginLink, sha256Hex, tokenIdOf, type TokenSpec } from './auth'
import { parseEnv, parseTokenFile, transportWarnings } from './env'
import { createHttpApp, type HttpOptions } from './http'
import { createOverviewHub } from './readModel'

const OPERATOR = 'operator-token-auth-ends-0001'
const OPERATOR_2 = 'operator-token-auth-ends-0002'
const VIEWER = 'viewer-token-auth-ends-00001'
const MUTATION_HEADERS = { 'content-type': 'application/json', [CSRF_HEADER]: '1' }

let redis: RedisClient
const prefixes: string[] = []
const closers: (() => Promise<void>)[] = []

beforeAll(() => {
  redis = openTestRedis()
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  for (const p of prefixes) await deletePrefix(redis, p)
  await redis.quit()
})

function freshKeys(): KeySpace {
  const keys = createKeySpace(`ae${randomBytes(5).toString('hex')}`)
  prefixes.push(keys.prefix)
  return keys
}

interface AppSpec {
  keys?: KeySpace
  operators?: (string | Omit<TokenSpec, 'role'>)[]
  viewers?: (string | Omit<TokenSpec, 'role'>)[]
  ttlS?: number
  http?: Partial<HttpOptions>
}

/** The real app (default rate limits unless overridden) on 127.0.0.1:0. */
async function startApp(spec: AppSpec = {}): Promise<{ base: string; keys: KeySpace; auth: Auth }> {
  const keys = spec.keys ?? freshKeys()
  const auth = new Auth(redis, keys, spec.operators ?? [OPERATOR], spec.viewers ?? [VIEWER], spec.ttlS ?? 3600)
  const hub = createOverviewHub(redis, keys)
  const app = createHttpApp({ redis, keys, auth, tls: false, hub }, { staticDir: 'dist', ...spec.http })
  const server: Server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  closers.push(async () => {
    hub.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys, auth }
}

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/trpc/${path}`, { method: 'POST', headers: { ...MUTATION_HEADERS, ...headers }, body: JSON.stringify(body) })
}

/** Logs in over HTTP; returns `name=value` of the session cookie. */
async function login(base: string, token: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(base, 'auth.login', { token }, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!
}

const me = (base: string, cookie: string) => fetch(`${base}/trpc/auth.me`, { headers: { cookie } })

/** An open live stream: counts snapshots and resolves `closed` (ms since open) when the server ends it. */
async function openStream(base: string, cookie: string): Promise<{ status: number; snapshots: () => number; closed: Promise<number>; abort: () => void }> {
  const controller = new AbortController()
  const startedMs = Date.now()
  const input = encodeURIComponent(JSON.stringify({ windowMs: 60_000 }))
  const res = await fetch(`${base}/trpc/live.snapshot?input=${input}`, { headers: { accept: 'text/event-stream', cookie }, signal: controller.signal })
  let count = 0
  let text = ''
  const closed = (async () => {
    if (!res.body) return Date.now() - startedMs
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
        const events = text.split(/\r?\n\r?\n/)
        text = events.pop() ?? ''
        count += events.filter((e) => /^data: /m.test(e) && !/^event: /m.test(e)).length
      }
    } catch {
      // aborted by the test
    }
    return Date.now() - startedMs
  })()
  closers.push(async () => controller.abort())
  return { status: res.status, snapshots: () => count, closed, abort: () => controller.abort() }
}

/** Resolves `p`, or `null` after `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | null> =>
  Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), ms).unref())])

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
}

describe('finding 6: one client cannot lock out another', () => {
  it('after 10 failed logins from one address the right token still logs in, and guessing stays limited', async () => {
    const { base, keys } = await startApp()
    for (let i = 0; i < 10; i++) expect((await post(base, 'auth.login', { token: `wrong-guess-${i}` })).status).toBe(401)
    const guess = await post(base, 'auth.login', { token: 'wrong-guess-10' })
    expect(guess.status).toBe(429)
    expect(Number(guess.headers.get('retry-after'))).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 1100)) // the address's one check per second
    const cookie = await login(base, OPERATOR)
    expect((await me(base, cookie)).status).toBe(200)
    // Within the same second another attempt from that address is not even checked: brute force stays ≤ 1/s.
    expect((await post(base, 'auth.login', { token: OPERATOR })).status).toBe(429)
    // A flood of 50 parallel guesses gets at most one of them checked per second (each checked failure counts).
    const failures = async () => Number(await redis.get(`${keys.prefix}:rl:login:127.0.0.1`))
    const before = await failures()
    expect(before).toBeGreaterThanOrEqual(11) // the 10 failures and the 11th guess, under this address's key
    const startedMs = Date.now()
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => post(base, 'auth.login', { token: `flood-${i}` }).then((r) => r.status)))
    const seconds = Math.ceil((Date.now() - startedMs) / 1000)
    expect(flood.every((s) => s === 429)).toBe(true)
    expect((await failures()) - before).toBeLessThanOrEqual(seconds + 1)
  })

  it('behind a trusted proxy, failures are counted per forwarded client address', async () => {
    const { base } = await startApp({ http: { trustProxy: 'loopback' } })
    const a = { 'x-forwarded-for': '203.0.113.10' }
    for (let i = 0; i < 11; i++) await post(base, 'auth.login', { token: `wrong-${i}` }, a)
    expect((await post(base, 'auth.login', { token: 'wrong-again' }, a)).status).toBe(429)
    expect((await post(base, 'auth.login', { token: 'wrong-b' }, { 'x-forwarded-for': '198.51.100.20' })).status).toBe(401)
  })

  it("30 anonymous command calls do not spend the operator's command budget", async () => {
    const { base, keys } = await startApp()
    await redis.sadd(keys.breakers('storefront'), 'payments')
    const body = { service: 'storefront', breaker: 'payments', command: 'reset', reason: 'lockout test' }
    for (let i = 0; i < 30; i++) expect((await post(base, 'breakers.command', body)).status).toBe(401)
    const viewer = await login(base, VIEWER)
    for (let i = 0; i < 5; i++) expect((await post(base, 'breakers.command', body, { cookie: viewer })).status).toBe(403)
    const operator = await login(base, OPERATOR)
    const res = await post(base, 'breakers.command', body, { cookie: operator })
    expect(res.status, await res.text()).toBe(200)
  })

  it('limits commands per token: the 31st in a minute is 429, while another token still commands', async () => {
    const { base } = await startApp({ operators: [OPERATOR, OPERATOR_2] })
    const one = await login(base, OPERATOR)
    const body = { service: 'storefront', breaker: 'nope', command: 'reset', reason: 'rate limit test' }
    for (let i = 0; i < 30; i++) expect((await post(base, 'breakers.command', body, { cookie: one })).status).toBe(404)
    const limited = await post(base, 'breakers.command', body, { cookie: one })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await post(base, 'breakers.command', body, { cookie: await login(base, OPERATOR_2) })).status).toBe(404)
  })
})

describe('finding 7: auth ends when it should', () => {
  it('a one-time login link logs in once, on any server process, and never again (also after logout)', async () => {
    const keys = freshKeys()
    const first = await startApp({ keys, operators: [], viewers: [] })
    const second = await startApp({ keys, operators: [], viewers: [] })
    const token = await issueLoginLink(redis, keys)
    const cookie = await login(first.base, token)
    expect((await post(first.base, 'auth.logout', {}, { cookie })).status).toBe(200)
    expect((await post(first.base, 'auth.login', { token })).status).toBe(401)
    expect((await post(second.base, 'auth.login', { token })).status).toBe(401)
    // Concurrent redemptions of a fresh link: exactly one wins.
    const fresh = await issueLoginLink(redis, keys)
    const statuses = await Promise.all([first, second, first, second].map(({ base }) => post(base, 'auth.login', { token: fresh }).then((r) => r.status)))
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(await scanKeys(redis, `${keys.prefix}:loginlink:*`)).toEqual([])
  })

  it('`npm run login-link` prints a new one-time link that signs in once against the same Redis', async () => {
    const keys = freshKeys()
    const { base } = await startApp({ keys, operators: [], viewers: [] })
    const env: NodeJS.ProcessEnv = { ...process.env, FUSEBOX_PREFIX: keys.prefix, FUSEBOX_PUBLIC_URL: base }
    for (const name of ['FUSEBOX_OPERATOR_TOKENS', 'FUSEBOX_VIEWER_TOKENS', 'FUSEBOX_TOKENS_FILE', 'REDIS_URL', 'REDIS_CLUSTER_NODES']) delete env[name]
    // The CLI reaches the run's topology: REDIS_URL of the one node, or REDIS_CLUSTER_NODES (the cluster's seeds).
    const target = testRedisTarget()
    if (typeof target === 'string') env.REDIS_URL = target
    else env.REDIS_CLUSTER_NODES = target.cluster
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'server/app/loginLinkCli.ts'], { env, timeout: 20_000 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    )
    const token = new RegExp(`^${base}/#token=([\\w-]{43})$`, 'm').exec(stdout)?.[1]
    expect(token, stdout).toBeDefined()
    await login(base, token!)
    expect((await post(base, 'auth.login', { token })).status).toBe(401)
  })

  it("a session is refused once its token is no longer configured (restart with other tokens)", async () => {
    const keys = freshKeys()
    await redis.sadd(keys.breakers('storefront'), 'payments')
    const before = await startApp({ keys, operators: [OPERATOR] })
    const cookie = await login(before.base, OPERATOR)
    const after = await startApp({ keys, operators: [OPERATOR_2] }) // "restarted with new tokens"
    expect((await me(after.base, cookie)).status).toBe(401)
    const body = { service: 'storefront', breaker: 'payments', command: 'reset', reason: 'removed token' }
    expect((await post(after.base, 'breakers.command', body, { cookie })).status).toBe(401)
  })

  it('a token moved to the viewer list keeps its sessions but loses operator rights at once', async () => {
    const keys = freshKeys()
    const before = await startApp({ keys, operators: [OPERATOR] })
    const cookie = await login(before.base, OPERATOR)
    const after = await startApp({ keys, operators: [], viewers: [OPERATOR] })
    const res = await me(after.base, cookie)
    expect(((await res.json()) as { result: { data: { role: string } } }).result.data.role).toBe('viewer')
  })

  it('"sign out everywhere" ends every session of the caller\'s token and no other', async () => {
    const { base } = await startApp({ operators: [OPERATOR, OPERATOR_2] })
    const laptop = await login(base, OPERATOR)
    const phone = await login(base, OPERATOR)
    const colleague = await login(base, OPERATOR_2)
    const res = await post(base, 'auth.logoutEverywhere', {}, { cookie: phone })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toMatch(/Max-Age=0/)
    expect((await me(base, laptop)).status).toBe(401)
    expect((await me(base, phone)).status).toBe(401)
    expect((await me(base, colleague)).status).toBe(200)
  })

  it('a live stream closes within 10 s of logout on another server process (re-checked), and at once on the same one', async () => {
    const keys = freshKeys()
    const streams = await startApp({ keys, http: { liveStreams: { recheckMs: 300 } } })
    const other = await startApp({ keys })
    const cookie = await login(streams.base, VIEWER)
    const remote = await openStream(streams.base, cookie)
    expect(remote.status).toBe(200)
    await until(() => remote.snapshots() > 0, 5000)
    expect(remote.snapshots()).toBeGreaterThan(0)
    const loggedOutMs = Date.now()
    expect((await post(other.base, 'auth.logout', {}, { cookie })).status).toBe(200)
    expect(await within(remote.closed, 10_000)).not.toBeNull()
    const closedAfterMs = Date.now() - loggedOutMs
    expect(closedAfterMs).toBeLessThan(2000) // ~ one re-check period

    const cookie2 = await login(streams.base, VIEWER)
    const local = await openStream(streams.base, cookie2)
    await until(() => local.snapshots() > 0, 5000)
    const t0 = Date.now()
    expect((await post(streams.base, 'auth.logout', {}, { cookie: cookie2 })).status).toBe(200)
    expect(await within(local.closed, 10_000)).not.toBeNull()
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('a live stream closes within 10 s of its session expiring', async () => {
    const { base } = await startApp({ ttlS: 2, http: { liveStreams: { recheckMs: 300 } } })
    const cookie = await login(base, VIEWER)
    const openedMs = Date.now()
    const stream = await openStream(base, cookie)
    expect(stream.status).toBe(200)
    expect(await within(stream.closed, 10_000)).not.toBeNull()
    const openFor = Date.now() - openedMs
    expect(openFor).toBeGreaterThanOrEqual(1500)
    expect(openFor).toBeLessThan(2000 + 300 + 1500) // TTL + one re-check + slack
    expect((await me(base, cookie)).status).toBe(401)
  })

  it('caps live streams at 20 per session: the 21st is 429 while another session still streams', async () => {
    const { base } = await startApp()
    const cookie = await login(base, VIEWER)
    const open = []
    for (let i = 0; i < 20; i++) open.push(await openStream(base, cookie))
    expect(open.every((s) => s.status === 200)).toBe(true)
    const input = encodeURIComponent(JSON.stringify({ windowMs: 60_000 }))
    const extra = await fetch(`${base}/trpc/live.snapshot?input=${input}`, { headers: { accept: 'text/event-stream', cookie } })
    const text = extra.status === 200 ? ((await within(extra.text(), 3000)) ?? '') : await extra.text()
    // tRPC answers a subscription that fails before its first event either as HTTP 429 or as an SSE error event.
    expect(extra.status === 429 || /TOO_MANY_REQUESTS/.test(text), `${extra.status} ${text}`).toBe(true)
    const another = await openStream(base, await login(base, VIEWER))
    expect(another.status).toBe(200)
    await until(() => another.snapshots() > 0, 5000)
    expect(another.snapshots()).toBeGreaterThan(0)
    // Closing one frees a place.
    open[0]!.abort()
    await new Promise((r) => setTimeout(r, 200))
    const again = await openStream(base, cookie)
    await until(() => again.snapshots() > 0, 5000)
    expect(again.snapshots()).toBeGreaterThan(0)
    for (const s of [...open, another, again]) s.abort()
  })

  it('stores sessions under the SHA-256 of the cookie value: no raw cookie value in Redis KEYS', async () => {
    const { base, keys } = await startApp()
    const cookie = await login(base, OPERATOR)
    const value = cookie.slice(cookie.indexOf('=') + 1)
    const all = await scanKeys(redis, `${keys.prefix}:*`)
    expect(all.some((k) => k.includes(value))).toBe(false)
    expect(all).toContain(keys.session(sha256Hex(value)))
    const stored = (await redis.get(keys.session(sha256Hex(value)))) ?? ''
    expect(stored).not.toContain(value)
    expect(stored).not.toContain(OPERATOR)
  })

  it('names the audit actor after the token (name:token), and unnamed tokens by a stable id, not a position', async () => {
    const env = parseEnv({ REDIS_URL: 'redis://x', FUSEBOX_OPERATOR_TOKENS: `alice:${OPERATOR}, ${OPERATOR_2}` })
    expect(env.FUSEBOX_OPERATOR_TOKENS).toEqual([{ name: 'alice', token: OPERATOR }, { token: OPERATOR_2 }])
    expect(() => parseEnv({ REDIS_URL: 'redis://x', FUSEBOX_OPERATOR_TOKENS: `al{ce:${OPERATOR}` })).toThrow(/token name/)
    const { base, keys } = await startApp({ operators: env.FUSEBOX_OPERATOR_TOKENS })
    const alice = await login(base, OPERATOR)
    expect(await (await me(base, alice)).json()).toMatchObject({ result: { data: { role: 'operator', actor: 'alice' } } })
    const inv = await post(base, 'caches.invalidateTag', { service: 'storefront', cache: 'products', tag: 'sku-1', reason: 'named actor' }, { cookie: alice })
    expect(inv.status, await inv.clone().text()).toBe(200)
    const audit = await (await fetch(`${base}/trpc/audit.list?input=${encodeURIComponent(JSON.stringify({ limit: 10, service: 'storefront' }))}`, { headers: { cookie: alice } })).text()
    expect(audit).toContain('"alice"')
    // The unnamed token is named by its id wherever it is listed: rotating the others re-attributes nothing.
    const unnamed = `operator-${tokenIdOf(OPERATOR_2).slice(0, 8)}`
    for (const order of [[OPERATOR_2], ['some-other-token-000001', OPERATOR_2]]) {
      const app = await startApp({ keys, operators: order })
      expect(await (await me(app.base, await login(app.base, OPERATOR_2))).json()).toMatchObject({ result: { data: { actor: unnamed } } })
    }
  })

  it('reads named tokens from a tokens file and reports bad lines by number without echoing tokens', () => {
    const file = parseTokenFile(`# role name token\noperator alice ${OPERATOR}\n\nviewer bob ${VIEWER}\n`)
    expect(file).toEqual({ operator: [{ name: 'alice', token: OPERATOR }], viewer: [{ name: 'bob', token: VIEWER }] })
    let message = ''
    try {
      parseTokenFile(`operator alice short\nadmin carol ${OPERATOR}\noperator d{ve ${OPERATOR}`)
    } catch (e) {
      message = (e as Error).message
    }
    expect(message).toMatch(/line 1: .*16 characters/)
    expect(message).toMatch(/line 2: expected/)
    expect(message).toMatch(/line 3: the name/)
    expect(message).not.toContain(OPERATOR)
    expect(() => new Auth(redis, freshKeys(), [{ name: 'alice', token: OPERATOR }], [{ name: 'alice', token: VIEWER }], 60)).toThrow(/used twice/)
  })
})

describe('finding 11: transport flags', () => {
  it('with trust proxy, X-Forwarded-Proto: https gives a __Host- Secure cookie and HSTS', async () => {
    const { base } = await startApp({ http: { trustProxy: 'loopback' } })
    const https = { 'x-forwarded-proto': 'https' }
    const res = await post(base, 'auth.login', { token: OPERATOR }, https)
    expect(res.status).toBe(200)
    const setCookie = res.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^__Host-fusebox_session=[\w-]+;/)
    expect(setCookie).toMatch(/; Secure/)
    expect(setCookie).toMatch(/Path=\//)
    expect(setCookie).not.toMatch(/Domain=/i)
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=31536000/)
    const cookie = setCookie.split(';')[0]!
    expect((await fetch(`${base}/trpc/auth.me`, { headers: { cookie, ...https } })).status).toBe(200)
    // Over TLS a plain-named cookie (as a sibling subdomain could plant) is not read.
    const plain = `fusebox_session=${cookie.slice(cookie.indexOf('=') + 1)}`
    expect((await fetch(`${base}/trpc/auth.me`, { headers: { cookie: plain, ...https } })).status).toBe(401)
    // Plain HTTP through the same proxy: no Secure, no HSTS.
    const http = await post(base, 'auth.login', { token: OPERATOR }, { 'x-forwarded-proto': 'http' })
    expect(http.headers.get('set-cookie')).not.toMatch(/Secure/)
    expect(http.headers.get('strict-transport-security')).toBeNull()
  })

  it('ignores X-Forwarded-Proto from an untrusted hop, and warns once', async () => {
    const warnings: string[] = []
    const { base } = await startApp({ http: { warn: (m) => warnings.push(m) } })
    for (let i = 0; i < 3; i++) {
      const res = await post(base, 'auth.login', { token: OPERATOR }, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.5' })
      expect(res.headers.get('set-cookie')).not.toMatch(/Secure|__Host-/)
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/FUSEBOX_TRUST_PROXY/)
  })

  it('/metrics needs the bearer token once a proxy is trusted or a public URL is set, even from loopback', async () => {
    for (const http of [{ trustProxy: 'loopback' }, { publicUrl: 'https://fusebox.example.com' }] satisfies Partial<HttpOptions>[]) {
      const { base } = await startApp({ http })
      const res = await fetch(`${base}/metrics`)
      expect(res.status).toBe(403)
      expect(await res.text()).toMatch(/FUSEBOX_METRICS_TOKEN/)
    }
    const { base } = await startApp({ http: { trustProxy: 'loopback', metricsToken: 'scrape-token-0123456789abcdef' } })
    expect((await fetch(`${base}/metrics`)).status).toBe(401)
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789abcdef' } })).status).toBe(200)
  })

  it('warns when listening beyond loopback without TLS, and when /metrics will refuse for want of a token', () => {
    const base = { HOST: '127.0.0.1', FUSEBOX_PUBLIC_URL: undefined, FUSEBOX_TRUST_PROXY: false as const, FUSEBOX_METRICS_TOKEN: undefined }
    expect(transportWarnings(base)).toEqual([])
    expect(transportWarnings({ ...base, HOST: '0.0.0.0' }).join('\n')).toMatch(/without TLS/)
    expect(transportWarnings({ ...base, HOST: '0.0.0.0', FUSEBOX_PUBLIC_URL: 'https://f.example.com', FUSEBOX_METRICS_TOKEN: 'x'.repeat(16) })).toEqual([])
    expect(transportWarnings({ ...base, FUSEBOX_TRUST_PROXY: 'loopback' }).join('\n')).toMatch(/FUSEBOX_METRICS_TOKEN/)
  })
})
