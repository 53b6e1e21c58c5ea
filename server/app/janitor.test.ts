import { describe, expect, it } from 'vitest'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import type { BreakerInstanceReport } from '../../shared/schemas'
import { collector, connected, freshPrefix, until, useTestRedis } from '../sdk/collectorTesting.test-helpers'
import { openTestRedis, scanKeys } from '../testing/redis'
import { BREAKER_RETENTION_MS, INSTANCE_RETENTION_MS, Janitor, PRUNE_KINDS, emptyPruneCounts, type PruneCounts } from './janitor'
import { countPruned, createMetrics } from './metrics'
import type { RedisClient } from '../sdk/redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Simulated time starts at the current real hour: Redis expiry is real time, so buckets written from here on stay. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR

/** A janitor on the test Redis whose clock the test moves (`at`). */
function janitorAt(keys: KeySpace, startMs: number, extra: { maxEntriesPerRun?: number; redis?: RedisClient; auditRetentionMs?: number } = {}) {
  const clock = { now: startMs }
  const errors: unknown[] = []
  const janitor = new Janitor({ redis: extra.redis ?? redis, keys, clock: () => clock.now, onError: (e) => errors.push(e), ...extra })
  return {
    errors,
    async at(ms: number): Promise<PruneCounts> {
      clock.now = ms
      return janitor.run()
    },
  }
}

/** A per-instance desired record, as a command for one instance writes it (server/app/breakerCommands.ts). */
async function writeDesired(keys: KeySpace, service: string, breaker: string, instance: string | undefined, mode: string, atMs: number): Promise<void> {
  await redis.hset(keys.breakerDesired(service, breaker, instance), {
    generation: '1', mode, command: mode === 'NORMAL' ? 'reset' : 'forceOpen', commandId: `c-${instance ?? 'all'}`,
    issuedAtMs: String(atMs), actor: 'op', reason: 'test', target: instance ?? '*',
  })
}

/** One life of an instance: a collector with breaker `payments` (and `extraBreakers`) flushed at `atMs`, then closed. */
async function live(prefix: string, service: string, instance: string, atMs: number, extraBreakers: string[] = []): Promise<void> {
  const c = collector(prefix, instance, { service, clock: () => atMs })
  for (const name of ['payments', ...extraBreakers]) c.breaker(name, async () => 'ok')
  c.recordRequest({ method: 'GET', route: '/items', status: 200, durationMs: 3 })
  c.recordCacheEvent('catalog', 'hits')
  await connected(c)
  await c.close()
}

async function existing(keyNames: string[]): Promise<number> {
  return keyNames.length === 0 ? 0 : redis.exists(...keyNames)
}

function sum(a: PruneCounts, b: PruneCounts): PruneCounts {
  const out = emptyPruneCounts()
  for (const k of PRUNE_KINDS) out[k] = a[k] + b[k]
  return out
}

describe('the janitor', () => {
  it('keeps a service that restarts under a new instance name 50 times bounded, and leaves one report per breaker once every instance is gone for 24 h', { timeout: 60_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const j = janitorAt(keys, T0)
    const names: string[] = []
    const state = keys.breakerState('shop', 'payments')
    const desiredKeys = () => names.map((n) => keys.breakerDesired('shop', 'payments', n))
    const totals = emptyPruneCounts()
    for (let i = 0; i < 50; i++) {
      const name = `shop-${i}` // a new name per restart, as the default `<hostname>-<pid>` gives
      names.push(name)
      await live(prefix, 'shop', name, T0 + i * HOUR)
      await writeDesired(keys, 'shop', 'payments', name, 'NORMAL', T0 + i * HOUR)
      const counts = await j.at(T0 + i * HOUR + 10 * MINUTE)
      for (const k of PRUNE_KINDS) totals[k] += counts[k]
      // Reports of the last 24 h stay (instances i-23 … i), older ones go with their desired keys.
      const recent = Math.min(i + 1, 24)
      expect([await redis.hlen(state), await existing(desiredKeys())], `after restart ${i}`).toEqual([recent, recent])
      expect(await redis.zcard(keys.instances('shop'))).toBeLessThanOrEqual(recent)
    }
    expect(totals.breaker_state_field).toBe(50 - 24)
    expect(totals.desired_key).toBe(50 - 24)

    // 25 h after the last instance stopped: one report left (the newest, the breaker's "last reported" mark).
    const before = { fields: await redis.hlen(state), members: await redis.zcard(keys.instances('shop')), desired: await existing(desiredKeys()) }
    const gone = await j.at(T0 + 49 * HOUR + INSTANCE_RETENTION_MS + HOUR)
    expect(Object.keys(await redis.hgetall(state))).toEqual(['shop-49'])
    expect(await redis.zcard(keys.instances('shop'))).toBe(0)
    expect(await existing(desiredKeys())).toBe(0)
    expect(gone).toMatchObject({ breaker_state_field: before.fields - 1, instance: before.members, desired_key: before.desired, breaker: 0, service: 0 })
    expect(await redis.smembers(keys.services())).toEqual(['shop']) // its data is retained: still listed
    expect(await redis.smembers(keys.breakers('shop'))).toEqual(['payments'])

    // 7 days after the last report: the breaker leaves the list, its keys are deleted; the service stays (30 d of data).
    const week = await j.at(T0 + 49 * HOUR + BREAKER_RETENTION_MS + HOUR)
    expect(week.breaker).toBe(1)
    expect(await redis.smembers(keys.breakers('shop'))).toEqual([])
    expect(await existing([state, keys.breakerDesired('shop', 'payments')])).toBe(0)
    expect(await redis.sismember(keys.services(), 'shop')).toBe(1)
    expect(j.errors).toEqual([])
  })

  it('removes a service from P:services with all its keys once it is gone and no tier retains its data, and not before', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const j = janitorAt(keys, T0)
    await live(prefix, 'gone', 'gone-1', T0)
    await live(prefix, 'kept', 'kept-1', T0)
    const serviceKeys = (svc: string) => [
      keys.instances(svc), keys.breakers(svc), keys.caches(svc), keys.breakerState(svc, 'payments'), keys.events(svc), keys.counters(svc),
    ]
    expect(await existing(serviceKeys('gone'))).toBeGreaterThanOrEqual(5)
    expect(await redis.exists(keys.counters('gone'))).toBe(1)

    // 29 days on: nobody is alive, but the 1 h tier still holds its totals — listed, history readable.
    const early = await j.at(T0 + 29 * DAY)
    expect(early.service).toBe(0)
    expect((await redis.smembers(keys.services())).sort()).toEqual(['gone', 'kept'])
    expect(await redis.smembers(keys.caches('gone'))).toEqual(['catalog'])

    // `kept` comes back on day 31 under the same name; `gone` does not.
    await live(prefix, 'kept', 'kept-1', T0 + 31 * DAY)
    const late = await j.at(T0 + 31 * DAY + MINUTE)
    expect(late.service).toBe(1)
    expect(await redis.smembers(keys.services())).toEqual(['kept'])
    expect(await existing(serviceKeys('gone'))).toBe(0)
    // What is left of `gone` expires on its own (bucket keys, the health hash; their TTLs are real time).
    for (const k of await scanKeys(redis, `${prefix}:{gone}:*`)) expect(await redis.pttl(k), k).toBeGreaterThan(0)
    expect(await redis.zrange(keys.instances('kept'), '0', '-1')).toEqual(['kept-1'])
    expect(j.errors).toEqual([])
  })

  it('keeps a service while its audit stream holds entries younger than the audit retention, trimming older ones', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const j = janitorAt(keys, T0, { auditRetentionMs: 60 * DAY })
    await live(prefix, 'audited', 'a-1', T0)
    await redis.xadd(keys.audit('audited'), `${T0 + DAY}-0`, 'action', 'forceOpen')
    await redis.xadd(keys.audit('audited'), `${T0 + 2 * DAY}-0`, 'action', 'release')
    expect((await j.at(T0 + 40 * DAY)).service).toBe(0) // data gone, audit still within 60 days
    expect(await redis.sismember(keys.services(), 'audited')).toBe(1)
    const mid = await j.at(T0 + 61.5 * DAY)
    expect([mid.audit_entry, mid.service, await redis.xlen(keys.audit('audited'))]).toEqual([1, 0, 1])
    const end = await j.at(T0 + 63 * DAY)
    expect([end.audit_entry, end.service, await redis.exists(keys.audit('audited'))]).toEqual([1, 1, 0])
    expect(await redis.smembers(keys.services())).toEqual([])
  })

  it('never prunes a live instance or service, even while it flushes during the run, and keeps a forced breaker', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const j = janitorAt(keys, T0)
    // An instance from 8 days ago reported `legacy` (left FORCED_OPEN by an operator) and `old` (NORMAL).
    await live(prefix, 'shop', 'ancient', T0 - 8 * DAY, ['legacy', 'old'])
    await writeDesired(keys, 'shop', 'legacy', undefined, 'FORCED_OPEN', T0 - 8 * DAY)
    let now = T0
    const c = collector(prefix, 'steady', { service: 'shop', clock: () => now })
    c.breaker('payments', async () => 'ok')
    c.recordCacheEvent('catalog', 'hits')
    await connected(c)
    await writeDesired(keys, 'shop', 'payments', 'steady', 'FORCED_OPEN', T0)
    // Ten simulated days, a flush every 6 h, the janitor running at the same moments as the flush.
    for (let step = 0; step <= 40; step++) {
      now = T0 + step * 6 * HOUR
      c.recordCacheEvent('catalog', 'hits')
      const [, counts] = await Promise.all([c.flush(), j.at(now)])
      expect(counts.service).toBe(0)
      expect(await redis.hexists(keys.breakerState('shop', 'payments'), 'steady')).toBe(1)
      expect(await redis.zscore(keys.instances('shop'), 'steady')).not.toBeNull()
      expect(await redis.exists(keys.breakerDesired('shop', 'payments', 'steady'))).toBe(1)
      expect(await redis.sismember(keys.caches('shop'), 'catalog')).toBe(1)
      expect(await redis.sismember(keys.services(), 'shop')).toBe(1)
    }
    // `old` went after 7 days without a report; `legacy` stays, forced (the next instance must obey it).
    expect((await redis.smembers(keys.breakers('shop'))).sort()).toEqual(['legacy', 'payments'])
    expect(await redis.hget(keys.breakerDesired('shop', 'legacy'), 'mode')).toBe('FORCED_OPEN')
    expect(c.stats.flushErrors).toBe(0)
    expect(j.errors).toEqual([])
  })

  it('two janitors running at once remove each entry once, count it once and fail neither', { timeout: 30_000 }, async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const N = 60
    // P:services is in its own hash slot: a pipeline holds the keys of one slot only on a cluster ({shop} below).
    await redis.sadd(keys.services(), 'shop')
    const p = redis.pipeline()
    p.sadd(keys.breakers('shop'), 'payments')
    for (let i = 0; i < N; i++) {
      const instance = `i-${i}`
      const report = { instance, state: 'CLOSED', appliedGeneration: 0, updatedAtMs: T0 + i * MINUTE } as Partial<BreakerInstanceReport>
      p.zadd(keys.instances('shop'), T0 + i * MINUTE, instance)
      p.hset(keys.breakerState('shop', 'payments'), instance, JSON.stringify(report))
      p.hset(keys.breakerDesired('shop', 'payments', instance), 'generation', '1', 'mode', 'NORMAL')
    }
    await p.exec()
    const other = openTestRedis()
    try {
      const a = janitorAt(keys, T0)
      const b = janitorAt(keys, T0, { redis: other })
      const when = T0 + 2 * DAY
      const counts = sum(...((await Promise.all([a.at(when), b.at(when)])) as [PruneCounts, PruneCounts]))
      expect(counts).toMatchObject({ breaker_state_field: N - 1, instance: N, desired_key: N })
      // No data was ever written for this service: once the last report is 7 days old it goes, counted once.
      const later = T0 + 9 * DAY
      const again = sum(...((await Promise.all([a.at(later), b.at(later)])) as [PruneCounts, PruneCounts]))
      expect(again).toMatchObject({ breaker_state_field: 0, instance: 0, breaker: 1, service: 1 })
      expect(await redis.smembers(keys.services())).toEqual([])
      expect([...a.errors, ...b.errors]).toEqual([])
    } finally {
      await other.quit()
    }
  })

  it('keeps an old report and its desired key while the instance has a current heartbeat (the script re-checks the score)', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const when = T0 + 3 * DAY
    await redis.sadd(keys.services(), 'shop') // its own slot; the rest share {shop}
    await redis
      .pipeline()
      .sadd(keys.breakers('shop'), 'payments')
      // `lagging` stamps its reports with a clock 3 days behind, but its heartbeat (the server's view) is current.
      .zadd(keys.instances('shop'), when, 'lagging')
      // `dead` has the newest report (kept as the breaker's mark), so only the heartbeat check protects `lagging`.
      .hset(keys.breakerState('shop', 'payments'), 'lagging', JSON.stringify({ updatedAtMs: T0 }), 'dead', JSON.stringify({ updatedAtMs: T0 + 1 }), 'older', JSON.stringify({ updatedAtMs: T0 - 1 }))
      .hset(keys.breakerDesired('shop', 'payments', 'lagging'), 'generation', '1', 'mode', 'FORCED_OPEN')
      .hset(keys.breakerDesired('shop', 'payments', 'dead'), 'generation', '1', 'mode', 'FORCED_OPEN')
      .exec()
    const counts = await janitorAt(keys, when).at(when)
    expect(counts).toMatchObject({ breaker_state_field: 1, desired_key: 1, instance: 0, breaker: 0, service: 0 })
    expect((await redis.hkeys(keys.breakerState('shop', 'payments'))).sort()).toEqual(['dead', 'lagging'])
    expect(await redis.exists(keys.breakerDesired('shop', 'payments', 'dead'))).toBe(0)
    expect(await redis.exists(keys.breakerDesired('shop', 'payments', 'lagging'))).toBe(1)
  })

  it('examines at most about maxEntriesPerRun entries per run and finishes over several runs', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await redis.sadd(keys.services(), 'shop') // its own slot; the rest share {shop}
    const p = redis.pipeline()
    p.sadd(keys.breakers('shop'), 'payments').zadd(keys.instances('shop'), T0 + 2 * DAY, 'now')
    for (let i = 0; i < 1000; i++) p.hset(keys.breakerState('shop', 'payments'), `i-${i}`, JSON.stringify({ updatedAtMs: T0 }))
    await p.exec()
    const j = janitorAt(keys, T0, { maxEntriesPerRun: 100 })
    const first = await j.at(T0 + 2 * DAY)
    expect(first.breaker_state_field).toBeGreaterThan(0)
    expect(first.breaker_state_field).toBeLessThanOrEqual(200)
    let removed = first.breaker_state_field
    for (let run = 0; run < 30 && (await redis.hlen(keys.breakerState('shop', 'payments'))) > 1; run++) {
      removed += (await j.at(T0 + 2 * DAY)).breaker_state_field
    }
    expect([removed, await redis.hlen(keys.breakerState('shop', 'payments'))]).toEqual([999, 1])
  })

  it('prunes the other services when one service holds a key of the wrong type, and reports it', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await redis.sadd(keys.services(), 'broken', 'empty')
    await redis.set(keys.instances('broken'), 'not a zset')
    const j = janitorAt(keys, T0)
    const counts = await j.at(T0)
    expect(counts.service).toBe(1) // `empty` has no instance and no data
    expect(await redis.smembers(keys.services())).toEqual(['broken'])
    expect(String(j.errors[0])).toContain('service broken')
  })

  it('runs on its own timer, hands every run to onPruned, and stops running once stopped', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    await redis.sadd(keys.services(), 'empty')
    const runs: PruneCounts[] = []
    const janitor = new Janitor({ redis, keys, clock: () => T0, onPruned: (c) => runs.push(c) })
    janitor.start(40)
    await until(() => runs.length >= 2)
    await janitor.stop()
    const seen = runs.length
    await new Promise((r) => setTimeout(r, 150))
    expect(runs.length).toBe(seen)
    expect(runs.reduce((n, c) => n + c.service, 0)).toBe(1) // `empty` (no instance, no data) went once
  })

  it('exposes what it pruned as fusebox_janitor_pruned_total{kind} on /metrics', async () => {
    const { registry } = createMetrics(redis, createKeySpace(freshPrefix()))
    const value = async (kind: string) =>
      (await registry.getSingleMetric('fusebox_janitor_pruned_total')?.get())?.values.find((v) => v.labels.kind === kind)?.value ?? 0
    const before = await value('breaker_state_field')
    countPruned({ ...emptyPruneCounts(), breaker_state_field: 7, service: 0 })
    expect((await value('breaker_state_field')) - before).toBe(7)
    expect(await registry.metrics()).toContain('# TYPE fusebox_janitor_pruned_total counter')
  })
})
