import { describe, expect, it } from 'vitest'
import { BUCKET_COUNT, MAX_TRACKED_MS, RELATIVE_ACCURACY, bucketIndex, bucketValue, createHistogram, percentile, recordValue } from './histogram'
import { mergeInto, mergeSparseInto, toSparse } from './histogramOracle.test-helpers'
import { seededRandom as rng, standardNormal as normal } from './random'

const N = 1_000_000
const PS = [50, 95, 99, 99.9]

const DISTRIBUTIONS: Record<string, (rand: () => number) => number> = {
  // Typical API latency: median ~ e^3.5 ≈ 33 ms, long right tail.
  lognormal: (rand) => Math.exp(3.5 + 0.8 * normal(rand)),
  // Cache hits around 2 ms and misses around 180 ms, 30% misses.
  bimodal: (rand) => (rand() < 0.7 ? Math.exp(Math.log(2) + 0.3 * normal(rand)) : Math.exp(Math.log(180) + 0.4 * normal(rand))),
  // Pareto, x_m = 5 ms, α = 1.5: heavy tail.
  pareto: (rand) => 5 / Math.pow(1 - rand(), 1 / 1.5),
}

function exactPercentile(sorted: Float64Array, p: number): number {
  return sorted[Math.floor((p / 100) * (sorted.length - 1))] as number
}

describe('histogram', () => {
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    it(`reports p50/p95/p99/p99.9 within 2% of the exact values on 1,000,000 ${name} samples`, () => {
      const rand = rng(42)
      const samples = new Float64Array(N)
      const h = createHistogram()
      for (let i = 0; i < N; i++) {
        const v = draw(rand)
        samples[i] = v
        recordValue(h, v)
      }
      samples.sort()
      for (const p of PS) {
        const exact = exactPercentile(samples, p)
        const estimate = percentile(h, p) as number
        expect(Math.abs(estimate - exact) / exact, `p${p}: exact ${exact}, estimate ${estimate}`).toBeLessThanOrEqual(0.02)
      }
      expect(h.count).toBe(N)
    })
  }

  it('keeps every value within the relative accuracy of its bucket representative', () => {
    for (let v = 0.002; v < MAX_TRACKED_MS; v *= 1.37) {
      const rep = bucketValue(bucketIndex(v))
      expect(Math.abs(rep - v) / v).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-12)
    }
  })

  it('gives the same percentiles when three partial histograms are merged as when one saw every sample', () => {
    const rand = rng(7)
    const whole = createHistogram()
    const parts = [createHistogram(), createHistogram(), createHistogram()]
    for (let i = 0; i < 30_000; i++) {
      const v = DISTRIBUTIONS.lognormal!(rand)
      recordValue(whole, v)
      recordValue(parts[i % 3]!, v)
    }
    const merged = createHistogram()
    for (const part of parts) mergeInto(merged, part)
    const viaSparse = createHistogram()
    for (const part of parts) mergeSparseInto(viaSparse, toSparse(part))
    for (const p of PS) {
      expect(percentile(merged, p)).toBe(percentile(whole, p))
      expect(percentile(viaSparse, p)).toBe(percentile(whole, p))
    }
    expect(merged.count).toBe(whole.count)
  })

  it('puts zero, negative and NaN durations in bucket 0 and clamps huge ones into the last bucket', () => {
    expect(bucketIndex(0)).toBe(0)
    expect(bucketIndex(-5)).toBe(0)
    expect(bucketIndex(Number.NaN)).toBe(0)
    expect(bucketIndex(1e12)).toBe(BUCKET_COUNT - 1)
    const h = createHistogram()
    recordValue(h, -1)
    expect(percentile(h, 50)).toBe(0)
  })

  it('returns null for the percentile of an empty histogram and rejects percentiles outside 0–100', () => {
    expect(percentile(createHistogram(), 99)).toBeNull()
    expect(() => percentile(createHistogram(), 101)).toThrow(RangeError)
    expect(() => percentile(createHistogram(), 0.99 * -1)).toThrow(RangeError)
  })

  it('ignores sparse entries outside the layout instead of corrupting counts', () => {
    const h = createHistogram()
    mergeSparseInto(h, { [-1]: 5, [BUCKET_COUNT + 10]: 5, 10: 2 })
    expect(h.count).toBe(2)
  })
})
