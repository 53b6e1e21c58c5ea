import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordValue } from '../../shared/histogram'
import { testRedisUrl } from '../testing/redis'
import { FOLD_SERIES_LUA } from './mergeScript'
import { SeriesAccumulator } from './seriesAccumulator'
import { encodePacked } from './seriesEncoder'
import { decodeSeries, emptySeries, encodeSeries, mergeSeriesInto, type SeriesValue } from './seriesOracle.test-helpers'

let redis: Redis
beforeAll(() => {
  redis = new Redis(testRedisUrl())
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

  it('rejects bytes that are not a packed series', () => {
    expect(() => decodeSeries(new Uint8Array([0xc0]))).toThrow(/not a packed series/)
  })
})
