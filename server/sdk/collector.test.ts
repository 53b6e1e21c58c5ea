import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createHistogram, percentile, recordValue } from '../../shared/histogram'
import { createKeySpace, parseRequestField } from '../../shared/keys'
import { BreakerInstanceReport } from '../../shared/schemas'
import { issueBreakerCommand } from '../app/breakerCommands'
import { readOverview } from '../app/readModel'
import { testRedisUrl } from '../testing/redis'
import { createCollector, type Collector } from './index'

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

function collector(prefix: string, instance: string, extra: { flushIntervalMs?: number; reconcileIntervalMs?: number } = {}): Collector {
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

    // Series fields carry the route template and status class, never a raw URL.
    const bucketKeys = await redis.keys(`${prefix}:{shop}:req:10s:*`)
    expect(bucketKeys.length).toBeGreaterThan(0)
    const fields = Object.keys(await redis.hgetall(bucketKeys[0]!)).map(parseRequestField)
    expect(new Set(fields.map((f) => f?.route))).toEqual(new Set(['/items/:id']))
    expect(new Set(fields.map((f) => f?.statusClass))).toEqual(new Set(['2xx', '5xx']))
    expect(await redis.pttl(bucketKeys[0]!)).toBeGreaterThan(3_000_000)
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
    const [bucket] = await redis.keys(`${prefix}:{shop}:req:10s:*`)
    const counts = Object.entries(await redis.hgetall(bucket!))
      .map(([field, value]) => [parseRequestField(field), Number(value)] as const)
      .filter(([f]) => f?.kind === 'c')
      .map(([f, n]) => `${f!.method} ${f!.route} ${f!.statusClass} ${n}`)
      .sort()
    // Unknown paths collapse into one label: a raw URL never becomes a series.
    expect(counts).toEqual(['GET (unmatched) 5xx 1', 'GET /users/:id 2xx 2'])
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
    await connected(c)
    const forced = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'search', command: 'forceOpen', reason: 'incident', actor: 't' }, Date.now())
    await until(() => b.appliedGeneration === forced.generation)
    await new Promise((r) => setTimeout(r, 350)) // > 3 × resetTimeout
    expect(b.state).toBe('FORCED_OPEN')
    expect(b.opossum.halfOpen).toBe(false)
    await expect(b.fire()).rejects.toThrow()
    expect(calls).toBe(0)

    await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'search', command: 'release', reason: 'over', actor: 't' }, Date.now())
    await until(() => b.mode === 'NORMAL')
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
    const base = { commandId: 'x', issuedAtMs: 0, actor: 't', reason: '' }
    expect(b.applyDesired({ ...base, generation: 5, mode: 'FORCED_OPEN', command: 'forceOpen' })).toBe(true)
    expect(b.applyDesired({ ...base, generation: 4, mode: 'NORMAL', command: 'reset' })).toBe(false)
    expect(b.applyDesired({ ...base, generation: 5, mode: 'NORMAL', command: 'reset' })).toBe(false)
    expect(b.state).toBe('FORCED_OPEN')
  })
})
