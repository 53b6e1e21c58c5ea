import { describe, expect, it } from 'vitest'
import { TIER_10S, TIER_1H, TIER_1M } from '../../../shared/timeBuckets'
import { bucketCoverage, COARSE_DATA_LAG_MS, routeReadPlan } from './series'
import { windowBuckets } from './windowRead'

const H = 3_600_000 * 400_000 // an hour boundary
/** A bitmap with the given bits set (SETBIT order: bit 0 is the first byte's top bit). */
function bits(...set: number[]): Buffer {
  const b = Buffer.alloc(45)
  for (const i of set) b[i >> 3] = (b[i >> 3] as number) | (0x80 >> (i & 7))
  return b
}

describe('bucket coverage', () => {
  it('counts a coarse bucket by the 10 s parts its bitmap marks, so a fleet started at minute 37 is not divided by the hour', () => {
    const now = H + 2 * 3_600_000
    expect(bucketCoverage(TIER_1H, H, true, bits(222, 223, 224, 359), now)).toEqual({ coveredMs: 40_000, firstMs: H + 222 * 10_000 })
    expect(bucketCoverage(TIER_1M, H, true, bits(0, 5), now)).toEqual({ coveredMs: 20_000, firstMs: H })
  })

  it('leaves out parts younger than the coarse data lag, but always counts the first, and the open part by its elapsed time', () => {
    const now = H + 222 * 10_000 + 4_000 + COARSE_DATA_LAG_MS
    // Part 222 is old enough; 223 is not yet (its data may still be on its way).
    expect(bucketCoverage(TIER_1H, H, true, bits(222, 223), now)).toEqual({ coveredMs: 10_000, firstMs: H + 222 * 10_000 })
    const young = H + 100 * 10_000 + 4_000
    expect(bucketCoverage(TIER_1H, H, true, bits(100), young)).toEqual({ coveredMs: 4_000, firstMs: H + 100 * 10_000 })
  })

  it('counts a bucket with totals but no bitmap whole (written before bitmaps), and a bucket without totals not at all', () => {
    const now = H + 2 * 3_600_000
    expect(bucketCoverage(TIER_1H, H, true, null, now)).toEqual({ coveredMs: 3_600_000, firstMs: H })
    expect(bucketCoverage(TIER_1H, H, false, bits(1, 2, 3), now)).toEqual({ coveredMs: 0, firstMs: null })
    expect(bucketCoverage(TIER_10S, H, true, null, H + 4_000)).toEqual({ coveredMs: 4_000, firstMs: H })
  })
})

describe('route read plan', () => {
  it('reads whole, complete minutes of a 10 s window from the 1 min tier and the edges and the live minute from 10 s buckets', () => {
    const now = H + 10 * 60_000 + 20_000 // 10 min 20 s into an hour
    const w = windowBuckets(now, 5 * 60_000) // 10 s tier, from 5:20 to 10:20
    const plan = routeReadPlan(w, now)
    expect(w.tier).toBe(TIER_10S)
    // 5:20–5:50 as 10 s buckets, minutes 6–8 whole, minute 9 not complete yet (ended 20 s ago), then 10:00–10:20.
    expect(plan.filter(([t]) => t === TIER_1M).map(([, s]) => (s - H) / 60_000)).toEqual([6, 7, 8])
    expect(plan.filter(([t]) => t === TIER_10S)).toHaveLength(4 + 6 + 3)
    // Every 10 s bucket of the window is read exactly once, one way or the other.
    const covered = plan.flatMap(([t, s]) => (t === TIER_1M ? [0, 1, 2, 3, 4, 5].map((k) => s + k * 10_000) : [s]))
    expect(covered).toEqual(w.starts)
  })
})
