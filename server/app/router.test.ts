import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { requestLogFields } from '../../shared/streamEntries'
import { ENDPOINTS_MAX_LIMIT } from '../../shared/schemas'
import { createCollector, type Collector } from '../sdk/index'
import { openTestRedis, testRedisTarget } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { Auth } from './auth'
import { LiveHub } from './liveHub'
import { readOverview } from './readModel'
import { appRouter } from './router'
import { createCallerFactory, type Context } from './trpc'

/** XADD fields of a failed request at `atMs` on `route` (the SDK's layout, shared/streamEntries.ts). */
const failedRequest = (atMs: number, route: string): string[] =>
  requestLogFields({ atMs, method: 'GET', route, status: 500, durationMs: 1, instance: 'a', errorType: '500', kind: 'error' })

const prefix = `r${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
let redis: RedisClient
let auth: Auth
let hub: LiveHub
const collectors: Collector[] = []
const setCookies: string[] = []
const createCaller = createCallerFactory(appRouter)

/** The context a request would get; only `res.setHeader` is used off the HTTP objects (login/logout cookies). */
function ctx(role: 'operator' | 'viewer' | null): Context {
  const res = { setHeader: (_name: string, value: string) => setCookies.push(value) } as unknown as ServerResponse
  return {
    req: {} as IncomingMessage,
    res,
    redis,
    keys,
    auth,
    hub,
    secure: false,
    now: Date.now,
    session: role === null ? null : { id: 'x'.repeat(32), keyId: 'k'.repeat(64), tokenId: `${role}-token`, role, actor: `${role}-actor`, createdAtMs: Date.now() },
  }
}
const operator = () => createCaller(ctx('operator'))
const viewer = () => createCaller(ctx('viewer'))

beforeAll(async () => {
  redis = openTestRedis()
  auth = new Auth(redis, keys, ['operator-token-router-test'], ['viewer-token-router-test'], 3600)
  hub = new LiveHub((w) => readOverview(redis, keys, Date.now(), w), 100)
  for (const instance of ['a', 'b']) {
    const c = createCollector({ redis: testRedisTarget(), service: 'shop', instance, prefix, flushIntervalMs: 60_000, slowRequestThresholdMs: 100 })
    collectors.push(c)
    c.breaker('payments', async () => 'ok')
  }
  for (const c of collectors) {
    const deadline = Date.now() + 5000
    while (c.stats.flushes === 0 && Date.now() < deadline) {
      await c.flush()
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const [a, b] = collectors as [Collector, Collector]
  for (let i = 0; i < 50; i++) a.recordRequest({ method: 'GET', route: '/items/:id', status: 200, durationMs: 10 + i })
  for (let i = 0; i < 5; i++) b.recordRequest({ method: 'GET', route: '/items/:id', status: 503, durationMs: 40, errorType: 'ECONNRESET' })
  for (let i = 0; i < 20; i++) b.recordRequest({ method: 'POST', route: '/cart', status: 201, durationMs: 20 })
  b.recordRequest({ method: 'POST', route: '/cart', status: 201, durationMs: 150 })
  const catalog = a.cache<string>('catalog', { ttlSeconds: 60 })
  await catalog.getOrSet('product:1', async () => 'one', { tags: ['product:1', 'catalog'] })
  await catalog.getOrSet('product:1', async () => 'never')
  await catalog.getOrSet('product:2', async () => 'two', { tags: ['catalog'] })
  await Promise.all(collectors.map((c) => c.flush()))
})

afterAll(async () => {
  hub.close()
  await Promise.all(collectors.map((c) => c.close()))
  await redis.quit()
})

describe('router (createCaller, real Redis)', () => {
  it('auth.login sets an HttpOnly SameSite=Strict session cookie and auth.me tells the role', async () => {
    await expect(createCaller(ctx(null)).auth.login({ token: 'viewer-token-router-test' })).resolves.toEqual({ role: 'viewer' })
    expect(setCookies.at(-1)).toMatch(/fusebox_session=[\w-]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Strict/)
    await expect(createCaller(ctx(null)).auth.login({ token: 'wrong' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    await expect(viewer().auth.me()).resolves.toEqual({ role: 'viewer', actor: 'viewer-actor' })
    await expect(createCaller(ctx(null)).auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
  })

  it('auth.logout deletes the session and clears the cookie', async () => {
    const session = await auth.createSession(auth.check('viewer-token-router-test')!, Date.now())
    const c = createCaller({ ...ctx('viewer'), session })
    await expect(c.auth.logout()).resolves.toEqual({ ok: true })
    expect(await auth.getSession(session.id)).toBeNull()
    expect(setCookies.at(-1)).toMatch(/fusebox_session=; Max-Age=0/)
  })

  it('services.list lists the service with both instances up', async () => {
    expect(await viewer().services.list()).toEqual([{ service: 'shop', instancesUp: 2, instancesTotal: 2 }])
  })

  it('overview.get sums both instances: 76 requests, 5 errors, percentiles from the merged histogram', async () => {
    const o = await viewer().overview.get({ windowMs: 60_000 })
    const shop = o.services.find((s) => s.service === 'shop')
    expect(shop).toMatchObject({ requests: 76 })
    expect(shop?.errorRate).toBeCloseTo(5 / 76, 6)
    expect(shop?.p50Ms).toBeGreaterThan(15)
    expect(o.breakers.map((b) => b.name)).toEqual(['payments'])
  })

  it('series.get gives a service series and a route series from the right tier', async () => {
    const s = await viewer().series.get({ service: 'shop', windowMs: 120_000 })
    expect(s.tier).toBe('10s')
    expect(s.points.length).toBeGreaterThanOrEqual(11)
    // The open 10 s bucket is counted in the totals but not charted (chartedBucketCount).
    expect(s.points.at(-1)!.t).toBeLessThan(Math.floor(Date.now() / 10_000) * 10_000)
    expect(s.total.requests).toBe(76)
    const r = await viewer().series.get({ service: 'shop', windowMs: 120_000, route: { method: 'POST', route: '/cart' } })
    expect(r.total.requests).toBe(21)
    expect(r.total.errorRate).toBe(0)
    const day = await viewer().series.get({ service: 'shop', windowMs: 7 * 24 * 3_600_000 })
    expect(day.tier).toBe('1h')
  })

  it('endpoints.list sorts, filters and pages the routes on the server', async () => {
    const all = await viewer().endpoints.list({ service: 'shop', windowMs: 60_000, sortBy: 'requests', descending: true })
    expect(all.total).toBe(2)
    expect(all.rows.map((r) => [r.method, r.route, r.requests])).toEqual([['GET', '/items/:id', 55], ['POST', '/cart', 21]])
    expect(all.rows[0]?.statusCounts).toEqual([0, 50, 0, 0, 5])
    const filtered = await viewer().endpoints.list({ service: 'shop', windowMs: 60_000, filter: 'CART' })
    expect(filtered.rows.map((r) => r.route)).toEqual(['/cart'])
    const page = await viewer().endpoints.list({ service: 'shop', windowMs: 60_000, sortBy: 'route', descending: false, offset: 1, limit: 1 })
    expect(page.rows.map((r) => r.route)).toEqual(['/items/:id'])
  })

  it('endpoints.list returns up to ENDPOINTS_MAX_LIMIT routes in one call and refuses a larger limit', async () => {
    const whole = await viewer().endpoints.list({ service: 'shop', windowMs: 60_000, limit: ENDPOINTS_MAX_LIMIT })
    expect(whole.rows).toHaveLength(whole.total)
    await expect(viewer().endpoints.list({ service: 'shop', limit: ENDPOINTS_MAX_LIMIT + 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(viewer().endpoints.list({ service: 'shop', limit: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })

  it('requests.list pages the sampled request log by cursor and filters by status class, route and instance', async () => {
    const first = await viewer().requests.list({ service: 'shop', limit: 4 })
    expect(first.entries).toHaveLength(4)
    expect(first.nextCursor).not.toBeNull()
    const rest = await viewer().requests.list({ service: 'shop', limit: 100, cursor: first.nextCursor })
    expect(first.entries.length + rest.entries.length).toBe(6) // 5 failures + 1 slow
    expect(rest.nextCursor).toBeNull()
    const errors = await viewer().requests.list({ service: 'shop', status: '5xx' })
    expect(errors.entries.map((e) => [e.status, e.errorType, e.instance])).toEqual(Array(5).fill([503, 'ECONNRESET', 'b']))
    expect((await viewer().requests.list({ service: 'shop', route: '/cart' })).entries.map((e) => e.kind)).toEqual(['slow'])
    expect((await viewer().requests.list({ service: 'shop', instance: 'a' })).entries).toEqual([])
  })

  it('requests.window and events.window give random access to whole streams, exactly near the top', async () => {
    const w = await viewer().requests.window({ service: 'shop', offset: 2, limit: 3 })
    expect(w).toMatchObject({ total: 6, offset: 2, exact: true })
    const all = await viewer().requests.list({ service: 'shop', limit: 6 })
    expect(w.entries.map((e) => e.id)).toEqual(all.entries.slice(2, 5).map((e) => e.id))
    // Far beyond the top (a big stream): located by time between the oldest and newest entries.
    const key = keys.requestLog('big')
    const p = redis.pipeline()
    for (let i = 0; i < 6000; i++) p.xadd(key, `${1_700_000_000_000 + i * 1000}-0`, ...failedRequest(1_700_000_000_000 + i * 1000, `/r${i}`))
    await p.exec()
    const far = await viewer().requests.window({ service: 'big', offset: 5500, limit: 10 })
    expect(far).toMatchObject({ total: 6000, exact: false })
    expect(far.entries).toHaveLength(10)
    expect(Math.abs(Number(far.entries[0]!.route.slice(2)) - (6000 - 1 - 5500))).toBeLessThanOrEqual(2)
    expect(far.newestId).toBe(`${1_700_000_000_000 + 5999 * 1000}-0`)
  })

  it('a window anchored at untilId keeps its rows when newer entries arrive (a paused log)', async () => {
    const key = keys.requestLog('anchored')
    const add = async (from: number, to: number) => {
      const p = redis.pipeline()
      for (let i = from; i < to; i++) p.xadd(key, `${1_700_000_000_000 + i * 1000}-0`, ...failedRequest(1_700_000_000_000 + i * 1000, `/r${i}`))
      await p.exec()
    }
    await add(0, 6000)
    const top = await viewer().requests.window({ service: 'anchored', offset: 0, limit: 5 })
    expect(top.newestId).toBe(`${1_700_000_000_000 + 5999 * 1000}-0`)
    const before = await viewer().requests.window({ service: 'anchored', offset: 100, limit: 5, untilId: top.newestId! })
    const farBefore = await viewer().requests.window({ service: 'anchored', offset: 5500, limit: 5, untilId: top.newestId! })
    await add(6000, 6050)
    // Unanchored, the rows moved by the 50 new entries; anchored, they did not.
    const live = await viewer().requests.window({ service: 'anchored', offset: 100, limit: 5 })
    expect(live.entries[0]!.route).toBe('/r5949')
    const after = await viewer().requests.window({ service: 'anchored', offset: 100, limit: 5, untilId: top.newestId! })
    expect(after.entries.map((e) => e.id)).toEqual(before.entries.map((e) => e.id))
    expect(after.entries[0]!.route).toBe('/r5899')
    expect(after).toMatchObject({ total: 6050, exact: true, newestId: top.newestId })
    // Far down, rows are located by time between the oldest entry and the anchor: approximately where they were.
    const farAfter = await viewer().requests.window({ service: 'anchored', offset: 5500, limit: 5, untilId: top.newestId! })
    expect(farAfter).toMatchObject({ exact: false, newestId: top.newestId })
    expect(Math.abs(Number(farAfter.entries[0]!.route.slice(2)) - Number(farBefore.entries[0]!.route.slice(2)))).toBeLessThanOrEqual(50)
    await expect(viewer().requests.window({ service: 'anchored', offset: 0, limit: 5, untilId: 'newest' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    })
  })

  it('breakers.command issues a command, commandStatus follows it to "applied on 2/2", events and audit record it', async () => {
    const issued = await operator().breakers.command({ service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'router test' })
    await Promise.all(collectors.map((c) => c.reconcile('payments')))
    await Promise.all(collectors.map((c) => c.flush()))
    const status = await viewer().breakers.commandStatus({ service: 'shop', commandId: issued.commandId })
    expect(status).toMatchObject({ command: 'forceOpen', target: '*', generation: issued.generation, appliedCount: 2, targetCount: 2, superseded: false })
    const list = await viewer().breakers.list({ service: 'shop' })
    expect(list[0]).toMatchObject({ name: 'payments', clusterState: 'FORCED_OPEN', inClusterState: 2, appliedCount: 2 })
    expect(list[0]?.instances[0]?.options.resetTimeoutMs).toBe(30_000)
    const detail = await viewer().breakers.get({ service: 'shop', breaker: 'payments' })
    expect(detail.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['commandIssued', 'commandApplied']))
    const events = await viewer().events.list({ service: 'shop', type: 'commandApplied' })
    expect(events.entries.map((e) => e.instance).sort()).toEqual(['a', 'b'])
    const window = await viewer().events.window({ service: 'shop', offset: 0, limit: 50 })
    expect(window.total).toBeGreaterThanOrEqual(3) // issued + applied on a and b
    expect(window.entries.map((e) => e.type)).toEqual(expect.arrayContaining(['commandIssued', 'commandApplied']))
    const audit = await viewer().audit.list({ service: 'shop' })
    expect(audit.entries[0]).toMatchObject({ actor: 'operator-actor', action: 'forceOpen', target: 'payments', reason: 'router test', outcome: 'issued' })
    // One instance only: the other keeps its state; the older command becomes "superseded".
    const one = await operator().breakers.command({ service: 'shop', breaker: 'payments', command: 'release', reason: 'b only', instance: 'b' })
    expect(one.generation).toBeGreaterThan(issued.generation)
    await Promise.all(collectors.map((c) => c.reconcile('payments')))
    expect(collectors.map((c) => c.getBreaker('payments')?.mode)).toEqual(['FORCED_OPEN', 'NORMAL'])
    await operator().breakers.command({ service: 'shop', breaker: 'payments', command: 'reset', reason: 'cleanup' })
  })

  it('breakers.* answer 404 for an unknown breaker or command', async () => {
    await expect(operator().breakers.command({ service: 'shop', breaker: 'nope', command: 'reset', reason: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(viewer().breakers.get({ service: 'shop', breaker: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    await expect(viewer().breakers.commandStatus({ service: 'shop', commandId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('caches.list shows hits, misses, sets and the hit ratio; caches.invalidateTag removes tagged keys and is audited', async () => {
    const before = await viewer().caches.list({ service: 'shop', windowMs: 60_000 })
    expect(before.caches).toEqual([expect.objectContaining({ cache: 'catalog', hits: 1, misses: 2, sets: 2, hitRatio: 1 / 3 })])
    // An absolute window (untilMs) ten minutes back holds none of it; one ending now holds all of it.
    const past = await viewer().caches.list({ service: 'shop', windowMs: 60_000, untilMs: Date.now() - 10 * 60_000 })
    expect(past.caches).toEqual([expect.objectContaining({ cache: 'catalog', hits: 0, misses: 0, sets: 0 })])
    const untilNow = await viewer().caches.list({ service: 'shop', windowMs: 60_000, untilMs: Date.now() + 1 })
    expect(untilNow.caches).toEqual([expect.objectContaining({ cache: 'catalog', hits: 1, misses: 2, sets: 2 })])
    const result = await operator().caches.invalidateTag({ service: 'shop', cache: 'catalog', tag: 'catalog', reason: 'prices changed' })
    expect(result).toEqual({ removed: 2 })
    expect(await redis.exists(keys.cacheValue('shop', 'catalog', 'product:1'))).toBe(0)
    const after = await viewer().caches.list({ service: 'shop', windowMs: 60_000 })
    expect(after.caches[0]?.invalidations).toBe(2)
    const audit = await viewer().audit.list({ service: 'shop' })
    expect(audit.entries[0]).toMatchObject({ action: 'invalidateTag', target: 'catalog tag catalog', outcome: 'removed 2 keys', actor: 'operator-actor' })
  })

  it('instances.list reports health per instance', async () => {
    const list = await viewer().instances.list({ service: 'shop' })
    expect(list.map((i) => [i.instance, i.up])).toEqual([['a', true], ['b', true]])
    expect(list[0]?.rssBytes).toBeGreaterThan(0)
    expect(list[0]?.heartbeatIntervalMs).toBe(60_000)
  })

  it('redis.info reports memory, ops, clients, keys and AOF', async () => {
    const info = await viewer().redis.info()
    expect(info.usedMemoryBytes).toBeGreaterThan(0)
    expect(info.connectedClients).toBeGreaterThan(0)
    expect(info.keys).toBeGreaterThan(0)
    expect(info.version).toMatch(/^\d+\.\d+/)
  })

  it('live.snapshot pushes snapshots from the shared hub, again after each tick', async () => {
    const stream = await viewer().live.snapshot({ windowMs: 60_000 })
    const ids: string[] = []
    // Through createCaller a tracked() event is its raw envelope [id, data]; links turn it into { id, data }.
    for await (const event of stream as AsyncIterable<[string, { services: unknown[] }]>) {
      const [id, data] = event
      expect(data.services).toHaveLength(1)
      ids.push(id)
      if (ids.length === 2) break // ends the generator (and unsubscribes from the hub)
    }
    expect(Number(ids[1])).toBeGreaterThan(Number(ids[0]))
  })

  it('rejects input that breaks the schemas with BAD_REQUEST', async () => {
    await expect(viewer().requests.list({ service: 'shop', cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(viewer().series.get({ service: '{shop}' })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
    await expect(operator().breakers.command({ service: 'shop', breaker: 'payments', command: 'reset', reason: '   ' })).rejects.toMatchObject({ code: 'BAD_REQUEST' })
  })
})
