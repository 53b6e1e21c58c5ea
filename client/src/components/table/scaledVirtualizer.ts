/**
 * @tanstack/react-virtual as VirtualTable's row-range engine, with Fusebox's scroll scaling (scrollModel.ts) on top.
 *
 * virtual-core rebuilds a position table of `count` entries whenever `count` changes (measured: ~25–45 ms and
 * ~24 MB at 1,000,000 rows; docs/decisions/008-virtual-tables.md), and a live log's total changes every few seconds.
 * So the virtualizer never sees the whole table: it sees a *block* of at most BLOCK_ROWS rows around the scroll
 * position, and a virtual scroll offset inside that block. Invariants:
 * - `rowPositionAt(scrollTop)` (fractional row at the top of the viewport) lies in
 *   `[blockStart, blockStart + blockCount − viewportRows]`, so the virtualizer's range never runs off its block;
 * - `virtualOffset = (position − blockStart) × rowHeight`, so `item.start − virtualOffset` is where the item sits
 *   below the top of the viewport, px;
 * - the block moves in steps of BLOCK_ROWS / 2, so `count` stays BLOCK_ROWS (it changes only for tables shorter
 *   than a block), and scrolling never rebuilds the position table.
 * Below the scroll cap (≈ 285,000 rows of 28 px) the mapping is exact: row i sits at i × rowHeight in the spacer.
 */
import { defaultRangeExtractor, observeElementOffset, type Range, type Rect, type Virtualizer } from '@tanstack/react-virtual'
import { MAX_SCROLL_HEIGHT, maxScrollTop, rowPositionAt, scrollTopForRowPosition, spacerHeight, type ScrollGeometry } from './scrollModel'

/** Rows the virtualizer sees at once (its `count` for every table at least this long). */
export const BLOCK_ROWS = 4096
/** Rows the block moves by when the scroll position nears its end. */
export const BLOCK_STEP = BLOCK_ROWS / 2

/** Where a table is scrolled to, in real, row and block coordinates. Replaced (new object) on every change. */
export interface ScrollFrame {
  /** The scroll element's scrollTop, px (0 … spacer height − viewport). */
  scrollTop: number
  /** Fractional row index at the top of the viewport. */
  position: number
  /** First row of the virtualizer's block. */
  blockStart: number
  /** Rows in the block: the virtualizer's `count` (0 for an empty table). */
  blockCount: number
  /** Scroll offset the virtualizer is given: px from the block's first row to the top of the viewport. */
  virtualOffset: number
  /** Whether the spacer is capped, so rows move faster than the scrollbar (they are then re-placed per scroll event). */
  scaled: boolean
}

/** First row of the block holding `position` (a multiple of `step`, pulled back so the block ends at the last row). */
export function blockStartFor(position: number, total: number, blockRows = BLOCK_ROWS): number {
  const step = Math.max(1, Math.floor(blockRows / 2))
  const start = Math.floor(Math.max(0, position) / step) * step
  return Math.max(0, Math.min(start, total - blockRows))
}

/** The frame for a real scrollTop. */
export function frameAt(scrollTop: number, g: ScrollGeometry, blockRows = BLOCK_ROWS, cap = MAX_SCROLL_HEIGHT): ScrollFrame {
  const top = Math.min(Math.max(0, scrollTop), maxScrollTop(g, cap))
  const position = rowPositionAt(top, g, cap)
  const blockStart = blockStartFor(position, g.total, blockRows)
  return {
    scrollTop: top,
    position,
    blockStart,
    blockCount: Math.max(0, Math.min(blockRows, g.total - blockStart)),
    virtualOffset: (position - blockStart) * g.rowHeight,
    scaled: isScaled(g, cap),
  }
}

/** Whether the rows need more height than the capped spacer gives them. */
export function isScaled(g: Pick<ScrollGeometry, 'total' | 'rowHeight'>, cap = MAX_SCROLL_HEIGHT): boolean {
  return Math.max(0, g.total) * g.rowHeight > spacerHeight(g.total, g.rowHeight, cap)
}

/** The real scrollTop for a virtual offset inside the block starting at `blockStart` (inverse of `frameAt`). */
export function scrollTopForVirtualOffset(virtualOffset: number, blockStart: number, g: ScrollGeometry, cap = MAX_SCROLL_HEIGHT): number {
  return scrollTopForRowPosition(blockStart + virtualOffset / g.rowHeight, g, cap)
}

/**
 * Top of a mounted row in the spacer, px. Unscaled: its true place (`index × rowHeight`), so native scrolling moves
 * it and no re-render is needed per pixel. Scaled: placed relative to the viewport, `(index − position)` rows below
 * its top.
 */
export function rowTop(index: number, frame: ScrollFrame, rowHeight: number): number {
  return frame.scaled ? frame.scrollTop + (index - frame.position) * rowHeight : index * rowHeight
}

/** One mounted row: its index in the table and its top in the scroll spacer, px. */
export interface MountedRow {
  index: number
  top: number
}

/**
 * The rows to mount from the virtualizer's items (block-relative indexes) and the frame it was given: table index
 * and top for each, in order. Items past `total` (a table that just shrank, before its block is re-placed) are left out.
 */
export function mountedRows(items: readonly { index: number }[], frame: ScrollFrame, total: number, rowHeight: number): MountedRow[] {
  const rows: MountedRow[] = []
  for (const item of items) {
    const index = frame.blockStart + item.index
    if (index >= total) break
    rows.push({ index, top: rowTop(index, frame, rowHeight) })
  }
  return rows
}

/**
 * A `rangeExtractor` that adds the virtualizer's overscan but never returns more than `maxRows` indexes (the first
 * visible row is always kept), whatever the viewport's height. Create once per `maxRows`: the virtualizer memoises on it.
 */
export function cappedRangeExtractor(maxRows: number): (range: Range) => number[] {
  return (range) => {
    const all = defaultRangeExtractor(range)
    if (all.length <= maxRows) return all
    const from = Math.max(0, Math.min(range.startIndex, range.count - maxRows))
    return Array.from({ length: maxRows }, (_, k) => from + k)
  }
}

function sameFrame(a: ScrollFrame, b: ScrollFrame): boolean {
  // Unscaled, rows sit at their true place: only the block matters for what is rendered.
  if (!a.scaled && !b.scaled) return a.blockStart === b.blockStart && a.blockCount === b.blockCount
  return a.scrollTop === b.scrollTop && a.position === b.position && a.blockStart === b.blockStart && a.blockCount === b.blockCount
}

/**
 * The bridge between one scroll element and a virtualizer: `observeElementOffset`, `observeElementRect` and
 * `scrollToFn` for `useVirtualizer`, translating real scroll positions to block offsets and back, and a store of the
 * current frame for `useSyncExternalStore`. The frame the store publishes is always the one whose `virtualOffset`
 * the virtualizer was last given, so rows rendered from both agree.
 */
export class ScaledScroll {
  private geometry: ScrollGeometry
  private frame: ScrollFrame
  private published: ScrollFrame
  private offsetCallback: ((offset: number, isScrolling: boolean) => void) | null = null
  private element: HTMLElement | null = null
  private readonly listeners = new Set<() => void>()

  /**
   * @param geometry rows, row height (px) and the initial viewport height (px; replaced once the element is measured)
   * @param headerHeight height of the sticky header inside the scroll element, px (read when the element resizes)
   */
  constructor(
    geometry: ScrollGeometry,
    private readonly headerHeight: () => number = () => 0,
    private readonly blockRows = BLOCK_ROWS,
    private readonly cap = MAX_SCROLL_HEIGHT,
  ) {
    this.geometry = geometry
    this.frame = frameAt(0, geometry, blockRows, cap)
    this.published = this.frame
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The frame to render from (changes per scroll event only while scaled; otherwise when the block moves). */
  getFrame = (): ScrollFrame => this.published

  /** Rows, row height and viewport height as last set. */
  getGeometry(): ScrollGeometry {
    return this.geometry
  }

  /** New row count or row height (call after render, e.g. in a layout effect): re-places the block. */
  setRows(total: number, rowHeight: number): void {
    if (total === this.geometry.total && rowHeight === this.geometry.rowHeight) return
    this.geometry = { ...this.geometry, total, rowHeight }
    this.update(this.element?.scrollTop ?? this.frame.scrollTop, false, true)
  }

  /**
   * Re-reads the element's scrollTop now, after the caller set it (keyboard, a reset to the top), so the rows follow
   * in this frame rather than after the scroll event of the next one.
   */
  sync(): void {
    if (this.element) this.update(this.element.scrollTop, false, false)
  }

  /** `observeElementOffset` for `useVirtualizer`: the library's scroll/scrollend listener, mapped to block offsets. */
  observeOffset = (instance: Virtualizer<HTMLElement, Element>, cb: (offset: number, isScrolling: boolean) => void): (() => void) => {
    this.offsetCallback = cb
    const unsubscribe = observeElementOffset(instance, (scrollTop, isScrolling) => this.update(scrollTop, isScrolling, false))
    return () => {
      unsubscribe?.()
      if (this.offsetCallback === cb) this.offsetCallback = null
    }
  }

  /** `observeElementRect` for `useVirtualizer`: the viewport is the element's client box minus the sticky header. */
  observeRect = (instance: Virtualizer<HTMLElement, Element>, cb: (rect: Rect) => void): (() => void) | undefined => {
    const el = instance.scrollElement
    if (!el) return undefined
    this.element = el
    const measure = () => {
      const height = Math.max(this.geometry.rowHeight, el.clientHeight - this.headerHeight())
      if (height !== this.geometry.viewportHeight) {
        this.geometry = { ...this.geometry, viewportHeight: height }
        this.update(el.scrollTop, false, true)
      }
      cb({ width: el.clientWidth, height })
    }
    measure()
    const RO = instance.targetWindow?.ResizeObserver
    if (!RO) return () => void (this.element = null)
    const observer = new RO(measure)
    observer.observe(el)
    return () => {
      observer.disconnect()
      this.element = null
    }
  }

  /** `scrollToFn` for `useVirtualizer`: a block offset back to the real scrollTop. */
  scrollTo = (offset: number, options: { adjustments?: number; behavior?: ScrollBehavior }, instance: Virtualizer<HTMLElement, Element>): void => {
    const top = scrollTopForVirtualOffset(offset + (options.adjustments ?? 0), this.frame.blockStart, this.geometry, this.cap)
    instance.scrollElement?.scrollTo?.({ top, behavior: options.behavior })
  }

  private update(scrollTop: number, isScrolling: boolean, force: boolean): void {
    const next = frameAt(scrollTop, this.geometry, this.blockRows, this.cap)
    this.frame = next
    // The virtualizer first (its state is read in the same render), then the frame for the rows' placement.
    this.offsetCallback?.(next.virtualOffset, isScrolling)
    if (force || !sameFrame(this.published, next)) {
      this.published = next
      for (const l of this.listeners) l()
    }
  }
}
