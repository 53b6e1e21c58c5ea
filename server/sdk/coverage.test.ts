import { describe, expect, it } from 'vitest'
import { TOTAL_FIELD, createKeySpace } from '../../shared/keys'
import { seededRandom } from '../../shared/random'
import { TIER_10S, TIER_1H, TIER_1M, bucketExpiresAt, bucketStart, type Tier } from '../../shared/timeBuckets'
import { openTestRedis, scanKeys, testTopology } from '../testing/redis'
import { collector, collectorThroughProxy, connected, flushUntilLanded, freshPrefix, open, useTestRedis } from './collectorTesting.test-helpers'
import { CoverageMarks } from './coverageMarks'
import { createCollector, type Collector } from './index'
import { TierOracle, comparable, readBucket, sumOfRoutes } from './tierOracle.test-helpers'
import { CLOSE_SPREAD_MS } from './seriesWriter'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const HOUR = 3_600_000
const COARSE = [TIER_1M, TIER_1H]
/** The writer closes (and rolls up) a 10 s bucket at the first sync this long after its start (seriesWriter.ts). */
const ROLL_UP_AFTER_MS = TIER_10S.bucketMs + 2500
/**
 * At a 1 s cadence an instance writes a roll-up's coarse values 1 + k flushes after it, k in [0, 5) fixed per process
 * (CLOSE_SPREAD_MS ÷ 1 s, seriesWriter.ts): so by the flush that follows, at most 4 s more.
 */
const COARSE_WRITE_LAG_MS = CLOSE_SPREAD_MS - 1000

/** Minute 37 (plus 400 ms) of an hour more than an hour ahead of real time: no bitmap expires during the test. */
function minute37(): number {
  return Math.ceil(Date.now() / HOUR) * HOUR + HOUR + 37 * 60_000 + 400
}

/** Offsets of the set bits of a coverage bitmap, ascending (Redis bit order: bit 0 is the first byte's top bit). */
async function bitsOf(key: string): Promise<number[]> {
  const bytes = await redis.getBuffer(key)
  const out: number[] = []
  if (bytes !== null) for (let i = 0; i < bytes.length * 8; i++) if (((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1) out.push(i)
  return out
}

/** The bitmaps `covered` (10 s bucket starts) must leave: coverage key → bit offsets, ascending, for both tiers. */
function expectedBitmaps(prefix: string, covered: Iterable<number>): Map<string, number[]> {
  const keys = createKeySpace(prefix)
  const out = new Map<string, number[]>()
  for (const start of [...covered].sort((a, b) => a - b)) {
    for (const tier of COARSE) {
      const coarse = bucketStart(start, tier.bucketMs)
      const key = keys.coverage('shop', tier.name, coarse)
      out.set(key, [...(out.get(key) ?? []), (start - coarse) / TIER_10S.bucketMs])
    }
  }
  return out
}

/** Every coverage bitmap of service `shop` under `prefix`: key → set bits. */
async function storedBitmaps(prefix: string): Promise<Map<string, number[]>> {
  const keys = (await scanKeys(redis, `${prefix}:{shop}:cov:*`)).sort()
  return new Map(await Promise.all(keys.map(async (k) => [k, await bitsOf(k)] as [string, number[]])))
}

/** A client of the test Redis that records every SETBIT queued on its pipelines (the collector borrows it). */
function recordingClient(): { client: RedisClient; setbits: string[] } {
  const client = openTestRedis()
  const setbits: string[] = []
  const pipeline = client.pipeline.bind(client)
  client.pipeline = ((commands?: unknown[][]) => {
    const p = pipeline(commands)
    const setbit = p.setbit.bind(p)
    p.setbit = ((key: string, offset: number, value: number) => {
      setbits.push(`${key} ${offset}`)
      return setbit(key, offset, value)
    }) as typeof p.setbit
    return p
  }) as typeof client.pipeline
  return { client, setbits }
}

describe('coverage bitmaps of the 1 min and 1 h tiers', () => {
  it('A collector started at minute 37 and flushing every second for 90 s sets exactly the bits of the 10 s buckets it flushed in, one SETBIT each, expiring with their bucket', async () => {
    const prefix = freshPrefix()
    const t0 = minute37()
    let now = t0
    const { client, setbits } = recordingClient()
    try {
      const c = collector(prefix, 'a', { redis: client, clock: () => now })
      await connected(c)
      const covered = new Set([bucketStart(t0, TIER_10S.bucketMs)])
      for (let k = 1; k <= 90; k++) {
        now = t0 + k * 1000
        if (k % 3 === 0) c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 5 })
        const before = setbits.length
        const fresh = !covered.has(bucketStart(now, TIER_10S.bucketMs))
        covered.add(bucketStart(now, TIER_10S.bucketMs))
        await c.flush()
        // One SETBIT per coarse tier when the flush is the first in a 10 s bucket, none otherwise.
        expect(setbits.length - before, `flush at +${k} s`).toBe(fresh ? 2 : 0)
      }
      expect(c.stats.flushErrors).toBe(0)
      const keys = createKeySpace(prefix)
      const hour = bucketStart(t0, HOUR)
      const expected = new Map([
        [keys.coverage('shop', '1m', hour + 37 * 60_000), [0, 1, 2, 3, 4, 5]],
        [keys.coverage('shop', '1m', hour + 38 * 60_000), [0, 1, 2, 3]],
        [keys.coverage('shop', '1h', hour), [222, 223, 224, 225, 226, 227, 228, 229, 230, 231]],
      ])
      expect(expectedBitmaps(prefix, covered)).toEqual(expected)
      expect(await storedBitmaps(prefix)).toEqual(expected)
      expect(setbits).toHaveLength(20)
      for (const [tier, start] of [[TIER_1M, hour + 37 * 60_000], [TIER_1M, hour + 38 * 60_000], [TIER_1H, hour]] as [Tier, number][]) {
        expect(await redis.call('PEXPIRETIME', keys.coverage('shop', tier.name, start)), `${tier.name} ${start}`).toBe(bucketExpiresAt(start, tier))
      }
      // Closing in the same 10 s bucket adds nothing: its final flush claims no coverage of its own.
      await c.close()
      expect(await storedBitmaps(prefix)).toEqual(expected)
    } finally {
      await client.quit()
    }
  })

  // Single node only: a TCP proxy in front of one node (collectorThroughProxy).
  it.skipIf(testTopology() === 'cluster')('While Redis is unreachable across several 10 s buckets, their marks wait: the first flush that lands sets every bit', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const t0 = minute37()
    let now = t0
    const { c, proxy } = await collectorThroughProxy(prefix, 'a', { clock: () => now })
    const covered = new Set([bucketStart(t0, TIER_10S.bucketMs)])
    const run = async (untilMs: number) => {
      while (now < untilMs) {
        now += 1000
        covered.add(bucketStart(now, TIER_10S.bucketMs))
        c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 5 })
        await c.flush()
      }
    }
    await run(t0 + 20_000)
    proxy.cut()
    await run(t0 + 65_000) // 37:30 … 38:00 are covered while Redis is unreachable
    const hour = bucketStart(t0, HOUR)
    expect(await bitsOf(keys.coverage('shop', '1h', hour))).toEqual([222, 223, 224])
    expect(await redis.exists(keys.coverage('shop', '1m', hour + 38 * 60_000))).toBe(0)
    proxy.restore()
    await flushUntilLanded(c)

    expect(await bitsOf(keys.coverage('shop', '1h', hour))).toEqual([222, 223, 224, 225, 226, 227, 228])
    expect(await storedBitmaps(prefix)).toEqual(expectedBitmaps(prefix, covered))
    expect(c.stats.droppedCoverageMarks).toBe(0)
    await c.close()
  })

  it('Marks beyond 10,000 waiting for Redis are dropped oldest first and counted in collector.stats.droppedCoverageMarks', async () => {
    let now = minute37()
    const c = createCollector({
      redis: 'redis://127.0.0.1:1',
      service: 'shop',
      instance: 'away',
      prefix: freshPrefix(),
      flushIntervalMs: 60_000,
      clock: () => now,
    })
    open.push(c)
    // Flushes 60 s apart (one interval: every 10 s bucket in between is covered): 1 + 6 · 870 buckets, 2 marks each.
    await c.flush()
    for (let i = 0; i < 870; i++) {
      now += 60_000
      await c.flush()
    }
    expect(c.stats.droppedCoverageMarks).toBe(2 * (1 + 6 * 870) - 10_000)
  })
})

describe('CoverageMarks', () => {
  /** A stand-in pipeline recording the commands queued on it. */
  function recorder(): { p: never; commands: string[] } {
    const commands: string[] = []
    const p = {
      setbit: (key: string, offset: number, value: number) => commands.push(`SETBIT ${key} ${offset} ${value}`),
      pexpireat: (key: string, at: number) => commands.push(`PEXPIREAT ${key} ${at}`),
    }
    return { p: p as never, commands }
  }

  it('keeps a mark until a flush carrying it is confirmed, sends each once, and lets go of marks whose bitmap has expired', () => {
    const keys = createKeySpace('u')
    const marks = new CoverageMarks(keys, 'shop', 4)
    const hour = 100 * HOUR
    const t = hour + 61_000
    marks.mark(bucketStart(t, TIER_10S.bucketMs))
    marks.mark(bucketStart(t, TIER_10S.bucketMs)) // the same bucket again: nothing new
    const exp1m = bucketExpiresAt(hour + 60_000, TIER_1M)
    const exp1h = bucketExpiresAt(hour, TIER_1H)
    const first = [
      `SETBIT u:{shop}:cov:1m:${hour + 60_000} 0 1`,
      `SETBIT u:{shop}:cov:1h:${hour} 6 1`,
      `PEXPIREAT u:{shop}:cov:1m:${hour + 60_000} ${exp1m}`,
      `PEXPIREAT u:{shop}:cov:1h:${hour} ${exp1h}`,
    ]
    let r = recorder()
    marks.plan(r.p, t)(false)
    expect(r.commands).toEqual(first)
    r = recorder()
    const commit = marks.plan(r.p, t)
    expect(r.commands).toEqual(first)
    marks.mark(hour + 70_000) // arrives while that flush is in flight: stays pending after its commit
    commit(true)
    expect(marks.pendingCount).toBe(2)
    // Beyond the cap (4 marks) the oldest go, counted.
    marks.mark(hour + 80_000)
    marks.mark(hour + 90_000)
    expect([marks.pendingCount, marks.dropped]).toEqual([4, 2])
    r = recorder()
    marks.plan(r.p, t)(true)
    expect(r.commands.filter((c) => c.startsWith('SETBIT'))).toEqual([
      `SETBIT u:{shop}:cov:1m:${hour + 60_000} 2 1`,
      `SETBIT u:{shop}:cov:1h:${hour} 8 1`,
      `SETBIT u:{shop}:cov:1m:${hour + 60_000} 3 1`,
      `SETBIT u:{shop}:cov:1h:${hour} 9 1`,
    ])
    r = recorder()
    marks.plan(r.p, t)(true)
    expect(r.commands).toEqual([]) // nothing new: nothing sent
    // A mark whose bitmap expired by the time it could be sent is let go (not counted as dropped).
    marks.mark(hour + 100_000)
    r = recorder()
    marks.plan(r.p, bucketExpiresAt(hour, TIER_1H))(false)
    expect([r.commands, marks.pendingCount, marks.dropped]).toEqual([[], 0, 2])
  })
})

describe('coarse tiers written in step', () => {
  it('After every flush, each 1 min and 1 h bucket holds its routes and its total in step (they add up), and a rolled-up 10 s bucket is in both within its spread (by the next flush, plus at most 4 at a 1 s cadence)', async () => {
    const prefix = freshPrefix()
    // Across an hour boundary and several minutes, more than an hour ahead of real time (nothing expires).
    const t0 = Math.ceil(Date.now() / HOUR) * HOUR + 2 * HOUR - 150_000 + 300
    let now = t0
    const c: Collector = collector(prefix, 'a', { clock: () => now })
    await connected(c)
    const random = seededRandom(12)
    const oracle = new TierOracle()
    const routes = ['/a', '/b/:id', '/c', '/d', '/e/:x/:y']
    const count10 = (start: number) => oracle.expected('tot', TIER_10S, start)[TOTAL_FIELD]?.count ?? 0
    let previousFlushMs = now
    let checked = 0
    while (now < t0 + 240_000) {
      now += 1000
      for (let i = Math.floor(random() * 8); i > 0; i--) {
        const route = routes[Math.floor(random() * routes.length)] as string
        const status = random() < 0.2 ? 503 : 200
        const durationMs = Math.round((1 + random() ** 2 * 400) * 1000) / 1000
        c.recordRequest({ method: 'GET', route, status, durationMs })
        oracle.record(now, 'GET', route, status, durationMs)
      }
      await c.flush()
      for (const tier of COARSE) {
        for (const start of new Set([bucketStart(now, tier.bucketMs), bucketStart(now - tier.bucketMs, tier.bucketMs)])) {
          if (start + tier.bucketMs <= t0) continue
          const where = `${tier.name} ${start} after the flush at +${(now - t0) / 1000} s`
          const [req, tot] = await Promise.all([readBucket(redis, prefix, 'req', tier, start), readBucket(redis, prefix, 'tot', tier, start)])
          const total = tot.series[TOTAL_FIELD] ?? comparable(undefined)
          expect(sumOfRoutes(req), where).toEqual(total)
          // Fresh: every 10 s bucket rolled up by an earlier flush is written within this instance's spread; none that
          // has not closed yet is.
          let written = 0
          let closed = 0
          for (let s = start; s < start + tier.bucketMs; s += TIER_10S.bucketMs) {
            if (s + ROLL_UP_AFTER_MS + COARSE_WRITE_LAG_MS <= previousFlushMs) written += count10(s)
            if (s + ROLL_UP_AFTER_MS <= now) closed += count10(s)
          }
          expect(total.count, where).toBeGreaterThanOrEqual(written)
          expect(total.count, where).toBeLessThanOrEqual(closed)
          if (written > 0) checked++
        }
      }
      previousFlushMs = now
    }
    expect(c.stats.flushErrors).toBe(0)
    expect(checked).toBeGreaterThan(300)
  })
})
