import { describe, expect, it } from 'vitest'
import { bucketCoveredMs, coveredMs, errorRate, throughputRps } from './figures'

describe('figures', () => {
  it('count a bucket as covered by its whole width once it ended, by its elapsed part while open, not at all before it starts', () => {
    expect(bucketCoveredMs(10_000, 10_000, 25_000)).toBe(10_000)
    expect(bucketCoveredMs(10_000, 10_000, 13_500)).toBe(3_500)
    expect(bucketCoveredMs(10_000, 10_000, 10_000)).toBe(0)
    expect(bucketCoveredMs(10_000, 10_000, 10_000.5)).toBe(1)
  })

  it('cover only the buckets that have data', () => {
    expect(coveredMs([0, 10_000, 20_000, 30_000], [true, false, true, true], 10_000, 35_000)).toBe(25_000)
    expect(coveredMs([0, 10_000], [false, false], 10_000, 35_000)).toBe(0)
  })

  it('give no throughput without coverage and no error rate without requests — never a fake zero', () => {
    expect(throughputRps(0, 0)).toBeNull()
    expect(throughputRps(0, 10_000)).toBe(0)
    expect(throughputRps(250, 25_000)).toBe(10)
    expect(errorRate(0, 0)).toBeNull()
    expect(errorRate(5, 200)).toBe(0.025)
  })
})
