/**
 * The dashboard server on a real Redis Cluster (issue #13, docs/decisions/028): 3 services whose `{svc}` slots sit on
 * the 3 different masters of the shared test cluster, written by the SDK's public `createCollector` with a borrowed
 * Cluster client, then read and commanded through the real HTTP app (`createDashboard({ redis: { cluster } })`,
 * real HTTP on loopback). The failover tests start a cluster of their own (they stop nodes).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { startRedisCluster } from '../bootstrap/redisCluster.mjs'
import { createCollector, type Collector } from '../sdk/index'
import { deleteClusterPrefix, openTestCluster, seedList, testClusterSeeds } from '../testing/redisCluster'
import { singleNodeUrl } from '../testing/redis'
import { Auth } from './auth'
import { createDashboard, parseDashboardOptions, type Dashboard } from './dashboard'
import { checkEnv, redisTarget } from './env'
import { createHttpApp } from './http'
import { createOverviewHub } from './readModel'
import { REDIS_UNAVAILABLE_MESSAGE } from './redisUnavailable'
import { redisInvalidValues } from './reads/redisInput'
import { hashTagOf, readEach } from './reads/windowRead'

const JSON_HEADERS = { 'content-type': 'application/json', [CSRF_HEADER]: '1' }
/** Six operators: six logins, six session keys spread over the masters by their hashes. */
const OPERATORS = Array.from({ length: 6 }, (_, i) => ({ name: `op${i}`, token: `cluster-operator-token-${i}-${'x'.repeat(8)}` }))
const VIEWER = 'cluster-viewer-token-0123456789'

/** A listening HTTP server on loopback for a request handler. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handler).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
}

/** POST a tRPC mutation; returns the status and the parsed body. */
async function mutate(base: string, path: string, body: unknown, cookie?: string): Promise<{ status: number; json: unknown; cookie: string | null }> {
  const res = await fetch(`${base}/trpc/${path}`, { method: 'POST', headers: { ...JSON_HEADERS, ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) })
  const setCookie = res.headers.get('set-cookie')
  return { status: res.status, json: await res.json(), cookie: setCookie ? setCookie.split(';')[0]! : null }
}

/** GET a tRPC query; returns the status and `result.data` (or the error body). */
async function query<T = unknown>(base: string, path: string, input: unknown, cookie: string): Promise<{ status: number; data: T; body: unknown }> {
  const url = `${base}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`
  const res = await fetch(url, { headers: { cookie } })
  const body = (await res.json()) as { result?: { data: T } }
  return { status: res.status, data: body.result?.data as T, body }
}

/** `{ [master address]: [first slot, last slot][] }` of a cluster, from CLUSTER SLOTS. */
async function slotOwners(cluster: Cluster): Promise<Map<string, [number, number][]>> {
  const owners = new Map<string, [number, number][]>()
  for (const [from, to, master] of await cluster.cluster('SLOTS')) {
    if (!master) continue // a range nobody serves
    const address = `${master[0]}:${master[1]}`
    owners.set(address, [...(owners.get(address) ?? []), [from, to]])
  }
  return owners
}

/** The master (`host:port`) that serves `key`'s slot. */
async function masterOf(cluster: Cluster, key: string): Promise<string> {
  const slot = Number(await cluster.cluster('KEYSLOT', key))
  for (const [address, ranges] of await slotOwners(cluster)) if (ranges.some(([a, b]) => slot >= a && slot <= b)) return address
  throw new Error(`no master serves slot ${slot}`)
}

/** One service name per master: the first of `<stem>0`, `<stem>1`, … whose `{name}` slot that master serves. */
async function servicesOnEveryMaster(cluster: Cluster, stem: string): Promise<Map<string, string>> {
  const masters = [...(await slotOwners(cluster)).keys()]
  const byMaster = new Map<string, string>()
  for (let i = 0; byMaster.size < masters.length && i < 1000; i++) {
    const name = `${stem}${i}`
    const master = await masterOf(cluster, `{${name}}`)
    if (!byMaster.has(master)) byMaster.set(master, name)
  }
  if (byMaster.size !== masters.length) throw new Error('could not place a service on every master')
  return byMaster
}

/** Keys under `pattern` on each master (SCAN per master), by master address. */
async function keysPerMaster(cluster: Cluster, pattern: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const node of cluster.nodes('master')) {
    let cursor = '0'
    let n = 0
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      n += found.length
    } while (cursor !== '0')
    out.set(`${node.options.host}:${node.options.port}`, n)
  }
  return out
}

/** Polls `check` every 100 ms until it is true or `timeoutMs` passed; returns whether it became true. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

/** Flushes a collector until its first flush has landed (the first one announces the service). */
async function flushed(c: Collector): Promise<void> {
  const deadline = Date.now() + 10_000
  while (c.stats.flushes === 0 && Date.now() < deadline) {
    await c.flush()
    await new Promise((r) => setTimeout(r, 20))
  }
  if (c.stats.flushes === 0) throw new Error('the collector never flushed to the cluster')
}

describe('the dashboard on a Redis Cluster (3 masters + 3 replicas, real HTTP)', () => {
  const prefix = `cl${randomBytes(4).toString('hex')}`
  const keys: KeySpace = createKeySpace(prefix)
  let cluster: Cluster
  let services: string[] = []
  let placement: Map<string, string>
  const collectors: Collector[] = []
  let dashboard: Dashboard
  let http: { server: Server; base: string }
  /** A viewer's session cookie. */
  let viewerCookie = ''
  /** Each operator's session cookie (from the 6 logins). */
  const operatorCookies: string[] = []

  beforeAll(async () => {
    cluster = openTestCluster()
    placement = await servicesOnEveryMaster(cluster, `${prefix}svc`)
    services = [...placement.values()].sort()
    for (const [i, service] of services.entries()) {
      // The host's own Cluster client, borrowed by the SDK (never closed by it).
      const c = createCollector({ redis: cluster, service, instance: `i${i}`, prefix, flushIntervalMs: 60_000, slowRequestThresholdMs: 100 })
      collectors.push(c)
      c.breaker('payments', async () => 'ok')
      await flushed(c)
      for (let r = 0; r < 10 * (i + 1); r++) c.recordRequest({ method: 'GET', route: '/items/:id', status: 200, durationMs: 10 + r })
      for (let r = 0; r < i + 1; r++) c.recordRequest({ method: 'POST', route: '/cart', status: 503, durationMs: 40, errorType: 'ECONNRESET' })
      const catalog = c.cache<string>('catalog', { ttlSeconds: 60 })
      await catalog.getOrSet('product:1', async () => 'one', { tags: ['catalog'] })
      await catalog.getOrSet('product:1', async () => 'never')
    }
    await Promise.all(collectors.map((c) => c.flush()))
    dashboard = createDashboard({ redis: { cluster: testClusterSeeds() }, keyPrefix: prefix, operatorTokens: OPERATORS, viewerTokens: [VIEWER] })
    http = await listen(dashboard.app as Parameters<typeof createServer>[1])
    await until(async () => dashboard.redis.status === 'ready', 5000)
  }, 60_000)

  afterAll(async () => {
    await Promise.all(collectors.map((c) => c.close()))
    if (http) await closeServer(http.server)
    await dashboard?.close()
    await deleteClusterPrefix(cluster, prefix)
    cluster.disconnect()
  })

  it('places the 3 services on the 3 different masters', () => {
    expect(services).toHaveLength(3)
    expect(new Set(placement.keys()).size).toBe(3)
  })

  it('accepts all 6 logins of 6 (their sessions land on several masters) and a viewer', async () => {
    const logins = await Promise.all(OPERATORS.map((o) => mutate(http.base, 'auth.login', { token: o.token })))
    expect(logins.map((l) => l.status)).toEqual([200, 200, 200, 200, 200, 200])
    for (const l of logins) operatorCookies.push(l.cookie!)
    const viewer = await mutate(http.base, 'auth.login', { token: VIEWER })
    expect(viewer.status).toBe(200)
    viewerCookie = viewer.cookie!
    const perMaster = await keysPerMaster(cluster, `${prefix}:session:*`)
    expect([...perMaster.values()].reduce((a, b) => a + b, 0)).toBe(7)
    expect([...perMaster.values()].filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
    for (const cookie of operatorCookies) expect((await query(http.base, 'auth.me', undefined, cookie)).status).toBe(200)
  })

  it('answers every query with 200 and each service its own data', async () => {
    const c = viewerCookie
    const list = await query<{ service: string; instancesUp: number }[]>(http.base, 'services.list', undefined, c)
    expect(list.status).toBe(200)
    expect(list.data.map((s) => [s.service, s.instancesUp])).toEqual(services.map((s) => [s, 1]))

    const overview = await query<{ services: { service: string; requests: number }[]; breakers: { service: string; name: string }[] }>(
      http.base,
      'overview.get',
      { windowMs: 300_000 },
      c,
    )
    expect(overview.status).toBe(200)
    expect(overview.data.services.map((s) => [s.service, s.requests])).toEqual(services.map((s, i) => [s, 11 * (i + 1)]))
    expect(overview.data.breakers.map((b) => `${b.service}/${b.name}`).sort()).toEqual(services.map((s) => `${s}/payments`))

    for (const [i, service] of services.entries()) {
      const want = 11 * (i + 1)
      const series = await query<{ total: { requests: number } }>(http.base, 'series.get', { service, windowMs: 300_000 }, c)
      expect([series.status, series.data.total.requests]).toEqual([200, want])
      const route = await query<{ total: { requests: number } }>(http.base, 'series.get', { service, windowMs: 300_000, route: { method: 'POST', route: '/cart' } }, c)
      expect([route.status, route.data.total.requests]).toEqual([200, i + 1])
      const endpoints = await query<{ total: number; rows: { route: string; requests: number }[] }>(http.base, 'endpoints.list', { service, windowMs: 300_000 }, c)
      expect(endpoints.status).toBe(200)
      expect(endpoints.data.rows.map((r) => [r.route, r.requests]).sort()).toEqual([['/cart', i + 1], ['/items/:id', 10 * (i + 1)]])
      const requests = await query<{ entries: { status: number }[] }>(http.base, 'requests.list', { service, limit: 100 }, c)
      expect(requests.status).toBe(200)
      expect(requests.data.entries.filter((e) => e.status === 503)).toHaveLength(i + 1)
      const requestWindow = await query<{ total: number }>(http.base, 'requests.window', { service, offset: 0, limit: 50 }, c)
      expect([requestWindow.status, requestWindow.data.total >= i + 1]).toEqual([200, true])
      const events = await query<{ entries: unknown[] }>(http.base, 'events.list', { service, limit: 100 }, c)
      expect(events.status).toBe(200)
      const eventWindow = await query<{ total: number }>(http.base, 'events.window', { service, offset: 0, limit: 50 }, c)
      expect(eventWindow.status).toBe(200)
      const breakers = await query<{ service: string; name: string }[]>(http.base, 'breakers.list', { service }, c)
      expect([breakers.status, breakers.data.map((b) => `${b.service}/${b.name}`)]).toEqual([200, [`${service}/payments`]])
      const breaker = await query<{ summary: { service: string; name: string } }>(http.base, 'breakers.get', { service, breaker: 'payments' }, c)
      expect([breaker.status, breaker.data.summary.service, breaker.data.summary.name]).toEqual([200, service, 'payments'])
      const caches = await query<{ caches: { cache: string; sets: number }[] }>(http.base, 'caches.list', { service }, c)
      expect(caches.status).toBe(200)
      expect(caches.data.caches.map((x) => [x.cache, x.sets])).toEqual([['catalog', 1]])
      const instances = await query<{ instance: string; up: boolean }[]>(http.base, 'instances.list', { service }, c)
      expect([instances.status, instances.data.map((x) => [x.instance, x.up])]).toEqual([200, [[`i${i}`, true]]])
    }
    const all = await query<unknown[]>(http.base, 'breakers.list', undefined, c)
    expect([all.status, all.data.length]).toEqual([200, 3])
    expect((await query(http.base, 'audit.list', { limit: 50 }, c)).status).toBe(200)
  })

  it('streams live.snapshot (SSE) with all 3 services, and /metrics exports every service from the cluster', async () => {
    const controller = new AbortController()
    const res = await fetch(`${http.base}/trpc/live.snapshot?input=${encodeURIComponent(JSON.stringify({ windowMs: 300_000 }))}`, {
      headers: { cookie: viewerCookie, accept: 'text/event-stream' },
      signal: controller.signal,
    })
    try {
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      let text = ''
      const snapshot = () => text.split(/\r?\n\r?\n/).slice(0, -1).find((e) => /^data: /m.test(e) && !/^event: /m.test(e))
      while (!snapshot()) {
        const { done, value } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      for (const s of services) expect(snapshot()).toContain(`"service":"${s}"`)
    } finally {
      controller.abort()
    }
    const metrics = await fetch(`${http.base}/metrics`)
    expect(metrics.status).toBe(200)
    const body = await metrics.text()
    expect(body).toMatch(/^fusebox_redis_up 1$/m)
    for (const s of services) expect(body).toContain(`service_name="${s}"`)
  })

  it('sums the Redis health over the 3 masters and lists each', async () => {
    const info = await query<{ topology: string; clusterState: string; keys: number; usedMemoryBytes: number; connectedClients: number; nodes: { id: string; keys: number; usedMemoryBytes: number }[] }>(
      http.base,
      'redis.info',
      undefined,
      viewerCookie,
    )
    expect(info.status).toBe(200)
    expect(info.data).toMatchObject({ topology: 'cluster', clusterState: 'ok' })
    const masterIds = (await Promise.all(cluster.nodes('master').map(async (n) => String(await n.cluster('MYID'))))).sort()
    expect(masterIds).toHaveLength(3)
    expect(info.data.nodes.map((n) => n.id)).toEqual(masterIds)
    // Where Redis lives stays private: no node address in the answer.
    for (const n of cluster.nodes('master')) expect(JSON.stringify(info.body)).not.toContain(`:${n.options.port}`)
    expect(info.data.keys).toBe(info.data.nodes.reduce((t, n) => t + n.keys, 0))
    expect(info.data.usedMemoryBytes).toBe(info.data.nodes.reduce((t, n) => t + n.usedMemoryBytes, 0))
    for (const n of info.data.nodes) expect(n.keys).toBeGreaterThan(0)
  })

  it('issues breakers.command for each service: 200, the desired state and the audit entry stored, the nudge sent with SPUBLISH', async () => {
    const seeds = seedList(testClusterSeeds())
    const subscriber = new Cluster(seeds, { shardedSubscribers: true })
    const nudges: string[] = []
    subscriber.on('smessage', (channel: string) => nudges.push(channel))
    try {
      for (const s of services) await subscriber.ssubscribe(keys.controlChannel(s))
      for (const [i, service] of services.entries()) {
        const res = await mutate(http.base, 'breakers.command', { service, breaker: 'payments', command: 'forceOpen', reason: `drill ${i}` }, operatorCookies[i])
        expect(res.status, JSON.stringify(res.json)).toBe(200)
        const { commandId } = (res.json as { result: { data: { commandId: string } } }).result.data
        expect(await cluster.hget(keys.breakerDesired(service, 'payments'), 'mode')).toBe('FORCED_OPEN')
        const audit = await cluster.xrange(keys.audit(service), '-', '+')
        expect(audit.map(([, f]) => f.join(' '))).toEqual([expect.stringContaining(commandId)])
        const status = await query<{ commandId: string }>(http.base, 'breakers.commandStatus', { service, commandId }, viewerCookie)
        expect([status.status, status.data.commandId]).toEqual([200, commandId])
        const invalidated = await mutate(http.base, 'caches.invalidateTag', { service, cache: 'catalog', tag: 'catalog', reason: 'drill' }, operatorCookies[i])
        expect(invalidated.status, JSON.stringify(invalidated.json)).toBe(200)
      }
      expect(await until(async () => nudges.length >= 3, 3000)).toBe(true)
      expect([...nudges].sort()).toEqual(services.map((s) => keys.controlChannel(s)).sort())
      const audit = await query<{ entries: { service: string }[] }>(http.base, 'audit.list', { limit: 50 }, viewerCookie)
      expect(audit.status).toBe(200)
      expect(new Set(audit.data.entries.map((e) => e.service))).toEqual(new Set(services))
    } finally {
      subscriber.disconnect()
    }
  })

  it('still rate-limits on a cluster, and a corrupt counter is replaced and counted (never a lock-out, never a free pass)', async () => {
    const rlPrefix = `${prefix}rl`
    const rlKeys = createKeySpace(rlPrefix)
    const redis = dashboard.redis
    const auth = new Auth(redis, rlKeys, [OPERATORS[0]!], [], 3600)
    const app = createHttpApp(
      { redis, keys: rlKeys, auth, tls: false, hub: createOverviewHub(redis, rlKeys) },
      { staticDir: 'dist', rateLimits: { login: { windowMs: 60_000, limit: 2 }, commands: { windowMs: 60_000, limit: 1 } } },
    )
    const srv = await listen(app)
    const invalid = async () => ((await redisInvalidValues.get()).values.find((v) => v.labels.kind === 'rate_limit_counter')?.value ?? 0)
    try {
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await mutate(srv.base, 'auth.login', { token: `wrong-${i}` })).status)
      expect(statuses).toEqual([401, 401, 429])
      // The failure counter under a key of the wrong type (not written by Fusebox): replaced by a fresh one and counted,
      // so the client is neither locked out by a 503 for ever nor let through unchecked: it limits again at once.
      const before = await invalid()
      await cluster.del(`${rlPrefix}:rl:login:127.0.0.1`)
      await cluster.hset(`${rlPrefix}:rl:login:127.0.0.1`, 'x', '1')
      const ok = await mutate(srv.base, 'auth.login', { token: OPERATORS[0]!.token })
      expect(ok.status).toBe(200)
      expect(await invalid()).toBe(before + 1)
      await cluster.set(`${rlPrefix}:rl:login:127.0.0.1`, 'not-a-number')
      const again = []
      for (let i = 0; i < 3; i++) again.push((await mutate(srv.base, 'auth.login', { token: `wrong-again-${i}` })).status)
      expect(again).toEqual([401, 401, 429])
      expect(await invalid()).toBe(before + 2)
      // Commands: one a minute here; a corrupt command counter is replaced, the command counted, the next one limited.
      const service = services[0]!
      const tokenId = (await auth.getSession(ok.cookie!.split('=')[1]))!.tokenId
      await cluster.hset(`${rlPrefix}:rl:cmd:${tokenId}`, 'x', '1')
      const cmd = await mutate(srv.base, 'breakers.command', { service, breaker: 'payments', command: 'reset', reason: 'rl' }, ok.cookie!)
      // Past the limit check it reaches the command itself (404 here: this prefix has no such breaker).
      expect(cmd.status).toBe(404)
      expect((await mutate(srv.base, 'breakers.command', { service, breaker: 'payments', command: 'reset', reason: 'rl' }, ok.cookie!)).status).toBe(429)
      expect(await invalid()).toBe(before + 3)
    } finally {
      await closeServer(srv.server)
      await deleteClusterPrefix(cluster, rlPrefix)
    }
  })

  it('lets two servers share one cluster: a session made on one works on the other, a login link issued by one is consumed once by the other', async () => {
    const linkPrefix = `${prefix}two`
    const [a, b] = [0, 1].map(() => createDashboard({ redis: { cluster: testClusterSeeds() }, keyPrefix: linkPrefix }))
    const [ha, hb] = await Promise.all([a!, b!].map((d) => listen(d.app as Parameters<typeof createServer>[1])))
    try {
      await until(async () => a!.redis.status === 'ready' && b!.redis.status === 'ready', 5000)
      const token = await a!.issueLoginLink()
      const onB = await mutate(hb!.base, 'auth.login', { token })
      expect(onB.status).toBe(200)
      expect((await mutate(ha!.base, 'auth.login', { token })).status).toBe(401)
      expect((await mutate(hb!.base, 'auth.login', { token })).status).toBe(401)
      expect((await query(ha!.base, 'auth.me', undefined, onB.cookie!)).status).toBe(200)
      // And with configured tokens: log in through the main dashboard, use the session on a second one.
      const second = createDashboard({ redis: { cluster: testClusterSeeds() }, keyPrefix: prefix, operatorTokens: OPERATORS, viewerTokens: [VIEWER] })
      const hs = await listen(second.app as Parameters<typeof createServer>[1])
      try {
        await until(async () => second.redis.status === 'ready', 5000)
        const me = await query<{ actor: string }>(hs.base, 'auth.me', undefined, operatorCookies[5]!)
        expect([me.status, me.data.actor]).toEqual([200, 'op5'])
        expect((await query(hs.base, 'services.list', undefined, operatorCookies[5]!)).status).toBe(200)
      } finally {
        await closeServer(hs.server)
        await second.close()
      }
    } finally {
      await Promise.all([ha!, hb!].map((h) => closeServer(h.server)))
      await Promise.all([a!.close(), b!.close()])
      await deleteClusterPrefix(cluster, linkPrefix)
    }
  })

  it('readEach splits keys of several services into one pipeline per hash tag, so a cross-service read works on the cluster', async () => {
    const keyList = services.flatMap((s) => [keys.instances(s), keys.breakers(s)])
    expect(new Set(keyList.map(hashTagOf)).size).toBe(3)
    const counts = await readEach(cluster, keyList, (p, key) => (key.endsWith(':instances') ? p.zcard(key) : p.scard(key)), 0)
    expect(counts).toEqual(services.flatMap(() => [1, 1]))
  })

  it('answers 503, never 500, when a standalone client is pointed at one node of the cluster (MOVED)', async () => {
    const [first] = seedList(testClusterSeeds())
    const one = new Redis(`redis://${first!.host}:${first!.port}`, { maxRetriesPerRequest: 1 })
    one.on('error', () => undefined)
    const auth = new Auth(one, keys, OPERATORS, [VIEWER], 3600)
    const srv = await listen(createHttpApp({ redis: one, keys, auth, tls: false, hub: createOverviewHub(one, keys) }, { staticDir: 'dist' }))
    try {
      const logins = await Promise.all(OPERATORS.map((o) => mutate(srv.base, 'auth.login', { token: o.token })))
      const statuses = logins.map((l) => l.status)
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
      expect(statuses).toContain(503)
      for (const service of services) {
        const res = await query(srv.base, 'instances.list', { service }, viewerCookie)
        expect([200, 503]).toContain(res.status)
      }
    } finally {
      await closeServer(srv.server)
      one.disconnect()
    }
  })
})

describe('the dashboard through a master failure (a cluster of its own)', () => {
  it('reports /healthz 503 while a master hangs, answers data procedures 503 (not 500) while its slots have no master, and 200 again after failover', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusebox-h2-failover-'))
    const own = await startRedisCluster({ dir, masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 })
    const prefix = `fo${randomBytes(3).toString('hex')}`
    const check = new Cluster(seedList(own.seeds), { scaleReads: 'master' })
    let dashboard: Dashboard | undefined
    let http: { server: Server; base: string } | undefined
    let stopped: number | undefined
    try {
      const service = [...(await servicesOnEveryMaster(check, `${prefix}s`)).values()][0]!
      const victim = await masterOf(check, `{${service}}`)
      await check.sadd(createKeySpace(prefix).services(), service)
      await check.zadd(createKeySpace(prefix).instances(service), Date.now(), 'i0')
      dashboard = createDashboard({ redis: { cluster: own.seeds }, keyPrefix: prefix, viewerTokens: [VIEWER] })
      http = await listen(dashboard.app as Parameters<typeof createServer>[1])
      await until(async () => dashboard!.redis.status === 'ready', 5000)
      expect((await fetch(`${http.base}/healthz`)).status).toBe(200)
      // The session on a master other than the victim, so the failure shows in the data read, not in the sign-in.
      let cookie = ''
      for (let i = 0; i < 20 && cookie === ''; i++) {
        const login = await mutate(http.base, 'auth.login', { token: VIEWER })
        const keyId = (await new Auth(check, createKeySpace(prefix), [], [VIEWER], 60).getSession(login.cookie!.split('=')[1]))!.keyId
        if ((await masterOf(check, createKeySpace(prefix).session(keyId))) !== victim) cookie = login.cookie!
      }
      expect(cookie).not.toBe('')
      expect((await query(http.base, 'instances.list', { service }, cookie)).status).toBe(200)

      const node = own.nodes.find((n) => n.address === victim)!
      stopped = node.server.pid
      const stoppedAt = performance.now()
      process.kill(stopped, 'SIGSTOP')
      const health = await fetch(`${http.base}/healthz`)
      expect(health.status).toBe(503)
      expect(((await health.json()) as { cluster: { failing: number } }).cluster).toMatchObject({ state: 'ok', masters: 3, failing: 1 })
      const during = await query(http.base, 'instances.list', { service }, cookie)
      expect(during.status).toBe(503)
      expect((during.body as { error: { message: string } }).error.message).toBe(REDIS_UNAVAILABLE_MESSAGE)

      // The replica takes over after cluster-node-timeout (2 s); the dashboard follows without a restart.
      const statuses: number[] = []
      const recovered = await until(async () => {
        const res = await query(http!.base, 'instances.list', { service }, cookie)
        statuses.push(res.status)
        return res.status === 200
      }, 30_000)
      expect(recovered).toBe(true)
      const recoveredMs = Math.round(performance.now() - stoppedAt)
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([])
      console.log(
        `[failover] master ${victim} stopped: ${1 + statuses.filter((s) => s === 503).length} answers 503, none 500; 200 again ${recoveredMs} ms after SIGSTOP (cluster-node-timeout 2000 ms)`,
      )
      expect(await until(async () => (await fetch(`${http!.base}/healthz`)).status === 200, 15_000)).toBe(true)
    } finally {
      if (stopped !== undefined) process.kill(stopped, 'SIGCONT')
      if (http) await closeServer(http.server)
      await dashboard?.close()
      check.disconnect()
      await own.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }, 90_000)
})

describe('choosing the topology', () => {
  it('takes exactly one of REDIS_URL and REDIS_CLUSTER_NODES, and names a bad seed', () => {
    const cluster = checkEnv({ REDIS_CLUSTER_NODES: 'rediss://fb:secret@10.0.0.1:7000, [::1]:7001' })
    expect(cluster.ok && redisTarget(cluster.env)).toEqual({
      cluster: { nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }], redisOptions: { username: 'fb', password: 'secret', tls: {} } },
    })
    const url = checkEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })
    expect(url.ok && redisTarget(url.env)).toBe('redis://127.0.0.1:6379')
    expect(checkEnv({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toEqual({
      ok: false,
      issues: [{ variable: 'REDIS_CLUSTER_NODES', message: 'set only one of REDIS_URL and REDIS_CLUSTER_NODES' }],
    })
    expect(checkEnv({})).toMatchObject({ ok: false, issues: [{ variable: 'REDIS_URL', message: expect.stringContaining('REDIS_CLUSTER_NODES') }] })
    expect(checkEnv({ REDIS_CLUSTER_NODES: '127.0.0.1' })).toMatchObject({ ok: false, issues: [{ variable: 'REDIS_CLUSTER_NODES', message: expect.stringContaining('"127.0.0.1"') }] })
  })

  it('createDashboard takes { cluster } as a seed string, a list or parsed seeds, and lists a bad seed by name', () => {
    const want = { cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }], redisOptions: {} } }
    expect(parseDashboardOptions({ redis: { cluster: '127.0.0.1:7000,127.0.0.1:7001' } }).redis).toEqual(want)
    expect(parseDashboardOptions({ redis: { cluster: ['127.0.0.1:7000', '127.0.0.1:7001'] } }).redis).toEqual(want)
    expect(parseDashboardOptions({ redis: want }).redis).toEqual(want)
    expect(() => parseDashboardOptions({ redis: { cluster: '127.0.0.1:7000,redis://h:1/2' } })).toThrow(/redis\.cluster: cluster seed "redis:\/\/h:1\/2": a cluster has only database 0/)
    expect(() => parseDashboardOptions({ redis: 'http://nope' })).toThrow(/redis: must be a redis:\/\/ or rediss:\/\/ URL, \{ cluster: seeds \}, or an ioredis Redis or Cluster client/)
  })
})

// The same app on one standalone Redis keeps working (the comparison the cluster tests are measured against).
describe('the same app on one Redis', () => {
  it('sums nothing and lists its one node in redis.info; /healthz has no cluster part', async () => {
    const dashboard = createDashboard({ redis: singleNodeUrl(), keyPrefix: `st${randomBytes(3).toString('hex')}`, viewerTokens: [VIEWER] })
    const http = await listen(dashboard.app as Parameters<typeof createServer>[1])
    try {
      await until(async () => dashboard.redis.status === 'ready', 5000)
      const login = await mutate(http.base, 'auth.login', { token: VIEWER })
      const info = await query<{ topology: string; nodes: unknown[]; keys: number }>(http.base, 'redis.info', undefined, login.cookie!)
      expect([info.status, info.data.topology, info.data.nodes.length]).toEqual([200, 'standalone', 1])
      expect(await (await fetch(`${http.base}/healthz`)).json()).toEqual({ status: 'ok', redis: 'ready' })
    } finally {
      await closeServer(http.server)
      await dashboard.close()
    }
  })
})
