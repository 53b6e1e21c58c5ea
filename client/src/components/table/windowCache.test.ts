import { describe, expect, it } from 'vitest'
import { WindowCache, windowOffset, windowsForRange } from './windowCache'

describe('row windows', () => {
  it('puts a row in the window starting at the multiple of the window size below it', () => {
    expect(windowOffset(0, 200)).toBe(0)
    expect(windowOffset(199, 200)).toBe(0)
    expect(windowOffset(200, 200)).toBe(200)
    expect(windowOffset(654_321, 200)).toBe(654_200)
  })

  it('lists every window a visible range overlaps, and none past the end', () => {
    expect(windowsForRange(190, 20, 200, 1000)).toEqual([0, 200])
    expect(windowsForRange(990, 20, 200, 1000)).toEqual([800])
    expect(windowsForRange(0, 0, 200, 1000)).toEqual([])
  })
})

describe('window cache', () => {
  it('returns cached rows by absolute index and undefined for rows not loaded', () => {
    const c = new WindowCache<string>(2, 3)
    c.set(4, ['e', 'f'])
    expect(c.row(5)).toBe('f')
    expect(c.row(3)).toBeUndefined()
  })

  it('drops the least recently used window when over capacity', () => {
    const c = new WindowCache<number>(10, 2)
    c.set(0, [0])
    c.set(10, [10])
    c.getWindow(0)
    c.set(20, [20])
    expect(c.offsets()).toEqual([0, 20])
    expect(c.has(10)).toBe(false)
    expect(c.length).toBe(2)
  })

  it('replaces a window stored twice without growing', () => {
    const c = new WindowCache<number>(10, 2)
    c.set(0, [1])
    c.set(0, [2])
    expect(c.length).toBe(1)
    expect(c.row(0)).toBe(2)
  })
})
