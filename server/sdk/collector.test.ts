import { describe, expect, it, vi } from 'vitest'
import { createHistogram, percentile, recordValue } from '../../shared/histogram'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import { TIERS, TIER_10S, bucketExpiresAt } from '../../shared/timeBuckets'
import { readOverview } from '../app/readModel'
import { openTestRedis, scanKeys } from '../testing/redis'
import { createCollector } from './index'
import { useTestRedis, collector, connected, freshPrefix, open, seriesOf, until } from './collectorTesting.test-helpers'
import { decodeSeries } from './seriesOracle.test-helpers'
import { isCluster, type RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

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
      const bucketKeys = await scanKeys(redis, `${prefix}:{shop}:req:${tier.name}:*`)
      expect(bucketKeys.length, tier.name).toBeGreaterThan(0)
      const hashes = await Promise.all(bucketKeys.map((k) => redis.hgetallBuffer(k)))
      const fields = hashes.flatMap((h) => Object.keys(h)).map((f) => parseSeriesField(f))
      expect(new Set(fields.map((f) => `${f?.method} ${f?.route}`))).toEqual(new Set(['GET /items/:id']))
      expect(new Set(fields.map((f) => f?.ownTag?.split('#')[0])).size, tier.name).toBe(3)
      const total = hashes.flatMap((h) => Object.values(h)).map(decodeSeries).reduce((n, v) => n + v.statusCounts[1] + v.statusCounts[4], 0)
      expect(total, tier.name).toBe(3000)
      // Expires at bucket end + retention (bucketExpiresAt): exact, whenever the check runs (a bucket that ended
      // while this test ran has a PTTL just under the retention, so a bound on the PTTL alone would flake).
      const start = Number(bucketKeys[0]!.slice(bucketKeys[0]!.lastIndexOf(':') + 1))
      expect(await redis.pexpiretime(bucketKeys[0]!)).toBe(bucketExpiresAt(start, tier))
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
      expect((await seriesOf(redis, prefix))['GET /y']?.count).toBe(100)
      await c.flush()
      const after = (await seriesOf(redis, prefix))['GET /y']
      expect([after?.count, after?.errors, after?.histogram.count]).toEqual([150, 50, 150])
      await c.flush() // nothing new: the value stays as it is
      expect((await seriesOf(redis, prefix))['GET /y']?.count).toBe(150)
    } finally {
      vi.useRealTimers()
    }
  })

  it('writes through a borrowed client with a keyPrefix (no prebuilt frames then), leaving the client open', async () => {
    const prefix = freshPrefix()
    const borrowed = openTestRedis({ keyPrefix: 'kp:' })
    try {
      const c = collector(prefix, 'a', { redis: borrowed })
      await until(() => borrowed.status === 'ready')
      for (let i = 0; i < 20; i++) c.recordRequest({ method: 'GET', route: '/z', status: 200, durationMs: 3 })
      await c.flush()
      await c.close()
      const keys = await scanKeys(redis, `kp:${prefix}:{shop}:req:10s:*`)
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

describe('collector stats', () => {
  it('shows every counter the collector keeps, requests dropped for an already closed bucket included', async () => {
    const c = createCollector({ redis: 'redis://127.0.0.1:1', service: 'shop', instance: 'late', prefix: freshPrefix(), flushIntervalMs: 60_000 })
    open.push(c)
    const t0 = Math.ceil(Date.now() / 10_000) * 10_000 + 1000
    vi.useFakeTimers({ toFake: ['Date'], now: t0 })
    try {
      c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 5 })
      await c.flush()
      vi.setSystemTime(t0 + 20_000) // the bucket of t0 has closed (kept in memory: Redis is away)
      await c.flush()
      vi.setSystemTime(t0) // the clock goes back: these requests belong to a closed bucket
      for (let i = 0; i < 5; i++) c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 5 })
      await c.flush()
    } finally {
      vi.useRealTimers()
    }
    expect(c.stats.droppedLateRequests).toBe(5)
    for (let i = 0; i < 101; i++) c.recordCacheEvent(`cache${i}`, 'hits', 2)
    expect(c.stats.droppedCacheEvents).toBe(2) // the 101st cache of one flush interval: dropped and counted
    expect(Object.keys(JSON.parse(JSON.stringify(c.stats))).sort()).toEqual([
      'commandsApplied', 'droppedBuckets', 'droppedCacheEvents', 'droppedCounterIncrements', 'droppedCoverageMarks', 'droppedEvents', 'droppedInvalidRequests', 'droppedLateRequests', 'droppedRequestLogEntries', 'duplicateFlushBatches',
      'failedFlushCommands', 'flushErrors', 'flushes', 'invalidRedisValues', 'lastFlushDurationMs', 'overflowedRequests', 'overflowedRequests1h', 'overflowedRequests1m', 'queueSampleErrors', 'sampledOutRequestLogEntries',
      'sanitizedLabels', 'skippedFlushes', 'unacknowledgedFlushes', 'uncacheableCacheKeys', 'unreplicatedFlushes',
    ])
  })
})

describe('the service registration (SADD P:services)', () => {
  // On a cluster the connections named fusebox:shop:reg are killed on every node: the Cluster client stays 'ready'
  // (no 'ready' again) and makes its node connections again at the next slot-map refresh ('+node'), which registers.
  // The host's flushes go on meanwhile (they are what makes ioredis notice a lost node and refresh).
  it('is written at connect and again after a reconnect, in a call of its own, not by every flush', { timeout: 20_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'reg')
    await connected(c)
    await until(async () => (await redis.sismember(keys.services(), 'shop')) === 1)
    // Gone (a janitor's or an operator's DEL): the next flushes do not put it back (once a minute, not per flush) …
    await redis.del(keys.services())
    for (let i = 0; i < 3; i++) await c.flush()
    expect(c.stats.flushes).toBeGreaterThanOrEqual(4)
    expect(await redis.sismember(keys.services(), 'shop')).toBe(0)
    // … a reconnect does, at once (a failover may have lost it).
    expect(await killConnections('fusebox:shop:reg')).toBeGreaterThanOrEqual(1)
    await until(async () => {
      await c.flush()
      return (await redis.sismember(keys.services(), 'shop')) === 1
    }, 12_000)
    // The one flush sent into the killed connections may fail (what it carried is resent by the next: nothing is
    // lost); once registered again, flushes land without errors.
    expect(c.stats.flushErrors).toBeLessThanOrEqual(1)
    const settled = [c.stats.flushErrors, c.stats.failedFlushCommands]
    const landed = c.stats.flushes
    await c.flush()
    expect([c.stats.flushes, c.stats.flushErrors, c.stats.failedFlushCommands]).toEqual([landed + 1, ...settled])
  })

  /** Kills every connection named `name` on every master and replica (the one node, or each cluster node). @returns how many */
  async function killConnections(name: string): Promise<number> {
    const nodes = isCluster(redis) ? redis.nodes('all') : [redis]
    let killed = 0
    for (const node of nodes) {
      const lines = ((await node.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${name} `))
      for (const line of lines) {
        const id = /^id=(\d+) /.exec(line)?.[1]
        if (id !== undefined) killed += (await node.client('KILL', 'ID', id)) as number
      }
    }
    return killed
  }
})

describe('collector options', () => {
  it('refuses a missing or unusable redis option with a clear error at set-up (a plain-JS host with REDIS_URL unset)', () => {
    for (const redis of [undefined, '', 42, {}, null]) {
      expect(() => createCollector({ redis, service: 'shop' } as unknown as Parameters<typeof createCollector>[0]), String(redis)).toThrow(
        /redis must be a Redis URL \(redis:\/\/host:port\) or an ioredis client \(Redis or Cluster\), or \{ cluster: /,
      )
    }
  })
})
