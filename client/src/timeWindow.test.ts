import { describe, expect, it } from 'vitest'
import { dataSinceToShow, pauseMoment, seriesBucketMs, tierBucketMs, windowStartMs } from './timeWindow'

const T0 = Date.UTC(2026, 0, 2, 14, 0, 0)

describe('the window a page shows', () => {
  it('a pause freezes the window at the start of a 10 s bucket that is 5–15 s old, so all its buckets are final', () => {
    expect(pauseMoment(T0 + 23_400)).toBe(T0 + 10_000)
    expect(pauseMoment(T0 + 25_000)).toBe(T0 + 20_000)
    expect(pauseMoment(T0 + 24_999)).toBe(T0 + 10_000)
    for (let dt = 0; dt < 20_000; dt += 700) {
      const m = pauseMoment(T0 + dt)
      expect(m % 10_000).toBe(0)
      expect(T0 + dt - m).toBeGreaterThanOrEqual(5_000)
      expect(T0 + dt - m).toBeLessThan(15_000)
    }
  })

  it('a window starts windowMs before its absolute end, or before the time its data was read when live', () => {
    expect(windowStartMs(T0, T0 + 99_999, 900_000)).toBe(T0 - 900_000)
    expect(windowStartMs(undefined, T0, 900_000)).toBe(T0 - 900_000)
  })

  it('says "data since" only when the first data comes more than one bucket after the window start', () => {
    const start = T0 - 900_000
    expect(dataSinceToShow(T0 - 300_000, start, 10_000)).toBe(T0 - 300_000)
    expect(dataSinceToShow(start + 10_000, start, 10_000)).toBeNull() // within one bucket: covered from its start
    expect(dataSinceToShow(start + 10_001, start, 10_000)).toBe(start + 10_001)
    expect(dataSinceToShow(start - 5_000, start, 10_000)).toBeNull() // first bucket straddles the start
    expect(dataSinceToShow(null, start, 10_000)).toBeNull() // no data at all: the figures say "No data"
  })

  it('knows the bucket width of a tier by name and of a series by its step', () => {
    expect(tierBucketMs('10s')).toBe(10_000)
    expect(tierBucketMs('1m')).toBe(60_000)
    expect(tierBucketMs('1h')).toBe(3_600_000)
    expect(tierBucketMs('nope')).toBe(10_000)
    expect(seriesBucketMs([{ t: T0 }, { t: T0 + 60_000 }, { t: T0 + 120_000 }])).toBe(60_000)
    expect(seriesBucketMs([{ t: T0 }])).toBe(10_000)
    expect(seriesBucketMs([], 3_600_000)).toBe(3_600_000)
  })
})
