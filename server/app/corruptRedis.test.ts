/**
 * Redis is an input (issue #11 finding 4, docs/decisions/014): a corrupt packed value or a key of the wrong type for
 * one service is skipped, logged once per key and counted on /metrics, while every procedure still answers 200 with
 * the good data — for the other services and for the rest of that service. Real HTTP app, real redis-server.
 */
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { heartbeatFields } from '../../shared/heartbeat'
import { BUCKET_COUNT } from '../../shared/histogram'
import { cacheField, TOTAL_FIELD, seriesField } from '../../shared/keys'
import { eventFields, requestLogFields } from '../../shared/streamEntries'
import { bucketStart, TIER_10S, TIER_1M } from '../../shared/timeBuckets'
import { encodePacked } from '../sdk/seriesEncoder'
import { readOverview } from './readModel'
import { readEndpoints, readServiceSeries } from './reads/series'
import { call, startTestServer, type TestServer } from './testing/testServer'

let srv: TestServer
let cookie: string
let warn: MockInstance<typeof console.warn>

beforeAll(async () => {
  srv = await startTestServer()
  cookie = await srv.login('viewer')
})
afterAll(async () => {
  await srv.close()
})
beforeEach(() => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
})
afterEach(() => {
  warn.mockRestore()
})

/** A consistent packed value: `count` requests, all 2xx, `count` in histogram bucket 40. */
function packed(count: number): Buffer {
  return Buffer.from(encodePacked([1, count, 0, count * 1000, 0, count, 0, 0, 0, 40, count]))
}

/** A packed value whose first histogram bucket is `first` (1e9, Infinity: what no writer can produce). */
function badOffset(first: number): Buffer {
  return Buffer.from(encodePacked([1, 1, 0, 1000, 0, 1, 0, 0, 0, first, 1]))
}

/** The 10 s bucket starts `agoS` seconds before now (all inside the overview's default 5 min window). */
const ago = (agoS: number, nowMs = Date.now()) => bucketStart(nowMs - agoS * 1000, TIER_10S.bucketMs)

/**
 * Writes what a collector of `service` would have written: one instance with a heartbeat, 5 requests in each of the
 * buckets 30 s, 20 s and 10 s ago (totals and one route `GET /a`; never in a minute the endpoints table would read
 * from the 1 min tier instead, see `routeReadPlan`), a cache with 3 hits in the first bucket, one request-log entry
 * and one event. Returns the bucket starts.
 */
async function seed(service: string): Promise<number[]> {
  const { redis, keys } = srv
  const now = Date.now()
  const starts = [ago(30, now), ago(20, now), ago(10, now)]
  // The services set is cross-service (its own cluster slot); everything else is in the service's slot: one pipeline.
  await redis.sadd(keys.services(), service)
  const p = redis.pipeline()
  p.zadd(keys.instances(service), now, `${service}-1`)
  p.hset(keys.instanceInfo(service, `${service}-1`), heartbeatFields({
    pid: 1, version: '1.0.0', startedAtMs: now - 60_000, lastSeenMs: now, heartbeatIntervalMs: 1000,
    heapUsedBytes: 1, rssBytes: 1, cpuPercent: 1, eventLoopDelayP99Ms: 1, uptimeS: 60,
  }))
  for (const t of starts) {
    p.hset(keys.requestTotals(service, TIER_10S.name, t), TOTAL_FIELD, packed(5))
    p.hset(keys.requestBucket(service, TIER_10S.name, t), seriesField('GET', '/a'), packed(5))
  }
  p.sadd(keys.caches(service), 'users')
  p.hset(keys.cacheBucket(service, TIER_10S.name, starts[0]!), cacheField('users', 'hits'), '3')
  p.xadd(keys.requestLog(service), '*', ...requestLogFields({
    atMs: now, method: 'GET', route: '/a', status: 500, durationMs: 1, instance: `${service}-1`, errorType: '500', kind: 'error',
  }))
  p.xadd(keys.events(service), '*', ...eventFields({
    atMs: now, type: 'transition', breaker: 'b', instance: `${service}-1`, from: 'CLOSED', to: 'OPEN', reason: 'x', generation: null,
  }))
  await p.exec()
  return starts
}

interface OverviewBody {
  services: { service: string; requests: number; instances: unknown[] }[]
}

async function overview(): Promise<{ status: number; body: OverviewBody }> {
  const res = await call(srv.base, 'overview.get', 'query', undefined, cookie)
  return { status: res.status, body: res.status === 200 ? ((JSON.parse(res.text) as { result: { data: OverviewBody } }).result.data) : ({ services: [] }) }
}

/** The value of `fusebox_redis_invalid_values_total{kind}` on /metrics (0 when absent). */
async function invalidCount(kind: string): Promise<number> {
  const text = await (await fetch(`${srv.base}/metrics`)).text()
  const m = new RegExp(`^fusebox_redis_invalid_values_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

const requestsOf = (body: OverviewBody, service: string) => body.services.find((s) => s.service === service)?.requests

describe('a corrupt packed value', () => {
  for (const [name, first] of [['1e9', 1e9], ['Infinity', Number.POSITIVE_INFINITY]] as const) {
    it(`with a first-bucket offset of ${name} in a totals field is skipped: the overview answers 200 with every other service and the rest of its own, and the heap stays flat`, async () => {
      const bad = `bad${name === '1e9' ? 'a' : 'b'}`
      const good = `good${name === '1e9' ? 'a' : 'b'}`
      const [t0] = await seed(bad)
      await seed(good)
      // The corrupt value goes into a bucket of its own, older than the good ones, and into a good bucket as an own field.
      const corrupt = ago(100)
      await srv.redis.hset(srv.keys.requestTotals(bad, TIER_10S.name, corrupt), TOTAL_FIELD, badOffset(first))
      await srv.redis.hset(srv.keys.requestTotals(bad, TIER_10S.name, t0!), `${TOTAL_FIELD}\tother-instance`, badOffset(first))
      const before = await invalidCount('series_value')
      const rssBefore = process.memoryUsage().rss
      for (let i = 0; i < 3; i++) {
        const { status, body } = await overview()
        expect(status).toBe(200)
        expect(requestsOf(body, good)).toBe(15)
        expect(requestsOf(body, bad)).toBe(15)
      }
      const series = await call(srv.base, 'series.get', 'query', { service: bad, windowMs: 300_000 }, cookie)
      expect(series.status).toBe(200)
      expect((JSON.parse(series.text) as { result: { data: { total: { requests: number } } } }).result.data.total.requests).toBe(15)
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024)
      expect(await invalidCount('series_value')).toBeGreaterThan(before)
      // Logged once per key, not once per read (three overviews and a series read above).
      const lines = warn.mock.calls.map((c) => String(c[0])).filter((l) => l.includes(srv.keys.requestTotals(bad, TIER_10S.name, corrupt)))
      expect(lines).toHaveLength(1)
    })
  }

  it('in a route field is left out of the endpoints table and the route series; the rest of the route still counts', async () => {
    const [t0] = await seed('badroute')
    await srv.redis.hset(srv.keys.requestBucket('badroute', TIER_10S.name, t0!), `${seriesField('GET', '/a')}\tother`, badOffset(1e9))
    // An older bucket, in both tiers the endpoints table may read it from.
    const old = ago(100)
    await srv.redis.hset(srv.keys.requestBucket('badroute', TIER_10S.name, old), seriesField('GET', '/a'), badOffset(Number.POSITIVE_INFINITY))
    await srv.redis.hset(srv.keys.requestBucket('badroute', TIER_1M.name, bucketStart(old, TIER_1M.bucketMs)), seriesField('GET', '/a'), badOffset(Number.POSITIVE_INFINITY))
    const endpoints = await call(srv.base, 'endpoints.list', 'query', { service: 'badroute' }, cookie)
    expect(endpoints.status).toBe(200)
    expect((JSON.parse(endpoints.text) as { result: { data: { rows: { requests: number }[] } } }).result.data.rows.map((r) => r.requests)).toEqual([15])
    const route = await call(srv.base, 'series.get', 'query', { service: 'badroute', windowMs: 300_000, route: { method: 'GET', route: '/a' } }, cookie)
    expect(route.status).toBe(200)
    expect((JSON.parse(route.text) as { result: { data: { total: { requests: number } } } }).result.data.total.requests).toBe(15)
  })
})

describe('arbitrary bytes in series fields', () => {
  it('never fail a read, never change another service, and keep the heap flat (fast-check, 150 runs)', async () => {
    const [t0, t1] = await seed('fuzzed')
    await seed('bystander')
    const totalsKey = srv.keys.requestTotals('fuzzed', TIER_10S.name, t1!)
    const routeKey = srv.keys.requestBucket('fuzzed', TIER_10S.name, t1!)
    const valid = packed(5)
    const headers = [[0xdd, 0xff, 0xff, 0xff, 0xff], [0xdc, 0xff, 0xff], [0xdc, 0x04, 0x56]]
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.constantFrom(...headers), fc.uint8Array({ maxLength: 300 })).map(([h, b]) => Uint8Array.from([...h, ...b])),
      // A consistent value but for its first-bucket offset: past the layout, up to 2^40, or not finite.
      fc.oneof(fc.integer({ min: BUCKET_COUNT - 1, max: 2 ** 40 }), fc.constant(Number.POSITIVE_INFINITY)).map((first) =>
        encodePacked([1, 2, 0, 2000, 0, 2, 0, 0, 0, first, 1, 1]),
      ),
      // A valid value with a few bytes changed: the near misses a torn or foreign write produces.
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 3 }).map((edits) => {
        const b = Uint8Array.from(valid)
        for (const [i, v] of edits) b[i] = v
        return b
      }),
    )
    const rssBefore = process.memoryUsage().rss
    await fc.assert(
      fc.asyncProperty(fc.array(bytes, { minLength: 1, maxLength: 4 }), async (values) => {
        const p = srv.redis.pipeline().del(totalsKey, routeKey)
        values.forEach((v, i) => {
          p.hset(totalsKey, `${TOTAL_FIELD}\tfuzz${i}`, Buffer.from(v))
          p.hset(routeKey, `${seriesField('GET', '/a')}\tfuzz${i}`, Buffer.from(v))
        })
        await p.exec()
        const now = Date.now()
        const series = await readServiceSeries(srv.redis, srv.keys, 'fuzzed', now, { windowMs: 300_000 })
        // t0 and the newest bucket are untouched: at least their 10 requests, whatever the fuzzed bucket holds.
        expect(series.total.requests).toBeGreaterThanOrEqual(10)
        expect(Number.isSafeInteger(series.total.requests)).toBe(true)
        const table = await readEndpoints(srv.redis, srv.keys, { service: 'fuzzed', windowMs: 300_000, sortBy: 'route', descending: false, offset: 0, limit: 10 }, now)
        expect(table.rows.length).toBeLessThanOrEqual(1)
        const o = await readOverview(srv.redis, srv.keys, now, 300_000)
        expect(o.services.find((s) => s.service === 'bystander')?.requests).toBe(15)
      }),
      { numRuns: 150 },
    )
    expect(t0).toBeLessThan(t1!)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024)
  })
})

describe('counters and scores that are not numbers', () => {
  it('a cache counter that is not a count reads as 0 and is counted; an instance whose heartbeat score is not a time is left out', async () => {
    const [t0] = await seed('badcounts')
    await srv.redis.hset(srv.keys.cacheBucket('badcounts', TIER_10S.name, t0!), cacheField('users', 'misses'), 'lots', cacheField('users', 'sets'), '-4')
    await srv.redis.zadd(srv.keys.instances('badcounts'), '+inf', 'badcounts-forever')
    const [counters, scores] = [await invalidCount('cache_counter'), await invalidCount('instance_score')]
    const caches = await call(srv.base, 'caches.list', 'query', { service: 'badcounts' }, cookie)
    expect(caches.status).toBe(200)
    const [users] = (JSON.parse(caches.text) as { result: { data: { caches: Record<string, unknown>[] } } }).result.data.caches
    expect([users?.hits, users?.misses, users?.sets, users?.hitRatio]).toEqual([3, 0, 0, 1])
    const { body } = await overview()
    expect(body.services.find((s) => s.service === 'badcounts')?.instances).toHaveLength(1)
    expect(await invalidCount('cache_counter')).toBe(counters + 2)
    // Counted per read, and every /metrics scrape reads the overview too (the scrape above included).
    expect(await invalidCount('instance_score')).toBeGreaterThan(scores)
  })
})

describe('a malformed stream entry', () => {
  it('is left out of the request log and the events, the good entries listed, and counted', async () => {
    await seed('badentries')
    await srv.redis.xadd(srv.keys.requestLog('badentries'), '*', 'atMs', 'yesterday', 'status', 'teapot')
    await srv.redis.xadd(srv.keys.events('badentries'), '*', 'type', 'no-such-type')
    const before = await invalidCount('stream_entry')
    for (const path of ['requests.list', 'events.list']) {
      const res = await call(srv.base, path, 'query', { service: 'badentries' }, cookie)
      expect(res.status).toBe(200)
      expect((JSON.parse(res.text) as { result: { data: { entries: unknown[] } } }).result.data.entries).toHaveLength(1)
    }
    expect(await invalidCount('stream_entry')).toBe(before + 2)
  })
})

describe('a key of the wrong type', () => {
  it('for one service leaves only that key out: overview, series, endpoints, caches, instances and streams answer 200, other services in full', async () => {
    const [t0, t1] = await seed('wrongtype')
    await seed('fine')
    const { redis, keys } = srv
    const k = (svc: string) => ({
      totals: keys.requestTotals(svc, TIER_10S.name, t0!),
      route: keys.requestBucket(svc, TIER_10S.name, t1!),
      instances: keys.instances(svc),
      cacheBucket: keys.cacheBucket(svc, TIER_10S.name, t0!),
    })
    const w = k('wrongtype')
    await redis.del(w.totals, w.route, w.instances, w.cacheBucket, keys.caches('wrongtype'), keys.requestLog('wrongtype'), keys.events('wrongtype'), keys.breakers('wrongtype'))
    await redis.set(w.totals, 'a string where a hash belongs')
    await redis.rpush(w.route, 'a list where a hash belongs')
    await redis.hset(w.instances, 'a', 'a hash where a zset belongs')
    await redis.set(w.cacheBucket, 'x')
    await redis.rpush(keys.caches('wrongtype'), 'users')
    await redis.set(keys.requestLog('wrongtype'), 'x')
    await redis.hset(keys.events('wrongtype'), 'a', 'b')
    await redis.set(keys.breakers('wrongtype'), 'x')
    const before = await invalidCount('wrong_type')

    const { status, body } = await overview()
    expect(status).toBe(200)
    expect(requestsOf(body, 'fine')).toBe(15)
    expect(requestsOf(body, 'wrongtype')).toBe(10)
    expect(body.services.find((s) => s.service === 'fine')?.instances).toHaveLength(1)
    expect(body.services.find((s) => s.service === 'wrongtype')?.instances).toEqual([])

    const q = async (path: string, input: unknown) => {
      const res = await call(srv.base, path, 'query', input, cookie)
      expect(res.status, `${path} ${JSON.stringify(input)}: ${res.text}`).toBe(200)
      return (JSON.parse(res.text) as { result: { data: unknown } }).result.data
    }
    for (const svc of ['wrongtype', 'fine']) {
      const series = (await q('series.get', { service: svc, windowMs: 300_000 })) as { total: { requests: number } }
      expect(series.total.requests).toBe(svc === 'fine' ? 15 : 10)
      const rows = ((await q('endpoints.list', { service: svc })) as { rows: { requests: number }[] }).rows
      expect(rows.map((r) => r.requests)).toEqual([svc === 'fine' ? 15 : 10])
      const route = (await q('series.get', { service: svc, windowMs: 300_000, route: { method: 'GET', route: '/a' } })) as { total: { requests: number } }
      expect(route.total.requests).toBe(svc === 'fine' ? 15 : 10)
      const caches = ((await q('caches.list', { service: svc })) as { caches: { hits: number }[] }).caches
      expect(caches.map((c) => c.hits)).toEqual(svc === 'fine' ? [3] : [])
      const requests = ((await q('requests.list', { service: svc })) as { entries: unknown[] }).entries
      expect(requests).toHaveLength(svc === 'fine' ? 1 : 0)
      const window = ((await q('requests.window', { service: svc, offset: 0 })) as { entries: unknown[] }).entries
      expect(window).toHaveLength(svc === 'fine' ? 1 : 0)
      const events = ((await q('events.list', { service: svc })) as { entries: unknown[] }).entries
      expect(events).toHaveLength(svc === 'fine' ? 1 : 0)
      expect(((await q('events.window', { service: svc, offset: 0 })) as { entries: unknown[] }).entries).toHaveLength(svc === 'fine' ? 1 : 0)
    }
    // A coarse tier reads the coverage bitmaps (STRING): one of the wrong type leaves that bucket's bits out.
    await redis.hset(keys.coverage('wrongtype', TIER_1M.name, bucketStart(t0!, TIER_1M.bucketMs)), 'a', 'b')
    expect(((await q('series.get', { service: 'wrongtype', windowMs: 6 * 3_600_000 })) as { tier: string }).tier).toBe(TIER_1M.name)
    const services = (await q('services.list', undefined)) as { service: string; instancesTotal: number }[]
    expect(services.find((s) => s.service === 'fine')?.instancesTotal).toBe(1)
    expect(services.find((s) => s.service === 'wrongtype')?.instancesTotal).toBe(0)
    expect(await invalidCount('wrong_type')).toBeGreaterThan(before)
  })

  it('for one service does not silence the live stream: it still sends snapshots with every other service', async () => {
    await seed('livefine')
    await seed('livebad')
    await srv.redis.del(srv.keys.instances('livebad'))
    await srv.redis.set(srv.keys.instances('livebad'), 'x')
    const res = await call(srv.base, 'live.snapshot', 'subscription', undefined, cookie, 5000)
    expect(res.status).toBe(200)
    expect(res.text).not.toMatch(/serialized-error/)
    expect(res.text).toMatch(/"service":"livefine"/)
  })
})

/** A report `instance` could have written for a breaker (BreakerInstanceReport), as the JSON stored in its state hash. */
function breakerReport(instance: string, appliedGeneration = 0): string {
  const now = Date.now()
  return JSON.stringify({
    instance, state: 'CLOSED', appliedGeneration,
    stats: { fires: 1, successes: 1, failures: 0, timeouts: 0, rejects: 0, fallbacks: 0 },
    options: { timeoutMs: 1000, errorThresholdPercentage: 50, resetTimeoutMs: 30_000, volumeThreshold: 5, rollingCountTimeoutMs: 10_000 },
    lastTransitionAtMs: now, lastTransitionReason: 'started', updatedAtMs: now,
  })
}

/** A desired state the command script could have written, at `generation`. */
const desiredFields = (generation: number | string) =>
  ({ generation: String(generation), mode: 'NORMAL', command: 'reset', commandId: 'c-1', issuedAtMs: String(Date.now()), actor: 'op', reason: 'r', target: '*' })

/** Registers breaker `name` of `service` as its instance `${service}-1` would: set member, own report, desired state. */
async function seedBreaker(service: string, name: string, generation = 2): Promise<void> {
  const { redis, keys } = srv
  await redis.pipeline()
    .sadd(keys.breakers(service), name)
    .hset(keys.breakerState(service, name), `${service}-1`, breakerReport(`${service}-1`, generation))
    .hset(keys.breakerDesired(service, name), desiredFields(generation))
    .set(keys.breakerGeneration(service, name), String(generation))
    .exec()
}

interface BreakerBody { service: string; name: string; instancesReporting: number; desiredGeneration: number; appliedCount: number }

describe('breaker keys that are corrupt', () => {
  const q = async (path: string, input: unknown, expected = 200) => {
    const res = await call(srv.base, path, 'query', input, cookie)
    expect(res.status, `${path} ${JSON.stringify(input)}: ${res.text}`).toBe(expected)
    return (JSON.parse(res.text) as { result: { data: unknown } }).result?.data
  }
  const byName = (list: BreakerBody[], service: string) =>
    Object.fromEntries(list.filter((b) => b.service === service).map((b) => [b.name, [b.instancesReporting, b.desiredGeneration, b.appliedCount]]))

  it('a state, desired or command key of the wrong type, or a report, desired state or command record that is not one Fusebox writes, is skipped: breakers.list, .get and .commandStatus answer with the good data, other services in full', async () => {
    const { redis, keys } = srv
    await seed('brkfine')
    await seed('brkbad')
    await seedBreaker('brkfine', 'pay')
    for (const name of ['good', 'statewrong', 'desiredwrong', 'badjson', 'baddesired']) await seedBreaker('brkbad', name)
    await redis.del(keys.breakerState('brkbad', 'statewrong'), keys.breakerDesired('brkbad', 'desiredwrong'))
    await redis.set(keys.breakerState('brkbad', 'statewrong'), 'a string where a hash belongs')
    await redis.rpush(keys.breakerDesired('brkbad', 'desiredwrong'), 'a list where a hash belongs')
    await redis.hset(keys.breakerState('brkbad', 'badjson'), 'brkbad-2', '{not json', 'brkbad-3', JSON.stringify({ instance: 'brkbad-3', state: 'MELTED' }))
    await redis.hset(keys.breakerDesired('brkbad', 'baddesired'), 'generation', '1e999')
    await redis.sadd(keys.breakers('brkbad'), 'not a name\u0000')
    const [wrong, records] = [await invalidCount('wrong_type'), await invalidCount('breaker_record')]

    const all = (await q('breakers.list', {})) as BreakerBody[]
    expect(byName(all, 'brkfine')).toEqual({ pay: [1, 2, 1] })
    const bad = { good: [1, 2, 1], statewrong: [0, 2, 0], desiredwrong: [1, 0, 1], badjson: [1, 2, 1], baddesired: [1, 0, 1] }
    expect(byName(all, 'brkbad')).toEqual(bad)
    expect(byName((await q('breakers.list', { service: 'brkbad' })) as BreakerBody[], 'brkbad')).toEqual(bad)
    for (const [name, figures] of Object.entries(bad)) {
      const detail = (await q('breakers.get', { service: 'brkbad', breaker: name })) as { summary: BreakerBody }
      expect([detail.summary.instancesReporting, detail.summary.desiredGeneration, detail.summary.appliedCount], name).toEqual(figures)
    }
    // The overview lists the same breakers of the corrupt service now, not none.
    const overviewRes = await call(srv.base, 'overview.get', 'query', undefined, cookie)
    const overviewBreakers = (JSON.parse(overviewRes.text) as { result: { data: { breakers: BreakerBody[] } } }).result.data.breakers
    expect(byName(overviewBreakers, 'brkbad')).toEqual(bad)

    // Command records: one on a breaker whose state key is a STRING, one that is a STRING, one with a bad field.
    const record = (breaker: string) => ({ breaker, command: 'reset', target: '*', generation: '2', issuedAtMs: String(Date.now()), targets: JSON.stringify(['brkbad-1']) })
    const [ok, asString, badField] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']
    await redis.hset(keys.command('brkbad', ok), record('statewrong'))
    await redis.set(keys.command('brkbad', asString), 'x')
    await redis.hset(keys.command('brkbad', badField), { ...record('good'), generation: 'NaN' })
    const status = (await q('breakers.commandStatus', { service: 'brkbad', commandId: ok })) as { targets: { instance: string; state: string }[] }
    expect(status.targets).toEqual([expect.objectContaining({ instance: 'brkbad-1', state: 'pending' })])
    await redis.hset(keys.command('brkbad', ok), 'breaker', 'desiredwrong')
    expect(((await q('breakers.commandStatus', { service: 'brkbad', commandId: ok })) as { targets: { state: string }[] }).targets[0]?.state).toBe('applied')
    await q('breakers.commandStatus', { service: 'brkbad', commandId: asString }, 404)
    await q('breakers.commandStatus', { service: 'brkbad', commandId: badField }, 404)

    expect(await invalidCount('wrong_type')).toBeGreaterThan(wrong)
    expect(await invalidCount('breaker_record')).toBeGreaterThan(records)
  })

  it('a breakers set of the wrong type: that service lists no breakers and its breakers are 404, every other service in full; a command whose keys are corrupt is a clear 412 and changes nothing', async () => {
    const { redis, keys } = srv
    await seed('brkfine2')
    await seed('brkset')
    await seedBreaker('brkfine2', 'pay')
    await seedBreaker('brkset', 'pay')
    await redis.del(keys.breakers('brkset'))
    await redis.set(keys.breakers('brkset'), 'a string where a set belongs')
    const wrong = await invalidCount('wrong_type')

    expect(byName((await q('breakers.list', {})) as BreakerBody[], 'brkfine2')).toEqual({ pay: [1, 2, 1] })
    expect(await q('breakers.list', { service: 'brkset' })).toEqual([])
    await q('breakers.get', { service: 'brkset', breaker: 'pay' }, 404)
    expect(await invalidCount('wrong_type')).toBeGreaterThan(wrong)

    const operator = await srv.login('operator')
    const command = (service: string, breaker: string) =>
      call(srv.base, 'breakers.command', 'mutation', { service, breaker, command: 'forceOpen', reason: 'corrupt keys' }, operator)
    // A key the command reads (the breakers set, the state hash) or writes (the desired state: the script's check).
    await seedBreaker('brkfine2', 'statewrong')
    await redis.del(keys.breakerState('brkfine2', 'statewrong'))
    await redis.set(keys.breakerState('brkfine2', 'statewrong'), 'x')
    await seedBreaker('brkfine2', 'desiredwrong')
    await redis.del(keys.breakerDesired('brkfine2', 'desiredwrong'))
    await redis.set(keys.breakerDesired('brkfine2', 'desiredwrong'), 'x')
    for (const [service, breaker] of [['brkset', 'pay'], ['brkfine2', 'statewrong'], ['brkfine2', 'desiredwrong']] as const) {
      const res = await command(service, breaker)
      expect(res.status, `${service}/${breaker}: ${res.text}`).toBe(412)
      expect(res.text).toMatch(/nothing was changed/)
      expect(await redis.get(keys.breakerGeneration(service, breaker))).toBe('2')
    }
    expect(await redis.hget(keys.breakerDesired('brkfine2', 'statewrong'), 'generation')).toBe('2')
    expect((await command('brkfine2', 'pay')).status).toBe(200)
  })
})
