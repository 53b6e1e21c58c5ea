import { Virtualizer, type VirtualizerOptions } from '@tanstack/react-virtual'
import { describe, expect, it } from 'vitest'
import {
  BLOCK_ROWS,
  blockStartFor,
  cappedRangeExtractor,
  frameAt,
  mountedRows,
  rowTop,
  ScaledScroll,
  scrollTopForVirtualOffset,
} from './scaledVirtualizer'
import { maxScrollTop, MAX_SCROLL_HEIGHT, scrollTopForRowPosition, spacerHeight, type ScrollGeometry } from './scrollModel'
import { MAX_MOUNTED_ROWS, OVERSCAN_ROWS } from './useScaledVirtualizer'

const ROW = 28
const HEADER = 33
const VIEWPORT = 560
const million: ScrollGeometry = { total: 1_000_000, rowHeight: ROW, viewportHeight: VIEWPORT }

describe('blocks of rows for the virtualizer', () => {
  it('keeps the viewport inside the block at every scroll position of a million-row table', () => {
    const rowsVisible = VIEWPORT / ROW
    for (let k = 0; k <= 1000; k++) {
      const f = frameAt((maxScrollTop(million) * k) / 1000, million)
      expect(f.blockCount).toBe(BLOCK_ROWS)
      expect(f.position).toBeGreaterThanOrEqual(f.blockStart)
      expect(f.position + rowsVisible).toBeLessThanOrEqual(f.blockStart + f.blockCount + 1e-6)
      expect(f.virtualOffset).toBeCloseTo((f.position - f.blockStart) * ROW, 6)
    }
  })

  it('moves the block in half-block steps and pulls the last block back to end at the last row', () => {
    expect(blockStartFor(0, 1_000_000)).toBe(0)
    expect(blockStartFor(BLOCK_ROWS / 2 - 0.5, 1_000_000)).toBe(0)
    expect(blockStartFor(BLOCK_ROWS / 2, 1_000_000)).toBe(BLOCK_ROWS / 2)
    expect(blockStartFor(999_990, 1_000_000)).toBe(1_000_000 - BLOCK_ROWS)
    expect(blockStartFor(50, 300)).toBe(0)
  })

  it('gives a table shorter than a block one block of all its rows', () => {
    const f = frameAt(10_000, { total: 1500, rowHeight: ROW, viewportHeight: VIEWPORT })
    expect(f).toMatchObject({ blockStart: 0, blockCount: 1500, scaled: false })
    expect(f.virtualOffset).toBeCloseTo(10_000)
    expect(frameAt(0, { ...million, total: 0 }).blockCount).toBe(0)
  })

  it('maps a virtual offset back to the real scrollTop it came from', () => {
    for (const top of [0, 1234.5, 3_999_999, maxScrollTop(million)]) {
      const f = frameAt(top, million)
      expect(scrollTopForVirtualOffset(f.virtualOffset, f.blockStart, million)).toBeCloseTo(top, 4)
    }
  })

  it('places rows at their true offset below the cap and relative to the viewport above it', () => {
    const small = { total: 1000, rowHeight: ROW, viewportHeight: VIEWPORT }
    expect(rowTop(40, frameAt(1000, small), ROW)).toBe(40 * ROW)
    const f = frameAt(maxScrollTop(million) / 3, million)
    expect(f.scaled).toBe(true)
    const firstVisible = Math.floor(f.position)
    const top = rowTop(firstVisible, f, ROW)
    expect(top).toBeLessThanOrEqual(f.scrollTop)
    expect(top + ROW).toBeGreaterThan(f.scrollTop)
  })
})

describe('the range cap', () => {
  it('never returns more than the row limit, keeping the first visible row', () => {
    const cap = cappedRangeExtractor(60)
    expect(cap({ startIndex: 10, endIndex: 20, overscan: 2, count: 4096 })).toEqual(Array.from({ length: 15 }, (_, k) => 8 + k))
    const tall = cap({ startIndex: 100, endIndex: 500, overscan: 2, count: 4096 })
    expect(tall).toHaveLength(60)
    expect(tall[0]).toBe(100)
    expect(cap({ startIndex: 4090, endIndex: 4095, overscan: 2, count: 4096 }).at(-1)).toBe(4095)
  })
})

/** A scroll element good enough for virtual-core: scrollTop, client box, scroll listeners, a window with timers. */
class FakeScrollElement {
  scrollTop = 0
  readonly clientWidth = 1000
  readonly clientHeight = VIEWPORT + HEADER
  private readonly listeners = new Map<string, Set<() => void>>()
  readonly ownerDocument = {
    defaultView: { setTimeout, clearTimeout, requestAnimationFrame: (cb: () => void) => setTimeout(cb, 16), cancelAnimationFrame: clearTimeout },
  }

  constructor(private readonly rows: () => number) {}

  get scrollHeight(): number {
    return HEADER + spacerHeight(this.rows(), ROW)
  }

  addEventListener(type: string, fn: () => void): void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    set.add(fn)
  }

  removeEventListener(type: string, fn: () => void): void {
    this.listeners.get(type)?.delete(fn)
  }

  getAttribute(): null {
    return null
  }

  /** What the browser does: clamp, then fire `scroll`. */
  scrollTo({ top }: { top: number }): void {
    const next = Math.min(Math.max(0, top), this.scrollHeight - this.clientHeight)
    if (next === this.scrollTop) return
    this.scrollTop = next
    for (const fn of this.listeners.get('scroll') ?? []) fn()
  }
}

/** A real virtualizer wired to a ScaledScroll as VirtualTable wires it; `render()` is what a React render does. */
function harness(initialTotal: number) {
  let total = initialTotal
  const el = new FakeScrollElement(() => total)
  const scroller = new ScaledScroll({ total, rowHeight: ROW, viewportHeight: 400 }, () => HEADER)
  const counts: number[] = []
  const options = (): VirtualizerOptions<HTMLElement, Element> => ({
    count: scroller.getFrame().blockCount,
    getScrollElement: () => el as unknown as HTMLElement,
    estimateSize: () => ROW,
    overscan: OVERSCAN_ROWS,
    rangeExtractor: cappedRangeExtractor(MAX_MOUNTED_ROWS),
    observeElementOffset: scroller.observeOffset,
    observeElementRect: scroller.observeRect,
    scrollToFn: scroller.scrollTo,
  })
  const virtualizer = new Virtualizer<HTMLElement, Element>(options())
  virtualizer._willUpdate()
  const render = () => {
    const o = options()
    counts.push(o.count)
    virtualizer.setOptions(o)
    return mountedRows(virtualizer.getVirtualItems(), scroller.getFrame(), total, ROW)
  }
  return {
    el,
    scroller,
    virtualizer,
    counts,
    render,
    scrollTo: (top: number) => {
      el.scrollTo({ top })
      return render()
    },
    setTotal: (n: number) => {
      total = n
      scroller.setRows(n, ROW)
      return render()
    },
  }
}

describe('@tanstack/react-virtual over a scaled million-row scrollbar', () => {
  it('covers the viewport with at most 60 rows at every step from top to bottom, with a fixed block count', () => {
    const h = harness(1_000_000)
    const max = maxScrollTop(million)
    expect(h.el.scrollHeight - h.el.clientHeight).toBe(max) // the spacer is capped: 8,000,000 px
    for (let k = 0; k <= 200; k++) {
      const rows = h.scrollTo(Math.round((max * k) / 200))
      const f = frameAt(h.el.scrollTop, million)
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.length).toBeLessThanOrEqual(MAX_MOUNTED_ROWS)
      const first = rows[0]
      const last = rows.at(-1)
      if (!first || !last) throw new Error('no rows')
      // Consecutive rows, the first at or above the viewport's top, the last at or below its bottom.
      expect(rows.every((r, i) => r.index === first.index + i)).toBe(true)
      expect(first.top).toBeLessThanOrEqual(h.el.scrollTop + 1e-6)
      expect(last.top + ROW).toBeGreaterThanOrEqual(h.el.scrollTop + VIEWPORT - 1e-6)
      // Each row sits (index − position) rows below the viewport's top.
      for (const r of rows) expect(r.top - h.el.scrollTop).toBeCloseTo((r.index - f.position) * ROW, 3)
    }
    expect(new Set(h.counts)).toEqual(new Set([BLOCK_ROWS]))
  })

  it('reaches the last row at the bottom, ending exactly at the viewport bottom', () => {
    const h = harness(1_000_000)
    const rows = h.scrollTo(MAX_SCROLL_HEIGHT)
    const last = rows.at(-1)
    expect(last?.index).toBe(999_999)
    expect((last?.top ?? 0) + ROW).toBeCloseTo(h.el.scrollTop + VIEWPORT, 3)
  })

  it('keeps its block count when a live log grows, and follows the new total at the bottom', () => {
    const h = harness(1_000_000)
    h.scrollTo(MAX_SCROLL_HEIGHT)
    const rows = h.setTotal(1_000_050)
    expect(rows.at(-1)?.index).toBe(1_000_049)
    expect(new Set(h.counts)).toEqual(new Set([BLOCK_ROWS]))
  })

  it('lands the virtualizer’s own scroll commands on the scaled scrollbar', () => {
    const h = harness(1_000_000)
    h.scrollTo(4_000_000)
    const f = frameAt(h.el.scrollTop, million)
    h.virtualizer.scrollToOffset(f.virtualOffset + 100 * ROW)
    expect(h.el.scrollTop).toBeCloseTo(scrollTopForRowPosition(f.position + 100, million), 3)
    const rows = h.render()
    expect(rows[0]?.index).toBe(Math.floor(f.position + 100) - OVERSCAN_ROWS)
  })

  it('scrolls a table below the cap natively: rows at index × row height', () => {
    const h = harness(1500)
    const rows = h.scrollTo(300 * ROW)
    expect(rows[0]).toEqual({ index: 300 - OVERSCAN_ROWS, top: (300 - OVERSCAN_ROWS) * ROW })
    expect(rows.at(-1)?.index).toBe(300 + VIEWPORT / ROW + OVERSCAN_ROWS - 1)
    expect(new Set(h.counts)).toEqual(new Set([1500]))
  })

  it('follows a scrollTop the table set itself at once on sync(), before any scroll event', () => {
    const h = harness(1_000_000)
    h.el.scrollTop = 6_000_000 // as the keyboard handler does; the browser's scroll event comes a frame later
    expect(h.render()[0]?.index).toBe(0)
    h.scroller.sync()
    const rows = h.render()
    expect(rows[0]?.index).toBe(Math.max(0, Math.floor(frameAt(6_000_000, million).position) - OVERSCAN_ROWS))
  })

  it('mounts nothing for an empty table, and rows once they arrive', () => {
    const h = harness(0)
    expect(h.render()).toEqual([])
    expect(h.setTotal(3).map((r) => r.index)).toEqual([0, 1, 2])
  })
})
