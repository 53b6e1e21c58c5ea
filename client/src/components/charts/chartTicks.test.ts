import { describe, expect, it } from 'vitest'
import { niceStep, timeTicks, valueTicks } from './chartTicks'

/** Whether x is 1, 2 or 5 × 10^k (or 0). */
const is125 = (x: number) => x === 0 || [1, 2, 5].some((m) => Math.abs(x / (m * 10 ** Math.floor(Math.log10(x / m) + 1e-9)) - 1) < 1e-9)

describe('valueTicks', () => {
  it('puts every tick on a 1-2-5 step from 0, the top at or above the data', () => {
    for (const max of [0.0004, 0.013, 0.195, 0.7, 1, 6.5, 19.5, 130, 195, 999, 1234, 86_000]) {
      const ticks = valueTicks(max)
      const step = (ticks[1] as number) - (ticks[0] as number)
      expect(ticks[0]).toBe(0)
      expect(is125(Number(step.toPrecision(6))), `step ${step} for ${max}`).toBe(true)
      for (const t of ticks) expect(Math.abs(t / step - Math.round(t / step)) < 1e-9, `${t} a multiple of ${step}`).toBe(true)
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(max)
      expect(ticks.length).toBeGreaterThanOrEqual(3)
      expect(ticks.length).toBeLessThanOrEqual(6)
    }
  })

  it('reads as people expect: 195 ms → 0, 50, … 200; 19.5 % → 0, 5, … 20 %; never 6.5 / 13 / 19.5', () => {
    expect(valueTicks(195)).toEqual([0, 50, 100, 150, 200])
    expect(valueTicks(0.195)).toEqual([0, 0.05, 0.1, 0.15, 0.2])
    expect(valueTicks(0, { minTop: 0.05 })).toEqual([0, 0.02, 0.04, 0.06])
    expect(valueTicks(1, { cap: 1 })).toEqual([0, 0.5, 1])
    expect(valueTicks(0.9, { cap: 1, target: 5 })).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
  })

  it('niceStep picks the smallest 1-2-5 step at least the raw one', () => {
    expect(niceStep(0.3)).toBe(0.5)
    expect(niceStep(48.75)).toBe(50)
    expect(niceStep(100)).toBe(100)
    expect(niceStep(0)).toBe(1)
  })
})

describe('timeTicks', () => {
  it('uses a round interval aligned to the local clock, the same for any chart given the same span', () => {
    const from = Date.UTC(2026, 11, 1, 14, 2, 37)
    const { ticks, intervalMs } = timeTicks(from, from + 15 * 60_000, 5, 0)
    expect(intervalMs).toBe(5 * 60_000)
    expect(ticks.map((t) => new Date(t).toISOString().slice(11, 19))).toEqual(['14:05:00', '14:10:00', '14:15:00'])
    expect(timeTicks(from, from + 15 * 60_000, 5, 0)).toEqual({ ticks, intervalMs })
  })

  it('aligns hours and days to local time, not UTC', () => {
    const from = Date.UTC(2026, 11, 1, 0, 0, 0)
    const { ticks, intervalMs } = timeTicks(from, from + 7 * 86_400_000, 7, 60) // UTC+1
    expect(intervalMs).toBe(86_400_000)
    expect(new Date((ticks[0] as number) + 3_600_000).toISOString().slice(11, 19)).toBe('00:00:00')
  })

  it('gives seconds-apart ticks for a short span and none for an empty one', () => {
    expect(timeTicks(0, 60_000, 5, 0).intervalMs).toBe(20_000)
    expect(timeTicks(5, 5).ticks).toEqual([])
  })
})
