import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createHistogram, percentile, recordValue } from '../../shared/histogram'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import { decodeSeries, emptySeries, mergeSeriesInto, type SeriesValue } from '../../shared/seriesCodec'
import { TIERS, TIER_10S } from '../../shared/timeBuckets'
import { BreakerInstanceReport } from '../../shared/schemas'
import { issueBreakerCommand } from '../app/breakerCommands'
import { readOverview } from '../app/readModel'
import { testRedisUrl } from '../testing/redis'
import { startTcpProxy } from '../testing/tcpProxy'
import CircuitBreaker from 'opossum'
import Fastify from 'fastify'
import { createCollector, type Collector, type CollectorOptions } from './index'

let redis: Redis
const open: Collector[] = []

beforeAll(() => {
  redis = new Redis(testRedisUrl())
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await redis.quit()
})

/** A fresh namespace per test so tests never see each other's keys. */
function freshPrefix(): string {
  return `t${randomBytes(4).toString('hex')}`
}

function collector(prefix: string, instance: string, extra: Partial<CollectorOptions> = {}): Collector {
  const c = createCollector({ redis: testRedisUrl(), service: 'shop', instance, prefix, flushIntervalMs: 60_000, ...extra })
  open.push(c)
  return c
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Every series of the 10 s tier, own and shared fields merged per `<METHOD> <route>`. */
async function seriesOf(prefix: string): Promise<Record<string, SeriesValue>> {
  const out: Record<string, SeriesValue> = {}
  for (const key of await redis.keys(`${prefix}:{shop}:req:10s:*`)) {
    for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) {
      const f = parseSeriesField(field)
      const name = `${f?.method} ${f?.route}`
      out[name] = mergeSeriesInto(out[name] ?? emptySeries(), decodeSeries(value))
    }
  }
  return out
}

async function connected(c: Collector): Promise<void> {
  // The owned connection fails fast while connecting (no offline queue); wait until a flush lands.
  await until(async () => {
    await c.flush()
    return c.stats.flushes > 0
  })
}

describe('collector flush', () => {
  it('writes request counts, errors and histograms of every instance into one merged bucket in Redis', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const instances = [collector(prefix, 'a'), collector(prefix, 'b'), collector(prefix, 'c')]
    await Promise.all(instances.map(connected))
    const whole = createHistogram()
    for (let i = 0; i < 3000; i++) {
      const durationMs = 1 + ((i * 7919) % 997) / 3
      const status = i % 10 === 0 ? 503 : 200
      recordValue(whole, durationMs)
      instances[i % 3]!.recordRequest({ method: 'GET', route: '/items/:id', status, durationMs })
    }
    await Promise.all(instances.map((c) => c.flush()))

    const snapshot = await readOverview(redis, keys, Date.now(), 60_000)
    const shop = snapshot.services.find((s) => s.service === 'shop')
    expect(shop?.requests).toBe(3000)
    expect(shop?.errorRate).toBeCloseTo(0.1, 5)
    // Merged on write across instances: the same percentiles as one histogram that saw every sample.
    expect(shop?.p50Ms).toBe(percentile(whole, 50))
    expect(shop?.p95Ms).toBe(percentile(whole, 95))
    expect(shop?.p99Ms).toBe(percentile(whole, 99))
    expect(shop?.instances.map((i) => i.instance).sort()).toEqual(['a', 'b', 'c'])

    // One hash per tier bucket. While a bucket is open each instance keeps its own field per series (method +
    // route template, never a raw URL), holding counts per status class. (Coarse tiers fill when 10 s buckets
    // close: see the fold test below.)
    for (const tier of [TIER_10S]) {
      const bucketKeys = await redis.keys(`${prefix}:{shop}:req:${tier.name}:*`)
      expect(bucketKeys.length, tier.name).toBeGreaterThan(0)
      const hashes = await Promise.all(bucketKeys.map((k) => redis.hgetallBuffer(k)))
      const fields = hashes.flatMap((h) => Object.keys(h)).map((f) => parseSeriesField(f))
      expect(new Set(fields.map((f) => `${f?.method} ${f?.route}`))).toEqual(new Set(['GET /items/:id']))
      expect(new Set(fields.map((f) => f?.ownTag?.split('#')[0])).size, tier.name).toBe(3)
      const total = hashes.flatMap((h) => Object.values(h)).map(decodeSeries).reduce((n, v) => n + v.statusCounts[1] + v.statusCounts[4], 0)
      expect(total, tier.name).toBe(3000)
      expect(await redis.pttl(bucketKeys[0]!)).toBeGreaterThan(tier.retentionMs)
    }
  })

  it('writes requests recorded while a flush is in flight with the next flush, counting each once', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'a')
    await connected(c)
    const t0 = Math.ceil(Date.now() / 10_000) * 10_000 + 1000 // one 10 s bucket for the whole test
    vi.useFakeTimers({ toFake: ['Date'], now: t0 })
    try {
      for (let i = 0; i < 100; i++) c.recordRequest({ method: 'GET', route: '/y', status: 200, durationMs: 5 })
      const inFlight = c.flush() // encodes synchronously, then awaits Redis
      for (let i = 0; i < 50; i++) c.recordRequest({ method: 'GET', route: '/y', status: 500, durationMs: 9 })
      await inFlight
      expect((await seriesOf(prefix))['GET /y']?.count).toBe(100)
      await c.flush()
      const after = (await seriesOf(prefix))['GET /y']
      expect([after?.count, after?.errors, after?.histogram.count]).toEqual([150, 50, 150])
      await c.flush() // nothing new: the value stays as it is
      expect((await seriesOf(prefix))['GET /y']?.count).toBe(150)
    } finally {
      vi.useRealTimers()
    }
  })

  it('writes through a borrowed client with a keyPrefix (no prebuilt frames then), leaving the client open', async () => {
    const prefix = freshPrefix()
    const borrowed = new Redis(testRedisUrl(), { keyPrefix: 'kp:' })
    try {
      const c = collector(prefix, 'a', { redis: borrowed })
      await until(() => borrowed.status === 'ready')
      for (let i = 0; i < 20; i++) c.recordRequest({ method: 'GET', route: '/z', status: 200, durationMs: 3 })
      await c.flush()
      await c.close()
      const keys = await redis.keys(`kp:${prefix}:{shop}:req:10s:*`)
      expect(keys.length).toBe(1)
      const value = Object.values(await redis.hgetallBuffer(keys[0]!)).map(decodeSeries)
      expect(value.reduce((n, v) => n + v.count, 0)).toBe(20)
      expect(borrowed.status).toBe('ready')
    } finally {
      borrowed.disconnect()
    }
  })

  it('folds every instance into one shared field per series once a bucket has closed, losing nothing', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const instances = [collector(prefix, 'a'), collector(prefix, 'b')]
    await Promise.all(instances.map(connected))
    const t0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 1000 // just after an hour boundary
    vi.useFakeTimers({ toFake: ['Date'], now: t0 })
    try {
      for (let i = 0; i < 400; i++) instances[i % 2]!.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 + (i % 50) })
      for (let f = 0; f < 61; f++) await Promise.all(instances.map((c) => c.flush())) // every coarse slot written once
      vi.setSystemTime(t0 + 3_600_000 + 10_000) // every tier's bucket has closed
      for (let f = 0; f < 3; f++) await Promise.all(instances.map((c) => c.flush())) // final writes, then folds
    } finally {
      vi.useRealTimers()
    }
    for (const tier of TIERS) {
      const key = keys.requestBucket('shop', tier.name, Math.floor(t0 / tier.bucketMs) * tier.bucketMs)
      const hash = await redis.hgetallBuffer(key)
      expect(Object.keys(hash), tier.name).toEqual(['GET /x'])
      const v = decodeSeries(hash['GET /x']!)
      expect([v.count, v.statusCounts[1], v.histogram.count], tier.name).toEqual([400, 400, 400])
    }
  })

  it('records route template, method and status from a plain node:http server through the middleware', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'http')
    await connected(c)
    const middleware = c.httpMiddleware({ routeTemplate: (req) => (req.url?.startsWith('/users/') ? '/users/:id' : undefined) })
    const server = createServer((req, res) => {
      middleware(req, res)
      res.statusCode = req.url === '/users/7' ? 200 : 500
      res.end('x')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    for (const path of ['/users/7', '/users/7', '/nowhere/123']) await (await fetch(base + path)).text()
    await new Promise((r) => server.close(r))
    await c.flush()
    const counts = Object.entries(await seriesOf(prefix))
      .map(([series, v]) => `${series} 2xx=${v.statusCounts[1]} 5xx=${v.statusCounts[4]} errors=${v.errors}`)
      .sort()
    // Unknown paths collapse into one label: a raw URL never becomes a series.
    expect(counts).toEqual(['GET (unmatched) 2xx=0 5xx=1 errors=1', 'GET /users/:id 2xx=2 5xx=0 errors=0'])
  })

  it('records Fastify route templates, statuses and thrown errors through the plugin', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'fastify')
    await connected(c)
    const app = Fastify()
    await app.register(c.fastifyPlugin())
    app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }))
    app.get('/boom', async () => {
      throw new TypeError('bad')
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    for (const path of ['/users/1', '/users/2', '/boom', '/missing']) await (await fetch(base + path)).text()
    await app.close()
    await c.flush()
    const series = await seriesOf(prefix)
    expect(Object.keys(series).sort()).toEqual(['GET (unmatched)', 'GET /boom', 'GET /users/:id'])
    expect(series['GET /users/:id']?.statusCounts[1]).toBe(2)
    expect(series['GET /boom']).toMatchObject({ errors: 1, statusCounts: [0, 0, 0, 0, 1] })
    expect(series['GET (unmatched)']?.statusCounts[3]).toBe(1)
    const log = await redis.xrange(keys.requestLog('shop'), '-', '+')
    expect(log.map(([, f]) => f)).toEqual([expect.arrayContaining(['route', '/boom', 'errorType', 'TypeError'])])
  })

  it('keeps aggregates in memory while Redis is unreachable and never throws into the caller', async () => {
    const errors: string[] = []
    const c = createCollector({
      redis: 'redis://127.0.0.1:1',
      service: 'shop',
      instance: 'offline',
      prefix: freshPrefix(),
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e.message),
    })
    open.push(c)
    for (let i = 0; i < 100; i++) c.recordRequest({ method: 'GET', route: '/', status: 200, durationMs: 5 })
    await expect(c.flush()).resolves.toBeUndefined()
    expect(c.stats.flushes).toBe(0)
    expect(c.stats.droppedBuckets).toBe(0)
  })
})

describe('breaker control through Redis', () => {
  async function reportsOf(prefix: string, breaker: string): Promise<BreakerInstanceReport[]> {
    const raw = await redis.hgetall(createKeySpace(prefix).breakerState('shop', breaker))
    return Object.values(raw).map((j) => BreakerInstanceReport.parse(JSON.parse(j)))
  }

  it('applies a reset on every instance: the opossum breakers close and each instance reports the generation', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const cs = [collector(prefix, 'i1'), collector(prefix, 'i2')]
    const bs = cs.map((c) => c.breaker('payments', async () => 'ok', { resetTimeout: 60_000 }))
    await Promise.all(cs.map(connected))
    for (const b of bs) b.opossum.open()
    expect(bs.every((b) => b.state === 'OPEN')).toBe(true)

    const issued = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'reset', reason: 'test', actor: 'tester' }, Date.now())
    await until(() => bs.every((b) => b.appliedGeneration === issued.generation))
    expect(bs.map((b) => b.state)).toEqual(['CLOSED', 'CLOSED'])
    expect(bs.every((b) => b.opossum.closed)).toBe(true)
    await expect(bs[0]!.fire()).resolves.toBe('ok')
    await until(async () => (await reportsOf(prefix, 'payments')).every((r) => r.appliedGeneration === issued.generation && r.state === 'CLOSED'))

    const overview = await readOverview(redis, keys, Date.now(), 60_000)
    const summary = overview.breakers.find((b) => b.name === 'payments')
    expect(summary).toMatchObject({ clusterState: 'CLOSED', appliedCount: 2, instancesReporting: 2, desiredGeneration: issued.generation })

    const audit = await redis.xrange(keys.audit(), '-', '+')
    expect(audit).toHaveLength(1)
    expect(audit[0]![1]).toEqual(expect.arrayContaining(['actor', 'tester', 'command', 'reset', 'reason', 'test']))
  })

  it('holds FORCED_OPEN through the reset timeout without a half-open probe, until released', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1')
    let calls = 0
    const b = c.breaker('search', async () => ++calls, { resetTimeout: 100 })
    let halfOpens = 0
    b.opossum.on('halfOpen', () => halfOpens++)
    await connected(c)
    const forced = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'search', command: 'forceOpen', reason: 'incident', actor: 't' }, Date.now())
    await until(() => b.appliedGeneration === forced.generation)
    // Traffic keeps flowing through 3 × resetTimeout: every call is rejected, none reaches the action, and opossum
    // never even enters half-open.
    let rejected = 0
    const until350 = Date.now() + 350
    while (Date.now() < until350) {
      await b.fire().catch(() => rejected++)
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(rejected).toBeGreaterThan(20)
    expect(calls).toBe(0)
    expect(halfOpens).toBe(0)
    expect(b.state).toBe('FORCED_OPEN')

    await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'search', command: 'release', reason: 'over', actor: 't' }, Date.now())
    await until(() => b.mode === 'NORMAL')
    // Released: back to opossum's rules — open now, probing after resetTimeout.
    expect(b.state).toBe('OPEN')
    await until(() => b.state === 'HALF_OPEN', 1000)
    await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'search', command: 'reset', reason: 'close it', actor: 't' }, Date.now())
    await until(() => b.state === 'CLOSED')
    await expect(b.fire()).resolves.toBe(1)
  })

  it('brings a breaker that starts under a stored force-open up forced before its first call', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await redis.sadd(keys.breakers('shop'), 'payments')
    await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'hold', actor: 't' }, Date.now())
    const c = collector(prefix, 'late')
    let calls = 0
    const b = c.breaker('payments', async () => ++calls)
    await expect(b.fire()).rejects.toThrow()
    expect(calls).toBe(0)
    expect(b.state).toBe('FORCED_OPEN')
  })

  it('ignores a generation older than the one already applied', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'i1')
    const b = c.breaker('payments', async () => 'ok')
    const base = { commandId: 'x', issuedAtMs: 0, actor: 't', reason: '', target: '*' }
    expect(b.applyDesired({ ...base, generation: 5, mode: 'FORCED_OPEN', command: 'forceOpen' })).toBe(true)
    expect(b.applyDesired({ ...base, generation: 4, mode: 'NORMAL', command: 'reset' })).toBe(false)
    expect(b.applyDesired({ ...base, generation: 5, mode: 'NORMAL', command: 'reset' })).toBe(false)
    expect(b.state).toBe('FORCED_OPEN')
  })

  it('applies a force-open issued while its connections were cut within 2 s of reconnecting', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const port = Number(new URL(testRedisUrl()).port)
    const proxy = await startTcpProxy(port)
    try {
      const c = createCollector({ redis: `redis://127.0.0.1:${proxy.port}`, service: 'shop', instance: 'cut', prefix, flushIntervalMs: 60_000 })
      open.push(c)
      const b = c.breaker('payments', async () => 'ok')
      await connected(c)
      await redis.sadd(keys.breakers('shop'), 'payments')
      proxy.cut() // both the command connection and the subscriber drop; reconnects are refused
      const issued = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'cut', actor: 't' }, Date.now())
      await new Promise((r) => setTimeout(r, 1500)) // the nudge went out while nobody from this instance listened
      expect(b.appliedGeneration).toBe(0)
      const restoredAt = Date.now()
      proxy.restore()
      await until(() => b.appliedGeneration === issued.generation, 4000)
      expect(Date.now() - restoredAt).toBeLessThanOrEqual(2000)
      expect(b.state).toBe('FORCED_OPEN')
    } finally {
      await proxy.close()
    }
  })

  it('applies a command for one instance only, and the next all-instances command to all', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const cs = [collector(prefix, 'i1'), collector(prefix, 'i2')]
    const bs = cs.map((c) => c.breaker('payments', async () => 'ok'))
    await Promise.all(cs.map(connected))
    const one = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'i2 only', actor: 't', instance: 'i2' }, Date.now())
    await until(() => bs[1]!.appliedGeneration === one.generation)
    await new Promise((r) => setTimeout(r, 100))
    expect(bs.map((b) => b.state)).toEqual(['CLOSED', 'FORCED_OPEN'])
    const all = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceClosed', reason: 'all', actor: 't' }, Date.now())
    expect(all.generation).toBeGreaterThan(one.generation)
    await until(() => bs.every((b) => b.appliedGeneration === all.generation))
    expect(bs.map((b) => b.state)).toEqual(['FORCED_CLOSED', 'FORCED_CLOSED'])
  })

  it('leaves the newest generation in force when an older desired state arrives late', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1')
    const b = c.breaker('payments', async () => 'ok')
    await connected(c)
    await redis.sadd(keys.breakers('shop'), 'payments')
    await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'reset', reason: 'one', actor: 't' }, Date.now())
    const newest = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'two', actor: 't' }, Date.now())
    await until(() => b.appliedGeneration === newest.generation)
    // A slow writer lands generation 1 afterwards, with its nudge.
    await redis.hset(keys.breakerDesired('shop', 'payments'), { generation: '1', mode: 'NORMAL', command: 'release', commandId: 'late' })
    await redis.publish(keys.controlChannel('shop'), JSON.stringify({ breaker: 'payments', generation: 1 }))
    await c.reconcile('payments')
    expect(b.state).toBe('FORCED_OPEN')
    expect(b.appliedGeneration).toBe(newest.generation)
    // And the next command still goes above everything seen, even though the record now says 1.
    const next = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'release', reason: 'three', actor: 't' }, Date.now())
    expect(next.generation).toBeGreaterThan(newest.generation)
  })

  it('reports the transitions of an adopted opossum breaker to the events stream and its state to Redis', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'host')
    const hostBreaker = new CircuitBreaker(async () => {
      throw new Error('down')
    }, { name: 'legacy', errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeout: 60_000 })
    c.adopt(hostBreaker)
    await connected(c)
    for (let i = 0; i < 3; i++) await hostBreaker.fire().catch(() => undefined)
    expect(hostBreaker.opened).toBe(true)
    await c.flush()
    const events = await redis.xrange(keys.events('shop'), '-', '+')
    const transition = events.map(([, f]) => f).find((f) => f.includes('transition') && f.includes('legacy'))
    expect(transition).toEqual(expect.arrayContaining(['from', 'CLOSED', 'to', 'OPEN', 'instance', 'host']))
    const [report] = await reportsOf(prefix, 'legacy')
    expect(report?.state).toBe('OPEN')
    expect(report?.stats.failures).toBeGreaterThanOrEqual(2)
    hostBreaker.shutdown()
  })
})

describe('sampled request log', () => {
  it('writes slow and failed requests, with route, status, duration, instance and error type, and skips the rest', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1', { slowRequestThresholdMs: 200 })
    await connected(c)
    c.recordRequest({ method: 'GET', route: '/fast', status: 200, durationMs: 5 })
    c.recordRequest({ method: 'GET', route: '/slow', status: 200, durationMs: 250 })
    c.recordRequest({ method: 'POST', route: '/pay', status: 502, durationMs: 30, errorType: 'ECONNRESET' })
    await c.flush()
    const entries = (await redis.xrange(keys.requestLog('shop'), '-', '+')).map(([, f]) => Object.fromEntries(f.reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1]!.push(v) : acc.push([v]), acc), [])))
    expect(entries).toEqual([
      expect.objectContaining({ route: '/slow', status: '200', kind: 'slow', instance: 'i1', errorType: '' }),
      expect.objectContaining({ route: '/pay', method: 'POST', status: '502', kind: 'error', errorType: 'ECONNRESET' }),
    ])
  })

  it('keeps a uniform sample of at most requestLogPerFlush entries per flush and counts the rest', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1', { requestLogPerFlush: 20 })
    await connected(c)
    for (let i = 0; i < 1000; i++) c.recordRequest({ method: 'GET', route: `/r${i % 10}`, status: 503, durationMs: 1 })
    await c.flush()
    const entries = await redis.xrange(keys.requestLog('shop'), '-', '+')
    expect(entries).toHaveLength(20)
    expect(c.stats.sampledOutRequestLogEntries).toBe(980)
    // Uniform over the interval, not just the first 20 requests (which all had routes /r0…/r9 in order).
    const routes = new Set(entries.map(([, f]) => f[f.indexOf('route') + 1]))
    expect(routes.size).toBeGreaterThan(3)
  })
})
