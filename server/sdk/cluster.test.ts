/**
 * The collector SDK on the real 3-master + 3-replica Redis Cluster of the test run (server/testing/redisCluster.ts):
 * one service per master (chosen with CLUSTER KEYSLOT and the cluster's slot map), every write path of the SDK run
 * against it — request series in every tier with their folds and coverage bitmaps, heartbeat, breaker events and
 * reports, cache calls and counters, the request log, fleet counters, `P:services` — with no failed flush and exactly
 * the recorded counts read back; each form of the `redis` option; breaker nudges by SSUBSCRIBE; what close() closes
 * (docs/decisions/027).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ZodError } from 'zod'
import { parseCounterField } from '../../shared/fleetCounters'
import { parseHeartbeat } from '../../shared/heartbeat'
import { TOTAL_FIELD, cacheField, createKeySpace, seriesField, type KeySpace } from '../../shared/keys'
import { BreakerInstanceReport } from '../../shared/schemas'
import { parseEvent, parseRequestLogEntry } from '../../shared/streamEntries'
import { TIER_10S, TIER_1H, TIER_1M, bucketStart, type Tier } from '../../shared/timeBuckets'
import { issueBreakerCommand } from '../app/breakerCommands'
import { startRedisCluster } from '../bootstrap/redisCluster.mjs'
import { deleteClusterPrefix, openTestCluster, seedList, testClusterSeeds } from '../testing/redisCluster'
import { until } from './collectorTesting.test-helpers'
import { createCollector, type Collector, type CollectorOptions } from './index'
import { decodeSeries, emptySeries, mergeSeriesInto, type SeriesValue } from './seriesOracle.test-helpers'

const MINUTE = 60_000
const HOUR = 3_600_000

/** The test's own client of the cluster (setup and checks; never handed to a collector). */
let check: Cluster
/** One service name per master, in master order, and that master's port. */
let services: { name: string; port: number }[] = []
const prefixes: string[] = []
const opened: Collector[] = []
const borrowed: Cluster[] = []

function freshPrefix(): string {
  const p = `c${randomBytes(4).toString('hex')}`
  prefixes.push(p)
  return p
}

function freshInstance(): string {
  return `i-${randomBytes(3).toString('hex')}`
}

/** A collector (flush timer 60 s: tests flush by hand), closed after the test; its onError calls collected. */
function collector(options: Partial<CollectorOptions> & Pick<CollectorOptions, 'redis' | 'service'>): { c: Collector; errors: string[] } {
  const errors: string[] = []
  const c = createCollector({ flushIntervalMs: 60_000, onError: (e, where) => errors.push(`${where}: ${e.message}`), ...options })
  opened.push(c)
  return { c, errors }
}

/** A Cluster client a test lends a collector (quit after the file). */
function borrowCluster(): Cluster {
  const b = openTestCluster()
  borrowed.push(b)
  return b
}

/** Flushes until one flush reached Redis. @throws Error naming the collector's last errors when none did in 10 s. */
async function landed(c: Collector, errors: string[] = []): Promise<void> {
  await until(async () => {
    await c.flush()
    return c.stats.flushes > 0
  }, 10_000).catch(() => {
    throw new Error(`${c.service}: no flush reached Redis in 10 s (flushErrors ${c.stats.flushErrors}); last errors: ${[...new Set(errors)].slice(-3).join(' | ')}`)
  })
}

/** Slot → master port, from CLUSTER SLOTS. */
async function slotOwners(): Promise<(slot: number) => number> {
  const ranges = await check.cluster('SLOTS')
  return (slot) => {
    const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1]
    if (port === undefined) throw new Error(`slot ${slot} is not served`)
    return port
  }
}

beforeAll(async () => {
  check = openTestCluster()
  await check.ping()
  const ownerOf = await slotOwners()
  const masters = new Map<number, string>()
  for (let i = 0; masters.size < 3 && i < 200; i++) {
    const name = `svc${i}`
    const slot = Number(await check.cluster('KEYSLOT', `{${name}}`))
    const port = ownerOf(slot)
    if (!masters.has(port)) masters.set(port, name)
  }
  services = [...masters].map(([port, name]) => ({ name, port })).sort((a, b) => a.port - b.port)
  expect(services).toHaveLength(3)
})

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()))
})

afterAll(async () => {
  for (const p of prefixes) await deleteClusterPrefix(check, p)
  await Promise.all(borrowed.map((b) => b.quit()))
  await check.quit()
})

/** Every series of one bucket hash, own and shared fields merged, and its raw field names. */
async function readHash(key: string, client: Cluster = check): Promise<{ fields: string[]; series: Record<string, SeriesValue> }> {
  const hash = await client.hgetallBuffer(key)
  const series: Record<string, SeriesValue> = {}
  for (const [field, bytes] of Object.entries(hash)) {
    const name = field.split('\t')[0] as string
    series[name] = mergeSeriesInto(series[name] ?? emptySeries(), decodeSeries(bytes))
  }
  return { fields: Object.keys(hash).sort(), series }
}

const counts = (series: Record<string, SeriesValue>) => Object.fromEntries(Object.entries(series).map(([f, v]) => [f, [v.count, v.errors]]))

/** What one service records, and what must be read back (count, errors) per series. */
const RECORDED: { method: string; route: string; status: number; durationMs: number }[] = [
  { method: 'GET', route: '/a', status: 200, durationMs: 10 },
  { method: 'GET', route: '/a', status: 200, durationMs: 11 },
  { method: 'GET', route: '/a', status: 200, durationMs: 12 },
  { method: 'GET', route: '/a', status: 500, durationMs: 20 }, // failed: request log
  { method: 'POST', route: '/b/:id', status: 201, durationMs: 5 },
  { method: 'POST', route: '/b/:id', status: 201, durationMs: 6 },
  { method: 'POST', route: '/b/:id', status: 200, durationMs: 900 }, // slow: request log
]
const EXPECTED_SERIES = { [seriesField('GET', '/a')]: [4, 1], [seriesField('POST', '/b/:id')]: [3, 0] }

/**
 * Runs every SDK write path of service `svc` (instance `instance`) on collector `c` with the test clock `clock`, and
 * checks what the cluster holds afterwards against what was recorded.
 */
async function everyWritePath(c: Collector, clock: { now: number }, keys: KeySpace, svc: string, instance: string): Promise<void> {
  // The collector's clock started at t1 (its first flush covered t1's 10 s bucket), then moves past the end of its hour.
  const t1 = clock.now
  const b10 = bucketStart(t1, TIER_10S.bucketMs)
  const m1 = bucketStart(t1, TIER_1M.bucketMs)
  const h1 = bucketStart(t1, TIER_1H.bucketMs)

  // Breakers: one failure opens `pay` (a transition), the next call is rejected.
  const pay = c.breaker('pay', async () => {
    throw new Error('down')
  }, { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeout: HOUR })
  await expect(pay.fire()).rejects.toThrow('down')
  await expect(pay.fire()).rejects.toThrow()
  expect(pay.state).toBe('OPEN')

  // Caches: 1 hit, 2 misses, 3 sets, 3 invalidations (2 by tag, 1 by key).
  const cache = c.cache<{ v: number }>('users', { ttlSeconds: 600 })
  await expect(cache.getOrSet('k1', async () => ({ v: 1 }))).resolves.toEqual({ v: 1 })
  await until(async () => (await check.exists(keys.cacheValue(svc, 'users', 'k1'))) === 1)
  await expect(cache.getOrSet('k1', async () => ({ v: -1 }))).resolves.toEqual({ v: 1 })
  await expect(cache.get('absent')).resolves.toBeUndefined()
  await cache.set('k2', { v: 2 }, { tags: ['t'] })
  await cache.set('k3', { v: 3 }, { tags: ['t'] })
  expect(await check.smembers(keys.cacheTag(svc, 'users', 't'))).toEqual(expect.arrayContaining(['k2', 'k3']))
  await expect(cache.invalidateTag('t')).resolves.toBe(2)
  await cache.delete('k1')
  expect(await check.exists(keys.cacheValue(svc, 'users', 'k1'), keys.cacheValue(svc, 'users', 'k2'), keys.cacheTag(svc, 'users', 't'))).toBe(0)

  for (const r of RECORDED) c.recordRequest(r)
  await c.flush()
  // The 10 s bucket has closed (its end + 2.5 s): its final value, the roll-up into 1 min and 1 h, the fold.
  clock.now = t1 + 15_000
  for (let i = 0; i < 3; i++) await c.flush()
  // Past the end of the hour: the 1 min and 1 h buckets close, are written and folded.
  clock.now = h1 + HOUR + 10_000
  for (let i = 0; i < 4; i++) await c.flush()

  // Series in every tier: exactly what was recorded, folded into shared fields (no own field left: no tab).
  for (const [tier, start] of [[TIER_10S, b10], [TIER_1M, m1], [TIER_1H, h1]] as [Tier, number][]) {
    const req = await readHash(keys.requestBucket(svc, tier.name, start))
    const tot = await readHash(keys.requestTotals(svc, tier.name, start))
    expect(counts(req.series), `${svc} req ${tier.name}`).toEqual(EXPECTED_SERIES)
    expect(counts(tot.series), `${svc} tot ${tier.name}`).toEqual({ [TOTAL_FIELD]: [7, 1] })
    expect([...req.fields, ...tot.fields].filter((f) => f.includes('\t')), `${svc} ${tier.name}: folded`).toEqual([])
  }
  // Coverage: the 10 s sub-bucket of t1 is marked in the 1 min and the 1 h bitmap.
  expect(await check.getbit(keys.coverage(svc, TIER_1M.name, m1), (b10 - m1) / TIER_10S.bucketMs)).toBe(1)
  expect(await check.getbit(keys.coverage(svc, TIER_1H.name, h1), (b10 - h1) / TIER_10S.bucketMs)).toBe(1)

  // Heartbeat and instance health.
  expect(Number(await check.zscore(keys.instances(svc), instance))).toBe(clock.now)
  const info = await check.hgetall(keys.instanceInfo(svc, instance))
  expect(Object.keys(info).length).toBeGreaterThan(0)
  expect(parseHeartbeat(info).invalidFields).toEqual([])

  // Breaker: registered, its report says OPEN, its transition is in the events stream.
  expect(await check.smembers(keys.breakers(svc))).toEqual(['pay'])
  const report = BreakerInstanceReport.parse(JSON.parse((await check.hget(keys.breakerState(svc, 'pay'), instance)) ?? 'null'))
  expect(report.state).toBe('OPEN')
  const events = (await check.xrange(keys.events(svc), '-', '+')).map(([, f]) => parseEvent(Object.fromEntries(pairs(f))))
  expect(events.filter((e) => e?.type === 'transition' && e.breaker === 'pay' && e.to === 'OPEN')).toHaveLength(1)

  // Caches: registered, counters in every tier's bucket of the flush that carried them.
  expect(await check.smembers(keys.caches(svc))).toEqual(['users'])
  for (const tier of [TIER_10S, TIER_1M, TIER_1H]) {
    const stats = await check.hgetall(keys.cacheBucket(svc, tier.name, bucketStart(t1, tier.bucketMs)))
    expect(stats, `${svc} cachestats ${tier.name}`).toEqual({
      [cacheField('users', 'hits')]: '1',
      [cacheField('users', 'misses')]: '2',
      [cacheField('users', 'sets')]: '3',
      [cacheField('users', 'invalidations')]: '3',
    })
  }

  // Request log: the failed and the slow request.
  const log = (await check.xrange(keys.requestLog(svc), '-', '+')).map(([, f]) => parseRequestLogEntry(Object.fromEntries(pairs(f))))
  expect(log.map((e) => [e?.route, e?.status, e?.instance]).sort()).toEqual([['/a', 500, instance], ['/b/:id', 200, instance]])

  // Fleet counters: requests by route, breaker outcomes, cache events.
  const fleet: Record<string, number> = {}
  for (const [field, value] of Object.entries(await check.hgetall(keys.counters(svc)))) {
    const f = parseCounterField(field)
    if (f?.type === 'request' && f.part === 'n') fleet[`${f.labels.method} ${f.labels.route}`] = (fleet[`${f.labels.method} ${f.labels.route}`] ?? 0) + Number(value)
    if (f?.type === 'breaker') fleet[`breaker ${f.outcome}`] = Number(value)
    if (f?.type === 'cache') fleet[`cache ${f.kind}`] = Number(value)
  }
  expect(fleet).toEqual({
    'GET /a': 4,
    'POST /b/:id': 3,
    'breaker failure': 1,
    'breaker reject': 1,
    'cache hits': 1,
    'cache misses': 2,
    'cache sets': 3,
    'cache invalidations': 3,
  })

  // The one cross-service key, written in a call of its own.
  expect(await check.sismember(keys.services(), svc)).toBe(1)
}

/** `[k1, v1, k2, v2]` → `[[k1, v1], [k2, v2]]`. */
function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string])
  return out
}

describe.each([
  { form: 'cluster seeds (an owned Cluster)', redis: (): CollectorOptions['redis'] => ({ cluster: testClusterSeeds() }) },
  { form: 'a borrowed ioredis Cluster', redis: (): CollectorOptions['redis'] => borrowCluster() },
])('every SDK write path on a 3-master Redis Cluster, given $form', ({ redis }) => {
  it('lands for a service on each master with no failed flush, and reads back exactly what was recorded', { timeout: 60_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await Promise.all(
      services.map(async ({ name }) => {
        // 30 min ago: 10 s buckets expire 65 min after their end, in real time.
        const clock = { now: bucketStart(Date.now() - 30 * MINUTE, TIER_10S.bucketMs) + 1000 }
        const instance = freshInstance()
        const { c, errors } = collector({ redis: redis(), service: name, instance, prefix, clock: () => clock.now })
        await landed(c, errors)
        await everyWritePath(c, clock, keys, name, instance)
        expect(errors, name).toEqual([])
        expect({ flushErrors: c.stats.flushErrors, failedFlushCommands: c.stats.failedFlushCommands, skippedFlushes: c.stats.skippedFlushes, droppedBuckets: c.stats.droppedBuckets, invalidRedisValues: c.stats.invalidRedisValues }, name).toEqual({
          flushErrors: 0,
          failedFlushCommands: 0,
          skippedFlushes: 0,
          droppedBuckets: 0,
          invalidRedisValues: 0,
        })
      }),
    )
  })

  it('applies a breaker command issued by the server through SSUBSCRIBE within 1 s on each master, not by the periodic reconcile', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    for (const { name } of services) {
      const { c, errors } = collector({ redis: redis(), service: name, instance: freshInstance(), prefix, reconcileIntervalMs: 600_000 })
      const b = c.breaker('search', async () => 'ok')
      await landed(c, errors)
      await expect(b.fire()).resolves.toBe('ok') // the start-up reconcile is done
      // The subscription is in place once the shard's master counts a subscriber of the channel.
      await until(async () => {
        const owner = check.nodes('master').find((n) => n.options.port === services.find((s) => s.name === name)?.port)
        const [, n] = ((await owner?.call('PUBSUB', 'SHARDNUMSUB', keys.controlChannel(name))) ?? []) as [string, number]
        return Number(n) >= 1
      })
      const started = performance.now()
      const issued = await issueBreakerCommand(check, keys, { service: name, breaker: 'search', command: 'forceOpen', reason: 'cluster test', actor: 'tester' }, Date.now())
      await until(() => b.appliedGeneration === issued.generation, 5000)
      const appliedMs = performance.now() - started
      console.log(`[cluster nudge] ${JSON.stringify({ service: name, appliedMs: Math.round(appliedMs) })}`)
      expect(appliedMs).toBeLessThan(1000)
      expect(b.state).toBe('FORCED_OPEN')
      expect(errors).toEqual([])
    }
  })
})

describe('the redis option on a cluster', () => {
  it('takes a seed list [{ host, port }] as an owned Cluster', { timeout: 20_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const [svc] = services
    const { c, errors } = collector({ redis: { cluster: seedList(testClusterSeeds()).slice(0, 1) }, service: svc!.name, instance: 'seeded', prefix })
    await landed(c, errors)
    expect(await check.zscore(keys.instances(svc!.name), 'seeded')).not.toBeNull()
    // SADD P:services is a call of its own at connect (decision 027), not part of the flush just awaited.
    await until(async () => (await check.sismember(keys.services(), svc!.name)) === 1, 5000)
    expect([c.stats.flushErrors, errors]).toEqual([0, []])
  })

  it('refuses bad cluster seeds at set-up with an error naming the problem', () => {
    const cases: [unknown, RegExp][] = [
      ['', /redis must be a Redis URL/],
      [{ cluster: '' }, /redis\.cluster must be Redis Cluster seeds: cluster seeds: give at least one host:port/],
      [{ cluster: 'localhost' }, /redis\.cluster must be Redis Cluster seeds: cluster seed "localhost": must be host:port/],
      [{ cluster: '127.0.0.1:99999' }, /cluster seed "127\.0\.0\.1:99999": port must be 1-65535/],
      [{ cluster: 'redis://127.0.0.1:7000/2' }, /a cluster has only database 0/],
      [{ cluster: [] }, /redis\.cluster must be Redis Cluster seeds: a seed list holds 1–64/],
      [{ cluster: [{ host: '127.0.0.1', port: 0 }] }, /redis\.cluster must be Redis Cluster seeds: a seed list/],
      [{ cluster: [{ host: '127.0.0.1' }] }, /redis\.cluster must be Redis Cluster seeds/],
      [{ cluster: 42 }, /redis\.cluster must be Redis Cluster seeds/],
      [{ nodes: ['127.0.0.1:7000'] }, /redis must be a Redis URL \(redis:\/\/host:port\) or an ioredis client \(Redis or Cluster\)/],
    ]
    for (const [redis, message] of cases) {
      let thrown: unknown
      try {
        createCollector({ redis, service: 'shop' } as unknown as CollectorOptions)
      } catch (e) {
        thrown = e
      }
      expect(thrown, JSON.stringify(redis)).toBeInstanceOf(ZodError)
      expect((thrown as ZodError).issues.map((i) => i.message).join('; '), JSON.stringify(redis)).toMatch(message)
    }
  })

  it('with the URL of one node writes only the services that node serves: the others get MOVED, reported and counted, nothing thrown', { timeout: 20_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const [home, other] = services as [{ name: string; port: number }, { name: string; port: number }]
    const url = `redis://127.0.0.1:${home.port}`
    const served = collector({ redis: url, service: home.name, instance: 'by-url', prefix })
    const moved = collector({ redis: url, service: other.name, instance: 'by-url', prefix })
    await landed(served.c)
    for (const { c } of [served, moved]) {
      c.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 })
      await c.flush()
    }
    expect(await check.zscore(keys.instances(home.name), 'by-url')).not.toBeNull()
    expect(await check.zscore(keys.instances(other.name), 'by-url')).toBeNull()
    expect(moved.c.stats.failedFlushCommands).toBeGreaterThan(0)
    expect(moved.errors.some((e) => /^flush: MOVED \d+ .*this Redis is a node of a Redis Cluster/.test(e))).toBe(true)
  })
})

describe('a cluster that cannot be reached', () => {
  it('never throws into the host: flushes resolve, nothing is sent, the data stays buffered and errors go to onError', { timeout: 20_000 }, async () => {
    // Port 1 on loopback: refused at once, so every slot refresh fails ("Failed to refresh slots cache").
    const { c, errors } = collector({ redis: { cluster: '127.0.0.1:1' }, service: 'svc0', instance: 'nowhere', prefix: freshPrefix(), flushTimeoutMs: 200 })
    const cache = c.cache<number>('c', { ttlSeconds: 60, opTimeoutMs: 200 })
    const b = c.breaker('b', async () => 'ok', {})
    for (let i = 0; i < 10; i++) {
      c.recordRequest({ method: 'GET', route: '/r', status: 200, durationMs: 1 })
      await c.flush()
    }
    await expect(cache.getOrSet('k', async () => 7)).resolves.toBe(7)
    await expect(b.fire()).resolves.toBe('ok')
    await until(() => errors.some((e) => e.startsWith('redis: ')), 5000)
    expect(c.stats.flushes).toBe(0)
    expect((c as unknown as { writer: { bucketCount: number } }).writer.bucketCount).toBeGreaterThan(0)
    const closing = performance.now()
    await c.close()
    expect(performance.now() - closing).toBeLessThan(2000)
  })
})

describe('close() on a cluster', () => {
  /** Connections on any node whose CLIENT LIST name mentions `instance`. */
  async function connectionsOf(instance: string): Promise<number> {
    let n = 0
    for (const node of check.nodes('all')) {
      const list = (await node.client('LIST')) as string
      n += list.split('\n').filter((line) => line.includes(instance)).length
    }
    return n
  }

  it('closes the Cluster it opened from seeds and its subscriber', { timeout: 20_000 }, async () => {
    const instance = freshInstance()
    const { c } = collector({ redis: { cluster: testClusterSeeds() }, service: services[0]!.name, instance, prefix: freshPrefix() })
    c.breaker('b', async () => 'ok')
    await landed(c)
    await until(async () => (await connectionsOf(`fusebox-sub:${services[0]!.name}:${instance}`)) > 0)
    expect(await connectionsOf(instance)).toBeGreaterThan(1)
    await c.close()
    await until(async () => (await connectionsOf(instance)) === 0)
  })

  it('closes its subscriber but not a Cluster it borrowed', { timeout: 20_000 }, async () => {
    const instance = freshInstance()
    const lent = borrowCluster()
    const { c, errors } = collector({ redis: lent, service: services[1]!.name, instance, prefix: freshPrefix() })
    await landed(c, errors)
    await until(async () => (await connectionsOf(`fusebox-sub:${services[1]!.name}:${instance}`)) > 0)
    await c.close()
    await until(async () => (await connectionsOf(instance)) === 0)
    expect(lent.status).toBe('ready')
    await expect(lent.ping()).resolves.toBe('PONG')
  })
})

describe('hash slots', () => {
  it('keySlot computes what CLUSTER KEYSLOT answers, hash tags included', async () => {
    const { keySlot } = await import('./redisTopology')
    const keys = ['', 'a', 'fusebox:services', 'fusebox:{shop}:req:10s:0', '{}x', 'x{}y{z}', '{user1000}.following', 'foo{bar}{zap}', 'ü{ß}', ...Array.from({ length: 200 }, (_, i) => `k${i}:${'x'.repeat(i % 17)}`)]
    for (const key of keys) expect(keySlot(key), key).toBe(Number(await check.cluster('KEYSLOT', key)))
  })
})

describe('breaker nudges when the master of the slot changes', () => {
  it('after a failover of the service slot (CLUSTER FAILOVER on its replica) a command still arrives by SSUBSCRIBE within 1 s and flushes land on the new master', { timeout: 90_000 }, async () => {
    // A cluster of its own: the shared one's topology must not change under other tests.
    const dir = mkdtempSync(join(tmpdir(), 'fusebox-sdk-failover-'))
    const own = await startRedisCluster({ dir, nodeTimeoutMs: 2000 })
    const client = openTestCluster(own.seeds)
    try {
      await client.ping()
      const prefix = freshPrefix()
      const keys = createKeySpace(prefix)
      const svc = 'svc0'
      const { c, errors } = collector({ redis: { cluster: own.seeds }, service: svc, instance: 'moving', prefix, reconcileIntervalMs: 600_000 })
      const b = c.breaker('search', async () => 'ok')
      await landed(c, errors)
      await expect(b.fire()).resolves.toBe('ok')
      const slot = Number(await client.cluster('KEYSLOT', keys.controlChannel(svc)))
      const nodes = ((await client.cluster('NODES')) as string).trim().split('\n').map((l) => l.split(' '))
      const portOf = (line: string[]) => Number((line[1] as string).split('@')[0]!.split(':')[1])
      const master = nodes.find((l) => l[2]!.includes('master') && l.slice(8).some((r) => inRange(r, slot)))!
      const replica = nodes.find((l) => l[3] === master[0])!
      const shardSubscribers = async (port: number) => {
        const node = new Redis(port, '127.0.0.1')
        try {
          const [, n] = (await node.call('PUBSUB', 'SHARDNUMSUB', keys.controlChannel(svc))) as [string, number]
          return Number(n)
        } finally {
          node.disconnect()
        }
      }
      await until(async () => (await shardSubscribers(portOf(master))) === 1)

      const failoverAt = performance.now()
      const replicaNode = new Redis(portOf(replica), '127.0.0.1')
      await replicaNode.cluster('FAILOVER')
      replicaNode.disconnect()
      await until(async () => (await own.role(portOf(replica))) === 'master', 20_000)
      const promotedMs = performance.now() - failoverAt
      // The sharded subscriber follows the slot to its new master.
      await until(async () => (await shardSubscribers(portOf(replica))) === 1, 20_000)
      const resubscribedMs = performance.now() - failoverAt
      const started = performance.now()
      const issued = await issueBreakerCommand(client, keys, { service: svc, breaker: 'search', command: 'forceOpen', reason: 'after failover', actor: 'tester' }, Date.now())
      await until(() => b.appliedGeneration === issued.generation, 5000)
      const appliedMs = performance.now() - started
      // Flushes land on the new master: what was recorded after the move (a flush joined in flight may predate it).
      const recordedAt = Date.now()
      for (let i = 0; i < 5; i++) c.recordRequest({ method: 'GET', route: '/after', status: 200, durationMs: 2 })
      const totKey = keys.requestTotals(svc, TIER_10S.name, bucketStart(recordedAt, TIER_10S.bucketMs))
      await until(async () => {
        await c.flush()
        return ((await readHash(totKey, client)).series[TOTAL_FIELD]?.count ?? 0) >= 5
      }, 10_000)
      const tot = await readHash(totKey, client)
      console.log(`[cluster failover] ${JSON.stringify({ promotedMs: Math.round(promotedMs), resubscribedMs: Math.round(resubscribedMs), appliedMs: Math.round(appliedMs), flushErrors: c.stats.flushErrors, errors: [...new Set(errors)].slice(0, 3) })}`)
      expect(appliedMs).toBeLessThan(1000)
      expect(b.state).toBe('FORCED_OPEN')
      expect(tot.series[TOTAL_FIELD]?.count).toBe(5)
      expect(c.stats.flushErrors).toBe(0)
    } finally {
      await Promise.all(opened.splice(0).map((c) => c.close()))
      await client.quit().catch(() => undefined)
      await own.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** True when a CLUSTER NODES slot entry (`5461-10922` or `42`) holds `slot`. */
function inRange(entry: string, slot: number): boolean {
  const [from, to] = entry.split('-').map(Number)
  return from !== undefined && slot >= from && slot <= (to ?? from)
}
