import { describe, expect, it } from 'vitest'
import { allGaps, isIsolated } from './chartGaps'

describe('chart gaps', () => {
  it('a series whose every bucket is a gap has no data to chart; one real zero is data', () => {
    expect(allGaps([{ noData: true }, { noData: true }])).toBe(true)
    expect(allGaps([{ noData: true }, { noData: false }])).toBe(false)
    expect(allGaps([])).toBe(true)
  })

  it('a value between two gaps (or at an edge next to one) is isolated and gets a dot; a real 0 is a value', () => {
    const v = [null, 5, null, 0, 1, null, 2]
    const at = (i: number) => v[i]
    expect(isIsolated(at, 1)).toBe(true)
    expect(isIsolated(at, 3)).toBe(false)
    expect(isIsolated(at, 4)).toBe(false)
    expect(isIsolated(at, 6)).toBe(true)
    expect(isIsolated(at, 0)).toBe(false)
    expect(isIsolated((i) => [0][i], 0)).toBe(true)
  })
})
