import { describe, expect, it } from 'vitest'
import {
  gridKeyAction,
  MAX_SCROLL_HEIGHT,
  maxScrollTop,
  nextActiveRow,
  rowPositionAt,
  scrollTopForRowPosition,
  scrollTopToReveal,
  spacerHeight,
} from './scrollModel'

const million = { total: 1_000_000, rowHeight: 28, viewportHeight: 560 }
const small = { total: 1000, rowHeight: 28, viewportHeight: 560 }

describe('scroll scaling', () => {
  it('caps the spacer height for a million rows below the browser limit', () => {
    expect(spacerHeight(1_000_000, 28)).toBe(MAX_SCROLL_HEIGHT)
    expect(spacerHeight(1000, 28)).toBe(28_000)
  })

  it('maps scrollTop to rows one to one when the table fits under the cap', () => {
    expect(rowPositionAt(280, small)).toBeCloseTo(10)
    expect(scrollTopForRowPosition(10, small)).toBeCloseTo(280)
  })

  it('shows row 0 at the top and the last row at the bottom of a scaled table', () => {
    expect(rowPositionAt(0, million)).toBe(0)
    // 20 rows fit the viewport: the last one ends at its bottom.
    expect(rowPositionAt(maxScrollTop(million), million)).toBe(1_000_000 - 20)
    expect(rowPositionAt(maxScrollTop(million) + 500, million)).toBe(1_000_000 - 20)
  })

  it('maps the middle of a scaled scrollbar to the middle of the rows', () => {
    const pos = rowPositionAt(maxScrollTop(million) / 2, million)
    expect(pos).toBeCloseTo((1_000_000 - 20) / 2, 0)
  })

  it('inverts the mapping, so scrolling to a row shows that row at the top', () => {
    const top = scrollTopForRowPosition(654_321, million)
    expect(rowPositionAt(top, million)).toBeCloseTo(654_321, 6)
  })

  it('scrolls only as far as needed to reveal a row below or above the viewport', () => {
    expect(scrollTopToReveal(5, 0, small)).toBe(0)
    expect(scrollTopToReveal(25, 0, small)).toBeCloseTo((26 - 20) * 28)
    expect(scrollTopToReveal(3, 280, small)).toBeCloseTo(84)
  })
})

describe('keyboard navigation', () => {
  it('moves the active row with arrows, pages, Home and End, clamped to the table', () => {
    expect(nextActiveRow('ArrowDown', 0, 10, 5)).toBe(1)
    expect(nextActiveRow('ArrowUp', 0, 10, 5)).toBe(0)
    expect(nextActiveRow('PageDown', 7, 10, 5)).toBe(9)
    expect(nextActiveRow('PageUp', 7, 10, 5)).toBe(2)
    expect(nextActiveRow('Home', 7, 10, 5)).toBe(0)
    expect(nextActiveRow('End', 0, 10, 5)).toBe(9)
    expect(nextActiveRow('a', 0, 10, 5)).toBeNull()
  })
})

describe('grid keys', () => {
  it('opens the active row with Enter or Space only when rows can be opened', () => {
    expect(gridKeyAction('Enter', 3, 10, 5, true)).toEqual({ kind: 'activate', index: 3 })
    expect(gridKeyAction(' ', 3, 10, 5, true)).toEqual({ kind: 'activate', index: 3 })
    expect(gridKeyAction('Enter', 3, 10, 5, false)).toBeNull()
    expect(gridKeyAction('Enter', 0, 0, 5, true)).toBeNull()
  })

  it('opens the last row when the active row is past the end of a table that shrank', () => {
    expect(gridKeyAction('Enter', 12, 10, 5, true)).toEqual({ kind: 'activate', index: 9 })
  })

  it('moves the active row with the navigation keys and ignores the rest', () => {
    expect(gridKeyAction('End', 0, 1_000_000, 20, true)).toEqual({ kind: 'move', index: 999_999 })
    expect(gridKeyAction('PageDown', 0, 1_000_000, 20, false)).toEqual({ kind: 'move', index: 20 })
    expect(gridKeyAction('x', 0, 10, 5, true)).toBeNull()
  })
})
