import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { memoryAfterGc } from '../testing/memory'
import { TOTAL_FIELD, createKeySpace, parseSeriesField } from '../../shared/keys'
import { parseRequestLogEntry } from '../../shared/streamEntries'
import { TIER_10S, TIER_1H, TIER_1M, bucketStart } from '../../shared/timeBuckets'
import { collector, connected, freshPrefix, seriesOf, useTestRedis } from './collectorTesting.test-helpers'
import { MAX_LABEL_CHARS, checkedRequest, safeLabel } from './requestMetrics'
import { readBucket } from './tierOracle.test-helpers'
import { scanKeys } from '../testing/redis'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

/** Starts `app` on loopback, runs `fn` with its base URL, closes it. */
async function serving(app: express.Express, fn: (base: string) => Promise<void>): Promise<void> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    await new Promise((r) => server.close(r))
  }
}

/** A stream entry's flat `[field, value, …]` list as a record. */
function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

/** GETs every path in turn (bodies read, so each response has finished). */
async function getAll(base: string, paths: string[]): Promise<void> {
  for (const path of paths) await (await fetch(base + path)).text()
}

describe('route labels come from templates only', () => {
  it('records 50 requests through an Express router mounted at /users/:userId as one series, not one per raw id', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'nested')
    await connected(c)
    const app = express()
    app.use(c.httpMiddleware())
    const orders = express.Router()
    orders.get('/orders/:orderId', (_req, res) => void res.send('ok'))
    app.use('/users/:userId', orders)
    await serving(app, (base) => getAll(base, Array.from({ length: 50 }, (_, i) => `/users/${1000 + i}/orders/${i}`)))
    await c.flush()
    const series = await seriesOf(redis, prefix)
    expect(Object.keys(series)).toEqual(['GET /users/:userId/orders/:orderId'])
    expect(series['GET /users/:userId/orders/:orderId']?.count).toBe(50)
  })

  it('recovers mount templates through deep nesting, a router mounted at two paths, array and regex mounts and a path-less mount, and never a raw segment where none is known', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'mounts')
    await connected(c)
    const app = express()
    app.use(c.httpMiddleware())
    // Three levels deep.
    const items = express.Router()
    items.get('/items/:itemId', (_req, res) => void res.send('ok'))
    const carts = express.Router()
    carts.use('/carts/:cartId', items)
    app.use('/shops/:shopId', carts)
    // One router at two mount paths: the request's own path decides which.
    const profile = express.Router()
    profile.get('/profile', (_req, res) => void res.send('ok'))
    app.use('/members/:memberId', profile)
    app.use('/admins/:adminId', profile)
    // An array mount and a regex mount.
    const report = express.Router()
    report.get('/report', (_req, res) => void res.send('ok'))
    app.use(['/teams/:teamId', '/orgs/:orgId'], report)
    const legacy = express.Router()
    legacy.get('/detail', (_req, res) => void res.send('ok'))
    app.use(/^\/legacy\/(\d+)/, legacy)
    // No mount path at all.
    const health = express.Router()
    health.get('/health/:probe', (_req, res) => void res.send('ok'))
    app.use(health)
    // A sub-app (its mount is hidden in Express's closure): no template can be recovered, so a fixed label.
    const sub = express()
    sub.get('/things/:thingId', (_req, res) => void res.send('ok'))
    app.use('/tenants/:tenantId', sub)
    await serving(app, (base) =>
      getAll(base, [
        '/shops/1/carts/2/items/3',
        '/shops/4/carts/5/items/6',
        '/members/17/profile',
        '/admins/18/profile',
        '/teams/9/report',
        '/orgs/10/report',
        '/legacy/77/detail',
        '/health/live',
        '/tenants/acme-123/things/9',
      ]),
    )
    await c.flush()
    const series = await seriesOf(redis, prefix)
    expect(Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.count]))).toEqual({
      'GET /shops/:shopId/carts/:cartId/items/:itemId': 2,
      'GET /members/:memberId/profile': 1,
      'GET /admins/:adminId/profile': 1,
      'GET /teams/:teamId/report': 1,
      'GET /orgs/:orgId/report': 1,
      'GET /^\\/legacy\\/(\\d+)/detail': 1,
      'GET /health/:probe': 1,
      'GET (unmatched)': 1,
    })
    for (const name of Object.keys(series)) expect(name).not.toMatch(/\/(\d+|acme-123|live)(\/|$)/)
  })

  it('keeps the full template of a nested route whose error is answered by an error handler of the app', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'nested-error')
    await connected(c)
    const app = express()
    app.use(c.httpMiddleware())
    const orders = express.Router()
    orders.get('/orders/:orderId', () => {
      throw new RangeError('no such order')
    })
    app.use('/users/:userId', orders)
    app.use(c.expressErrorHandler())
    // Answers after Express restored req.baseUrl to '' on the way out of the router: req.route is still the inner one.
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).send('x'))
    await serving(app, (base) => getAll(base, ['/users/1/orders/2', '/users/3/orders/4']))
    await c.flush()
    const series = await seriesOf(redis, prefix)
    expect(Object.fromEntries(Object.entries(series).map(([k, v]) => [k, [v.count, v.errors]]))).toEqual({ 'GET /users/:userId/orders/:orderId': [2, 2] })
  })

  it('records Fastify routes under a prefix plugin with the full template (routeOptions.url)', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'fastify-prefix')
    await connected(c)
    const app = Fastify()
    await app.register(c.fastifyPlugin())
    await app.register(
      async (users) => {
        users.get('/orders/:orderId', async () => 'ok')
      },
      { prefix: '/users/:userId' },
    )
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    await getAll(base, [...Array.from({ length: 20 }, (_, i) => `/users/${i}/orders/${i * 7}`), '/users/5/nothing'])
    await app.close()
    await c.flush()
    const series = await seriesOf(redis, prefix)
    expect(Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.count]))).toEqual({
      'GET /users/:userId/orders/:orderId': 20,
      'GET (unmatched)': 1,
    })
  })
})

describe('labels the host hands are capped and sanitised', () => {
  it('cuts a 100 KB route to 200 characters and replaces a tab, newline and DEL, in Redis field names and in the request log, and counts them', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'labels')
    await connected(c)
    const huge = '/blob/' + 'x'.repeat(100_000)
    c.recordRequest({ method: 'GET', route: huge, status: 500, durationMs: 3 })
    c.recordRequest({ method: 'GET', route: '/a\tb/:id', status: 500, durationMs: 4 })
    c.recordRequest({ method: 'POST', route: '/line\nbreak\x7f\x9b', status: 200, durationMs: 5 })
    c.recordRequest({ method: 'GET', route: '/fine/:id', status: 200, durationMs: 6 })
    await c.flush()
    expect(c.stats.sanitizedLabels).toBe(3)

    const ownTag = (c as unknown as { writer: { options: { ownTag: string } } }).writer.options.ownTag
    const fields = (await Promise.all((await scanKeys(redis, `${prefix}:{shop}:req:10s:*`)).map((k) => redis.hkeys(k)))).flat()
    expect(fields).toHaveLength(4)
    for (const field of fields) {
      const parsed = parseSeriesField(field)
      // The own field still ends in exactly this instance's tag: no tab inside the route shifted it.
      expect(parsed?.ownTag).toBe(ownTag)
      expect(parsed?.route.length).toBeLessThanOrEqual(MAX_LABEL_CHARS)
      // eslint-disable-next-line no-control-regex -- no control character may be left
      expect(parsed?.route).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
    }
    const routes = fields.map((f) => parseSeriesField(f)?.route).sort()
    expect(routes).toEqual(['/a\uFFFDb/:id', huge.slice(0, MAX_LABEL_CHARS - 1) + '…', '/fine/:id', '/line\uFFFDbreak\uFFFD\uFFFD'].sort())

    const log = (await redis.xrange(keys.requestLog('shop'), '-', '+')).map(([, f]) => parseRequestLogEntry(pairs(f)))
    expect(log.map((e) => e?.route).sort()).toEqual(['/a\uFFFDb/:id', huge.slice(0, MAX_LABEL_CHARS - 1) + '…'].sort())
    // The closed buckets' shared fields (after the fold) parse to the same routes.
    await c.close()
    const shared = (await Promise.all((await scanKeys(redis, `${prefix}:{shop}:req:1m:*`)).map((k) => redis.hkeys(k)))).flat()
    expect(shared.map((f) => parseSeriesField(f)).map((p) => [p?.route, p?.ownTag]).sort()).toEqual(routes.map((r) => [r, null]).sort())
  })
})

describe('safeLabel', () => {
  it('returns a clean label as the same string, and never splits a surrogate pair when it cuts', () => {
    const clean = '/users/:id'
    expect(safeLabel(clean)).toBe(clean)
    const emoji = '/' + 'a'.repeat(MAX_LABEL_CHARS - 3) + '😀😀'
    const cut = safeLabel(emoji)
    expect(cut.length).toBeLessThanOrEqual(MAX_LABEL_CHARS)
    expect(cut.endsWith('…')).toBe(true)
    expect(Buffer.from(cut).toString()).toBe(cut) // no lone surrogate (it would not survive UTF-8)
    expect(safeLabel('a\u0000b\u001fc\u0085d\u2028e')).toBe('a\uFFFDb\uFFFDc\uFFFDd\u2028e')
  })

  it('checkedRequest counts each request with a changed route or errorType once, and reads an overlong method as _OTHER', () => {
    const counts = { sanitizedLabels: 0 }
    expect(checkedRequest({ method: 'GET', route: '/ok', status: 200, durationMs: 1 }, counts)?.route).toBe('/ok')
    expect(checkedRequest({ method: 'GET', route: '/a\tb', status: 500, durationMs: 1, errorType: 'E\nX' }, counts)).toMatchObject({ route: '/a\uFFFDb', errorType: 'E\uFFFDX' })
    expect(checkedRequest({ method: 'G'.repeat(100_000), route: '/ok', status: 200, durationMs: 1 }, counts)?.method).toBe('_OTHER')
    expect(counts.sanitizedLabels).toBe(1)
  })
})

describe('every tier honours maxSeries', () => {
  it('keeps 100,000 distinct routes spread over a simulated hour to maxSeries + 1 fields in every 1 min and 1 h bucket, counts the overflow, and keeps the totals exact', { timeout: 60_000 }, async () => {
    const prefix = freshPrefix()
    const maxSeries = 1000
    const routes = 100_000
    const perBucket = 280 // below maxSeries, so the 10 s tier never overflows: only the coarse tiers would grow
    const hour = bucketStart(Date.now(), TIER_1H.bucketMs) - TIER_1H.bucketMs
    let now = hour
    const c = collector(prefix, 'wide', { clock: () => now, maxSeries })
    await connected(c)
    const perMinute = new Map<number, number>()
    const baseMb = memoryAfterGc() / 2 ** 20
    for (let i = 0; i < routes; i += perBucket) {
      now = hour + Math.floor(i / perBucket) * TIER_10S.bucketMs + 1000
      const n = Math.min(perBucket, routes - i)
      for (let j = 0; j < n; j++) c.recordRequest({ method: 'GET', route: `/r/${i + j}`, status: 200, durationMs: 2 })
      const minute = bucketStart(now, TIER_1M.bucketMs)
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + n)
      await c.flush()
    }
    // The hour's last flush done, its 1 h bucket still open in memory: what the coarse buckets hold now.
    const heapMb = memoryAfterGc() / 2 ** 20
    now = hour + TIER_1H.bucketMs + 60_000 // everything has closed
    for (let f = 0; f < 6; f++) await c.flush()
    console.log(`[route cap] ${JSON.stringify({ routes, heapMbBefore: Math.round(baseMb * 10) / 10, heapMbAtHourEnd: Math.round(heapMb * 10) / 10, stats: { overflowedRequests: c.stats.overflowedRequests, overflowedRequests1m: c.stats.overflowedRequests1m, overflowedRequests1h: c.stats.overflowedRequests1h } })}`)

    expect(c.stats.flushErrors).toBe(0)
    const hourReq = await readBucket(redis, prefix, 'req', TIER_1H, hour)
    const hourTot = await readBucket(redis, prefix, 'tot', TIER_1H, hour)
    expect(hourReq.fields.length).toBeLessThanOrEqual(maxSeries + 1)
    expect(hourReq.series['GET (overflow)']?.count).toBe(routes - maxSeries)
    expect(Object.values(hourReq.series).reduce((s, v) => s + v.count, 0)).toBe(routes)
    expect(hourTot.series[TOTAL_FIELD]?.count).toBe(routes)
    let expected1m = 0
    for (const [minute, n] of perMinute) {
      const req = await readBucket(redis, prefix, 'req', TIER_1M, minute)
      const tot = await readBucket(redis, prefix, 'tot', TIER_1M, minute)
      expect(req.fields.length, `minute ${minute}`).toBeLessThanOrEqual(maxSeries + 1)
      expect(Object.values(req.series).reduce((s, v) => s + v.count, 0), `minute ${minute}`).toBe(n)
      expect(tot.series[TOTAL_FIELD]?.count, `minute ${minute}`).toBe(n)
      expected1m += Math.max(0, n - maxSeries)
    }
    expect([c.stats.overflowedRequests, c.stats.overflowedRequests1m, c.stats.overflowedRequests1h]).toEqual([0, expected1m, routes - maxSeries])
  })
})
