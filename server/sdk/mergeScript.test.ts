import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordValue } from '../../shared/histogram'
import { decodeSeries, emptySeries, encodeSeries, mergeSeriesInto, type SeriesValue } from '../../shared/seriesCodec'
import { testRedisUrl } from '../testing/redis'
import { MERGE_SERIES_LUA } from './mergeScript'

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

  it('merges in Redis exactly as the TypeScript merge does, over 200 random pairs', async () => {
    const key = `m${randomBytes(4).toString('hex')}`
    const p = redis.pipeline()
    const expected: SeriesValue[] = []
    for (let i = 0; i < 200; i++) {
      const a = randomSeries(2 * i + 1)
      const b = randomSeries(2 * i + 2)
      expected.push(mergeSeriesInto(mergeSeriesInto(emptySeries(), a), b))
      for (const v of [a, b]) p.eval(MERGE_SERIES_LUA, 1, key, String(Date.now() + 60_000), `f${i}`, Buffer.from(encodeSeries(v)))
    }
    await p.exec()
    const stored = await redis.hgetallBuffer(key)
    for (let i = 0; i < 200; i++) {
      const got = decodeSeries(stored[`f${i}`]!)
      const want = expected[i]!
      expect([got.count, got.errors, got.sumUs, ...got.statusCounts]).toEqual([want.count, want.errors, want.sumUs, ...want.statusCounts])
      expect(Array.from(got.histogram.counts)).toEqual(Array.from(want.histogram.counts))
    }
    expect(await redis.pttl(key)).toBeGreaterThan(50_000)
  })

  it('rejects bytes that are not a packed series', () => {
    expect(() => decodeSeries(new Uint8Array([0xc0]))).toThrow(/not a packed series/)
  })
})
