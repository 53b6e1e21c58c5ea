import { describe, expect, it } from 'vitest'
import {
  MAX_SCROLL_HEIGHT,
  maxScrollTop,
  nextActiveRow,
  renderRange,
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
    expect(renderRange(280, small).first).toBe(10)
  })

  it('shows row 0 at the top and the last row at the bottom of a scaled table', () => {
    expect(rowPositionAt(0, million)).toBe(0)
    const end = renderRange(maxScrollTop(million), million)
    expect(end.first + end.count).toBe(1_000_000)
    expect(end.first).toBe(1_000_000 - 20)
  })

  it('maps the middle of a scaled scrollbar to the middle of the rows', () => {
    const pos = rowPositionAt(maxScrollTop(million) / 2, million)
    expect(pos).toBeCloseTo((1_000_000 - 20) / 2, 0)
  })

  it('inverts the mapping, so scrolling to a row shows that row at the top', () => {
    const top = scrollTopForRowPosition(654_321, million)
    expect(renderRange(top, million).first).toBe(654_321)
  })

  it('never mounts more than the row limit, whatever the viewport', () => {
    const tall = { ...million, viewportHeight: 10_000 }
    expect(renderRange(5000, tall, 60).count).toBe(60)
    expect(renderRange(0, million).count).toBeLessThanOrEqual(22)
  })

  it('mounts nothing for an empty table', () => {
    expect(renderRange(0, { ...small, total: 0 })).toEqual({ first: 0, count: 0, offsetPx: 0 })
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
