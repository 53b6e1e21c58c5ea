import { describe, expect, it } from 'vitest'
import { allGaps, isIsolated, keysWithLoneValues } from './chartGaps'

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

  it('only the lines with a lone value get dots: a continuous line, an all-gap line and a missing key get none', () => {
    const points = [
      { t: 0, a: 1, b: null, c: null },
      { t: 1, a: 2, b: 7, c: null },
      { t: 2, a: 3, b: null, c: null },
      { t: 3, a: 4, b: 1, c: null },
      { t: 4, a: 5, b: 2, c: null },
    ]
    expect([...keysWithLoneValues(points, ['a', 'b', 'c', 'missing'])]).toEqual(['b'])
    expect(keysWithLoneValues([], ['a']).size).toBe(0)
    expect([...keysWithLoneValues([{ a: 0 }], ['a'])]).toEqual(['a'])
  })
})
