/**
 * Exactly-once flush effects (issue #11, findings 4 and 5; docs/decisions/015), against the real test redis-server,
 * through a loopback TCP proxy (server/testing/tcpProxy.ts) where the link misbehaves:
 * - a host-provided client on a link slower than `flushTimeoutMs`: flushes are abandoned and sent again, yet every
 *   breaker transition, cache event and failed request lands exactly once;
 * - an owned connection on a silent (connected, never answering) link: its command queue stays bounded and it flushes
 *   again within ~2 s of the link healing, with every request recorded meanwhile;
 * - a key of the wrong type planted for one write: only that write fails; the other series are confirmed (folded) and
 *   exact, and later flushes are unaffected; a planted events stream loses only the events.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import CircuitBreaker from 'opossum'
import { afterEach, describe, expect, it } from 'vitest'
import { TOTAL_FIELD, cacheField, createKeySpace, type KeySpace } from '../../shared/keys'
import { parseEvent, parseRequestLogEntry } from '../../shared/streamEntries'
import { TIER_10S, TIER_1H, TIER_1M, bucketStart } from '../../shared/timeBuckets'
import { scanKeys, testRedisUrl, testTopology } from '../testing/redis'
import { startTcpProxy, type TcpProxy } from '../testing/tcpProxy'
import { watchUnhandledRejections } from '../testing/unhandledRejections'
import {
  collector,
  collectorThroughProxy,
  connected,
  flushUntilLanded,
  freshPrefix,
  open,
  seriesOf,
  until,
  useTestRedis,
} from './collectorTesting.test-helpers'
import { createCollector } from './index'
import { readBucket } from './tierOracle.test-helpers'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))
const unhandled = watchUnhandledRejections()

/** Host-provided clients and proxies a test opened: closed after the collectors (useTestRedis's afterEach runs first). */
const extras: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of extras.splice(0).reverse()) await close().catch(() => {})
})

const HOUR = 3_600_000
const ROUTES = ['/catalog', '/cart/:id', '/checkout', '/users/:id', '/search']

/** A proxy to the test Redis, closed after the test. */
async function proxyToTestRedis(): Promise<TcpProxy> {
  const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port))
  extras.push(() => proxy.close())
  return proxy
}

/** Entries of a stream parsed with `parse` (null entries kept out). */
async function streamOf<T>(key: string, parse: (x: Record<string, string>) => T | null): Promise<T[]> {
  const out: T[] = []
  for (const [, flat] of await redis.xrange(key, '-', '+')) {
    const x: Record<string, string> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) x[flat[i] as string] = flat[i + 1] as string
    const parsed = parse(x)
    if (parsed !== null) out.push(parsed)
  }
  return out
}

/** Sum of one cache counter over every bucket of `tier` of service `shop`. */
async function cacheCounter(keys: KeySpace, tierName: string, field: string): Promise<number> {
  let sum = 0
  for (const key of await scanKeys(redis, `${keys.prefix}:{shop}:cachestats:${tierName}:*`)) sum += Number((await redis.hget(key, field)) ?? 0)
  return sum
}

describe('exactly-once flush effects', () => {
  // Single node only: a TCP proxy in front of one node (a cluster client would follow MOVED past it).
  it.skipIf(testTopology() === 'cluster')('With a host-provided client on a link slower than flushTimeoutMs, every breaker transition, cache event and failed request lands exactly once', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const proxy = await proxyToTestRedis()
    // The host's client, with ioredis defaults (autoResendUnfulfilledCommands on, no command timeout): not ours.
    const host = new Redis(`redis://127.0.0.1:${proxy.port}`)
    extras.push(() => host.quit())
    const errors: string[] = []
    const c = createCollector({
      redis: host,
      service: 'shop',
      instance: 'slow1',
      prefix,
      flushIntervalMs: 100,
      flushTimeoutMs: 150,
      requestLogPerFlush: 1000,
      onError: (e, where) => void (errors.length < 20 && errors.push(`${where}: ${e.message}`)),
    })
    open.push(c)
    const opossum = new CircuitBreaker(async () => 'ok', { name: 'payments' })
    c.adopt(opossum)
    await connected(c)

    // A one-way delay of 200 ms: every round trip takes > 400 ms, so every flush is abandoned at 150 ms while its
    // commands are still on their way (ioredis keeps them and Redis executes them).
    proxy.setLatencyMs(200)
    const transitions = 36
    const reads = 219
    const failed = 219
    let t = 0
    let r = 0
    let f = 0
    const until = Date.now() + 3000
    while (Date.now() < until) {
      if (t < transitions) {
        if (t % 2 === 0) opossum.open()
        else opossum.close()
        t++
      }
      for (let i = 0; i < 3 && r < reads; i++, r++) c.recordCacheEvent('catalog', r % 3 === 0 ? 'misses' : 'hits')
      for (let i = 0; i < 3 && f < failed; i++, f++) c.recordRequest({ method: 'GET', route: ROUTES[f % ROUTES.length]!, status: 503, durationMs: 4 })
      await sleep(25)
    }
    expect([t, r, f]).toEqual([transitions, reads, failed])
    expect(c.stats.flushErrors).toBeGreaterThan(3) // flushes were really abandoned

    proxy.heal()
    await sleep(600) // what was on its way arrives
    await flushUntilLanded(c)
    await flushUntilLanded(c)
    await sleep(300)

    const events = await streamOf(keys.events('shop'), parseEvent)
    const log = await streamOf(keys.requestLog('shop'), parseRequestLogEntry)
    const hits = reads - Math.ceil(reads / 3)
    const counted = {
      transitions: events.filter((e) => e.type === 'transition' && e.breaker === 'payments' && e.instance === 'slow1').length,
      requestLog: log.length,
      hits: await cacheCounter(keys, TIER_10S.name, cacheField('catalog', 'hits')),
      misses: await cacheCounter(keys, TIER_10S.name, cacheField('catalog', 'misses')),
      hits1m: await cacheCounter(keys, TIER_1M.name, cacheField('catalog', 'hits')),
      hits1h: await cacheCounter(keys, TIER_1H.name, cacheField('catalog', 'hits')),
    }
    console.log(`[exactlyOnce slow link] ${JSON.stringify({ counted, stats: c.stats, firstErrors: errors.slice(0, 2) })}`)
    expect(counted).toEqual({ transitions, requestLog: failed, hits, misses: reads - hits, hits1m: hits, hits1h: hits })
    expect(c.stats.duplicateFlushBatches).toBeGreaterThan(0) // copies really reached Redis twice, and were ignored
    // Every request-log entry once: one per recorded failed request, per route.
    const perRoute = Object.fromEntries(ROUTES.map((route) => [route, log.filter((e) => e.route === route).length]))
    expect(perRoute).toEqual(Object.fromEntries(ROUTES.map((route, i) => [route, Math.floor(failed / ROUTES.length) + (i < failed % ROUTES.length ? 1 : 0)])))
    // The series take the same path (idempotent own-field writes): exact too.
    const series = await seriesOf(redis, prefix)
    expect(Object.values(series).reduce((n, s) => n + s.count, 0)).toBe(failed)
    expect(unhandled).toEqual([])
  })

  // Single node only: a TCP proxy in front of one node (a cluster client would follow MOVED past it).
  it.skipIf(testTopology() === 'cluster')('With a host-provided client whose connection is reset every 300 ms, ioredis resends what was unanswered and every effect still lands exactly once', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const proxy = await proxyToTestRedis()
    const host = new Redis(`redis://127.0.0.1:${proxy.port}`, { retryStrategy: () => 20 })
    host.on('error', () => {})
    extras.push(() => host.quit())
    const c = createCollector({ redis: host, service: 'shop', instance: 'reset1', prefix, flushIntervalMs: 100, flushTimeoutMs: 200, requestLogPerFlush: 1000 })
    open.push(c)
    await connected(c)
    // Redis answers slowly enough (100 ms each way) that a reset usually finds a flush unanswered.
    proxy.setLatencyMs(100)
    proxy.resetEvery(300)
    let failed = 0
    let hits = 0
    const until = Date.now() + 3000
    while (Date.now() < until) {
      for (let i = 0; i < 4; i++, failed++) c.recordRequest({ method: 'GET', route: ROUTES[failed % ROUTES.length]!, status: 500, durationMs: 2 })
      c.recordCacheEvent('catalog', 'hits', 3)
      hits += 3
      await sleep(30)
    }
    const resets = proxy.accepted
    proxy.heal()
    await sleep(400)
    await flushUntilLanded(c)
    await flushUntilLanded(c)
    await sleep(300)
    const counted = {
      requestLog: await redis.xlen(keys.requestLog('shop')),
      hits: await cacheCounter(keys, TIER_10S.name, cacheField('catalog', 'hits')),
      series: Object.values(await seriesOf(redis, prefix)).reduce((n, s) => n + s.count, 0),
    }
    console.log(`[exactlyOnce resets] ${JSON.stringify({ counted, resets, stats: c.stats })}`)
    expect(resets).toBeGreaterThan(5)
    expect(counted).toEqual({ requestLog: failed, hits, series: failed })
    expect(unhandled).toEqual([])
  })

  // Single node only: a TCP proxy in front of one node (a cluster client would follow MOVED past it).
  it.skipIf(testTopology() === 'cluster')('An owned connection on a silent link keeps its command queue bounded and flushes again within 2 s of healing, with every request recorded meanwhile', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const { c, proxy } = await collectorThroughProxy(prefix, 'silent1', { flushIntervalMs: 100, flushTimeoutMs: 100 })
    const conn = (c as unknown as { redis: Redis }).redis
    let recorded = 0
    const record = (n: number) => {
      for (let i = 0; i < n; i++, recorded++) c.recordRequest({ method: 'GET', route: `/r${recorded % 200}`, status: 200, durationMs: 1 + (recorded % 50) })
    }
    record(200)
    await flushUntilLanded(c)

    proxy.silence()
    let maxQueue = 0
    const heapBefore = process.memoryUsage().heapUsed
    const silentUntil = Date.now() + 5000
    while (Date.now() < silentUntil) {
      record(200)
      void c.flush()
      maxQueue = Math.max(maxQueue, conn.commandQueue.length)
      await sleep(20)
    }
    const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20
    console.log(`[exactlyOnce silent link] ${JSON.stringify({ maxQueue, heapGrowthMiB, accepted: proxy.accepted, stats: c.stats })}`)
    // One flush's commands (~10) plus a ready check: the connection is dropped (socketTimeout) instead of queueing
    // flush after flush into a link that never answers (~50 flushes × ~10 commands in 5 s before).
    expect(maxQueue).toBeLessThanOrEqual(60)
    expect(proxy.accepted).toBeGreaterThan(2) // beyond the first command connection and the subscriber: it dropped the silent one

    proxy.heal()
    const healedAt = Date.now()
    await flushUntilLanded(c, 5000)
    const recoveryMs = Date.now() - healedAt
    console.log(`[exactlyOnce silent link] recovered in ${recoveryMs} ms`)
    expect(recoveryMs).toBeLessThanOrEqual(2000)
    // Everything recorded during the silence landed, once.
    await until(async () => Object.values(await seriesOf(redis, prefix)).reduce((n, s) => n + s.count, 0) === recorded, 3000).catch(() => {})
    expect(Object.values(await seriesOf(redis, prefix)).reduce((n, s) => n + s.count, 0)).toBe(recorded)
    expect(unhandled).toEqual([])
  })

  it('A key of the wrong type planted for one series write fails only that write: the other series are confirmed, exact and folded, and later flushes are unaffected', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    // An hour boundary ahead of real time: no bucket expires in Redis during the test.
    const t0 = Math.ceil(Date.now() / HOUR) * HOUR + HOUR + 1000
    let now = t0
    const c = collector(prefix, 'wt1', { clock: () => now })
    await connected(c)
    const a = bucketStart(t0, TIER_10S.bucketMs)
    // The 10 s totals hash of bucket A is a string: its HSET fails with WRONGTYPE on every try.
    const planted = keys.requestTotals('shop', TIER_10S.name, a)
    await redis.set(planted, 'not a hash')

    const perRoute = 7
    for (const route of ROUTES) for (let i = 0; i < perRoute; i++) c.recordRequest({ method: 'GET', route, status: 200, durationMs: 3 + i })
    await c.flush()
    // Bucket B, 20 s later; then A (and B) close, roll up and fold over the next flushes.
    now = t0 + 20_000
    for (const route of ROUTES) c.recordRequest({ method: 'POST', route, status: 201, durationMs: 9 })
    for (let i = 0; i < 6; i++) {
      now += 5000
      await c.flush()
    }

    expect(await redis.get(planted)).toBe('not a hash')
    // Bucket A's route series: confirmed, so folded into the shared fields (no own field left), and exact.
    const reqA = await readBucket(redis, prefix, 'req', TIER_10S, a)
    expect(reqA.fields).toEqual(ROUTES.map((route) => `GET ${route}`).sort())
    expect(Object.values(reqA.series).map((s) => s.count)).toEqual(ROUTES.map(() => perRoute))
    // Bucket B (written after the failures began): folded and exact as well.
    const reqB = await readBucket(redis, prefix, 'req', TIER_10S, bucketStart(t0 + 20_000, TIER_10S.bucketMs))
    expect(reqB.fields).toEqual(ROUTES.map((route) => `POST ${route}`).sort())
    const totB = await readBucket(redis, prefix, 'tot', TIER_10S, bucketStart(t0 + 20_000, TIER_10S.bucketMs))
    expect([totB.fields, totB.series[TOTAL_FIELD]?.count]).toEqual([[TOTAL_FIELD], ROUTES.length])
    expect(c.stats.failedFlushCommands).toBeGreaterThan(0) // the planted write failed, and was counted
    // The coarse tiers got A's totals from memory (the roll-up), so they still hold every request.
    now = t0 + 2 * HOUR
    for (let i = 0; i < 4; i++) await c.flush()
    for (const tier of [TIER_1M, TIER_1H]) {
      const tot = await readBucket(redis, prefix, 'tot', tier, bucketStart(t0, tier.bucketMs))
      expect([tier.name, tot.fields, tot.series[TOTAL_FIELD]?.count]).toEqual([tier.name, [TOTAL_FIELD], ROUTES.length * (perRoute + 1)])
      const req = await readBucket(redis, prefix, 'req', tier, bucketStart(t0, tier.bucketMs))
      expect(req.fields.every((field) => !field.includes('\t'))).toBe(true)
    }
    expect(unhandled).toEqual([])
  })

  it('A key of the wrong type in place of the events stream loses only the events: the request log and cache counters land once and the series are confirmed', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'wt2')
    const opossum = new CircuitBreaker(async () => 'ok', { name: 'payments' })
    c.adopt(opossum)
    await connected(c)
    await redis.del(keys.events('shop'))
    await redis.set(keys.events('shop'), 'not a stream')
    const droppedBefore = c.stats.droppedEvents

    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) opossum.open()
      else opossum.close()
    }
    for (let i = 0; i < 10; i++) c.recordCacheEvent('catalog', 'hits')
    for (let i = 0; i < 10; i++) c.recordRequest({ method: 'GET', route: '/checkout', status: 500, durationMs: 2 })
    for (let i = 0; i < 4; i++) await c.flush()

    expect(await redis.get(keys.events('shop'))).toBe('not a stream')
    expect(await redis.xlen(keys.requestLog('shop'))).toBe(10)
    expect(await cacheCounter(keys, TIER_10S.name, cacheField('catalog', 'hits'))).toBe(10)
    expect(c.stats.droppedEvents - droppedBefore).toBe(6)
    expect(c.stats.failedFlushCommands).toBeGreaterThanOrEqual(6)
    expect(Object.values(await seriesOf(redis, prefix)).reduce((n, s) => n + s.count, 0)).toBe(10)
    expect(unhandled).toEqual([])
  })
})
