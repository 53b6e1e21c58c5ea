/**
 * FlushEffects and FLUSH_EFFECTS_LUA against the real test redis-server (docs/decisions/015): a batch resent has its
 * effect once; batches apply in order and a guard ahead of them skips only what it covers; a part Redis refuses is
 * dropped and counted while the rest of the batch applies.
 */
import { describe, expect, it } from 'vitest'
import { cacheField, createKeySpace } from '../../shared/keys'
import type { EventRecord, RequestLogEntry } from '../../shared/streamEntries'
import { TIER_10S, TIER_1M, bucketStart } from '../../shared/timeBuckets'
import { freshPrefix, useTestRedis } from './collectorTesting.test-helpers'
import { FlushEffects, type PipelineResults } from './flushEffects'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const OWN_TAG = 'i1#boot'
const NOW = Date.now()

function setUp() {
  const prefix = freshPrefix()
  const keys = createKeySpace(prefix)
  const stats = { droppedEvents: 0, droppedCacheEvents: 0, droppedRequestLogEntries: 0, failedFlushCommands: 0, duplicateFlushBatches: 0, droppedCounterIncrements: 0 }
  const errors: string[] = []
  const effects = new FlushEffects({ keys, service: 'shop', ownTag: OWN_TAG, stats, reportError: (e) => void errors.push(String(e)) })
  return { keys, stats, errors, effects }
}

function event(i: number): EventRecord {
  return { atMs: NOW + i, type: 'transition', breaker: 'payments', instance: 'i1', from: 'CLOSED', to: 'OPEN', reason: `r${i}`, generation: null }
}

function logEntry(i: number): RequestLogEntry {
  return { atMs: NOW + i, method: 'GET', route: '/a', status: 500, durationMs: 1, instance: 'i1', errorType: '500', kind: 'error' }
}

/** Plans `effects` into a fresh pipeline (with `log`) and returns it with its settle function, not yet executed. */
function planned(effects: FlushEffects, log: RequestLogEntry[] = []) {
  const p = redis.pipeline()
  const settle = effects.plan(p, NOW, log)
  return { exec: async () => settle((await p.exec()) as PipelineResults) }
}

describe('FlushEffects', () => {
  it('A batch sent twice (abandoned, then resent before the first answer) has its effect once; the second copy is counted as a duplicate', async () => {
    const { keys, stats, effects } = setUp()
    for (let i = 0; i < 3; i++) effects.addEvent(event(i))
    effects.countCacheEvent('catalog', 'hits', 5)
    const first = planned(effects, [logEntry(1), logEntry(2)])
    const resend = planned(effects) // the batch is still in doubt: resent as it is
    expect(effects.inDoubtCount).toBe(1)
    await first.exec()
    await resend.exec()
    expect(await redis.xlen(keys.events('shop'))).toBe(3)
    expect(await redis.xlen(keys.requestLog('shop'))).toBe(2)
    const field = cacheField('catalog', 'hits')
    expect(await redis.hget(keys.cacheBucket('shop', TIER_10S.name, bucketStart(NOW, TIER_10S.bucketMs)), field)).toBe('5')
    expect(await redis.hget(keys.cacheBucket('shop', TIER_1M.name, bucketStart(NOW, TIER_1M.bucketMs)), field)).toBe('5')
    expect([effects.inDoubtCount, effects.pending, stats.duplicateFlushBatches]).toEqual([0, false, 1])
    expect(await redis.pttl(keys.flushSequence('shop', OWN_TAG))).toBeGreaterThan(23 * 3_600_000)
  })

  it('Batches in doubt go in one script, oldest first: a guard already past the first skips only it, and a guard behind them (Redis restored) lets them apply', async () => {
    const { keys, stats, effects } = setUp()
    effects.addEvent(event(1))
    planned(effects) // batch 1: sent, never answered
    effects.addEvent(event(2))
    const both = planned(effects) // batch 1 again, and batch 2
    expect(effects.inDoubtCount).toBe(2)
    // Batch 1 had landed (its answer was lost): the guard says 1.
    await redis.set(keys.flushSequence('shop', OWN_TAG), '1')
    await both.exec()
    const reasons = async () => (await redis.xrange(keys.events('shop'), '-', '+')).map(([, f]) => f[f.indexOf('reason') + 1])
    expect(await reasons()).toEqual(['r2'])
    expect(stats.duplicateFlushBatches).toBe(1)

    // A restored Redis whose guard is older than what this process sends: the new batch still applies.
    await redis.set(keys.flushSequence('shop', OWN_TAG), '0')
    effects.addEvent(event(3))
    await planned(effects).exec()
    expect(await reasons()).toEqual(['r2', 'r3'])
    expect(await redis.get(keys.flushSequence('shop', OWN_TAG))).toBe('3')
  })

  it('A part Redis refuses (a cache bucket of the wrong type) is dropped and counted; the rest of the batch applies once', async () => {
    const { keys, stats, errors, effects } = setUp()
    const planted = keys.cacheBucket('shop', TIER_10S.name, bucketStart(NOW, TIER_10S.bucketMs))
    await redis.set(planted, 'not a hash')
    effects.addEvent(event(1))
    effects.countCacheEvent('catalog', 'misses', 2)
    await planned(effects, [logEntry(1)]).exec()
    await planned(effects).exec() // nothing left to send: no second effect
    expect(await redis.get(planted)).toBe('not a hash')
    expect(await redis.xlen(keys.events('shop'))).toBe(1)
    expect(await redis.xlen(keys.requestLog('shop'))).toBe(1)
    expect(await redis.hget(keys.cacheBucket('shop', TIER_1M.name, bucketStart(NOW, TIER_1M.bucketMs)), cacheField('catalog', 'misses'))).toBe('2')
    // The HINCRBY on the planted key (its PEXPIREAT works on any type).
    expect(stats.failedFlushCommands).toBe(1)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/WRONGTYPE/)
    expect(effects.pending).toBe(false)
  })
})
