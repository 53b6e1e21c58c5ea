import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordValue } from '../../shared/histogram'
import { openTestRedis, testRedisUrl, testTopology } from '../testing/redis'
import type { RedisClient } from './redisTopology'
import { FOLD_SERIES_LUA } from './mergeScript'
import { SeriesAccumulator } from './seriesAccumulator'
import { encodePacked } from './seriesEncoder'
import { decodeSeries, emptySeries, encodeSeries, mergeSeriesInto, type SeriesValue } from './seriesOracle.test-helpers'

let redis: RedisClient
beforeAll(() => {
  redis = openTestRedis()
})
afterAll(async () => {
  await redis.quit()
})

/** A random series: latencies around a random median so ranges overlap, touch, or are disjoint. */
function randomSeries(seed: number): SeriesValue {
  let x = seed
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648)
  const v = emptySeries()
  const n = Math.floor(rand() * 300)
  const median = Math.exp(rand() * 8)
  for (let i = 0; i < n; i++) {
    const status = rand() < 0.1 ? 503 : 200
    v.count++
    v.statusCounts[status === 503 ? 4 : 1]++
    if (status === 503) v.errors++
    const d = median * Math.exp((rand() - 0.5) * 2)
    v.sumUs += Math.round(d * 1000)
    recordValue(v.histogram, d)
  }
  return v
}

describe('series codec and the Redis merge script', () => {
  it('round-trips a packed series value, empty ones included', () => {
    for (const v of [emptySeries(), randomSeries(1), randomSeries(99)]) {
      const back = decodeSeries(encodeSeries(v))
      expect(back.count).toBe(v.count)
      expect(back.statusCounts).toEqual(v.statusCounts)
      expect(Array.from(back.histogram.counts)).toEqual(Array.from(v.histogram.counts))
    }
  })

  it('folds in Redis exactly as the TypeScript merge adds, over 200 random pairs, and deletes the own field', async () => {
    const key = `m${randomBytes(4).toString('hex')}`
    const expected: SeriesValue[] = []
    const setup = redis.pipeline()
    const fold = redis.pipeline()
    for (let i = 0; i < 200; i++) {
      const shared = randomSeries(2 * i + 1)
      const own = randomSeries(2 * i + 2)
      expected.push(mergeSeriesInto(mergeSeriesInto(emptySeries(), shared), own))
      if (shared.count > 0) setup.hset(key, `f${i}`, Buffer.from(encodeSeries(shared)))
      setup.hset(key, `f${i}\tme`, Buffer.from(encodeSeries(own)))
      fold.eval(FOLD_SERIES_LUA, 1, key, String(Date.now() + 60_000), `f${i}\tme`, `f${i}`)
    }
    await setup.exec()
    await fold.exec()
    await redis.eval(FOLD_SERIES_LUA, 1, key, String(Date.now() + 60_000), 'f0\tme', 'f0') // a repeated fold is a no-op
    const stored = await redis.hgetallBuffer(key)
    expect(Object.keys(stored).filter((f) => f.includes('\t'))).toEqual([])
    for (let i = 0; i < 200; i++) {
      const got = decodeSeries(stored[`f${i}`]!)
      const want = expected[i]!
      expect([got.count, got.errors, got.sumUs, ...got.statusCounts]).toEqual([want.count, want.errors, want.sumUs, ...want.statusCounts])
      expect(Array.from(got.histogram.counts)).toEqual(Array.from(want.histogram.counts))
    }
    expect(await redis.pttl(key)).toBeGreaterThan(50_000)
  })

  it('grows an accumulated value in both directions as deltas arrive', () => {
    const p = new SeriesAccumulator()
    const delta = (values: number[]) => {
      const v = emptySeries()
      let lo = Infinity
      let hi = -1
      for (const d of values) {
        const i = recordValue(v.histogram, d)
        lo = Math.min(lo, i)
        hi = Math.max(hi, i)
        v.count++
      }
      return { ...v, lo, hi }
    }
    p.addDelta(delta([10, 12]))
    p.addDelta(delta([1, 500]))
    p.addDelta(delta([11]))
    const back = decodeSeries(encodePacked(p.toPacked()))
    const ref = emptySeries()
    for (const d of [10, 12, 1, 500, 11]) recordValue(ref.histogram, d)
    expect(back.count).toBe(5)
    expect(Array.from(back.histogram.counts)).toEqual(Array.from(ref.histogram.counts))
  })

  // Single node only: CONFIG SET busy-reply-threshold and SCRIPT KILL act on one server (the script's bound does not
  // depend on the topology).
  it.skipIf(testTopology() === 'cluster')('folds into a corrupt shared value (first-bucket offset 1e9 or Infinity) in bounded time: a second connection gets PING answered within 100 ms throughout, never BUSY', async () => {
    const other = new Redis(testRedisUrl())
    const [, threshold = '5000'] = (await redis.config('GET', 'busy-reply-threshold')) as string[]
    // Redis answers BUSY once a script has run this long (default 5 s): short, so a looping script shows at once.
    await redis.config('SET', 'busy-reply-threshold', '50')
    const own = randomSeries(7)
    try {
      for (const first of [1e9, Number.POSITIVE_INFINITY]) {
        const key = `m${randomBytes(4).toString('hex')}`
        await redis.hset(key, 'f', Buffer.from(encodePacked([1, 1, 0, 1000, 0, 1, 0, 0, 0, first, 1])), 'f\tme', Buffer.from(encodeSeries(own)))
        let settled = false
        const fold = redis.eval(FOLD_SERIES_LUA, 1, key, String(Date.now() + 60_000), 'f\tme', 'f').finally(() => (settled = true))
        fold.catch(() => {}) // inspected below
        const pings: number[] = []
        const errors: string[] = []
        const until = Date.now() + 500
        while (Date.now() < until && !(settled && pings.length >= 3)) {
          const t = performance.now()
          try {
            await other.ping()
          } catch (e) {
            errors.push(String(e))
          }
          pings.push(performance.now() - t)
        }
        // Clean up after a looping script (only the code before the fix loops) so the shared Redis is usable again.
        while (!settled) {
          await other.script('KILL').catch(() => {})
          await new Promise((r) => setTimeout(r, 20))
        }
        expect(errors).toEqual([])
        expect(Math.max(...pings)).toBeLessThan(100)
        await expect(fold).resolves.toEqual([1, 0])
        // The corrupt shared value is replaced by the incoming one; the own field is gone (docs/decisions/014).
        const stored = await redis.hgetallBuffer(key)
        expect(Object.keys(stored)).toEqual(['f'])
        expect(decodeSeries(stored.f!).count).toBe(own.count)
      }
    } finally {
      await redis.config('SET', 'busy-reply-threshold', threshold)
      await other.quit()
    }
  })

  it('drops an own value it cannot read and leaves the shared value as it was', async () => {
    const key = `m${randomBytes(4).toString('hex')}`
    const shared = Buffer.from(encodeSeries(randomSeries(3)))
    // Not MessagePack first: the script before the fix stopped there with an error (and never reached the 1e9 offset,
    // which it would loop on).
    const bad = [new Uint8Array([0xc1]), new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), new Uint8Array(20_000), encodePacked([1, 1, 0, 1000, 0, 1, 0, 0, 0, 1e9, 1])]
    for (const [i, b] of bad.entries()) await redis.hset(key, 'f', shared, `f\t${i}`, Buffer.from(b))
    const args = bad.flatMap((_, i) => [`f\t${i}`, 'f'])
    expect(await redis.eval(FOLD_SERIES_LUA, 1, key, String(Date.now() + 60_000), ...args)).toEqual([0, bad.length])
    const stored = await redis.hgetallBuffer(key)
    expect(Object.keys(stored)).toEqual(['f'])
    expect(stored.f!.equals(shared)).toBe(true)
  })

  it('rejects bytes that are not a packed series', () => {
    expect(() => decodeSeries(new Uint8Array([0xc0]))).toThrow(/not a packed series/)
  })
})
