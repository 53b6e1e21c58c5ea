import { useCallback, useLayoutEffect, useState, useSyncExternalStore, type RefObject } from 'react'
import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual'
import { cappedRangeExtractor, mountedRows, ScaledScroll, type MountedRow, type ScrollFrame } from './scaledVirtualizer'

/** Most row elements mounted at once, whatever the viewport. */
export const MAX_MOUNTED_ROWS = 60
/** Rows mounted beyond each edge of the viewport. */
export const OVERSCAN_ROWS = 2

const RANGE_EXTRACTOR = cappedRangeExtractor(MAX_MOUNTED_ROWS)

/** What `useScaledVirtualizer` gives the table. */
export interface ScaledRows {
  /** Rows to mount, in order (at most MAX_MOUNTED_ROWS). */
  rows: MountedRow[]
  /** The scroll frame the rows were placed from. */
  frame: ScrollFrame
  /** The scroll bridge (geometry for keyboard paging; see scaledVirtualizer.ts). */
  scroller: ScaledScroll
  /** The underlying @tanstack/react-virtual virtualizer (its `count` is the block's, not the table's). */
  virtualizer: Virtualizer<HTMLElement, Element>
}

interface Options {
  /** Rows in the table (any number; 1,000,000 and more). */
  total: number
  /** Height of every row, px; fixed for the table's life (the virtualizer does not re-measure on a change). */
  rowHeight: number
  /** The scroll element (the grid). */
  scrollRef: RefObject<HTMLElement | null>
  /** The sticky header inside it (its height is not row space). */
  headerRef: RefObject<HTMLElement | null>
}

/**
 * Fixed-height row virtualization for a table of any size: `useVirtualizer` over a block of rows around the scroll
 * position (see scaledVirtualizer.ts for why a block and how the capped scrollbar maps to rows).
 */
export function useScaledVirtualizer({ total, rowHeight, scrollRef, headerRef }: Options): ScaledRows {
  const [scroller] = useState(() => new ScaledScroll({ total, rowHeight, viewportHeight: 400 }, () => headerRef.current?.offsetHeight ?? 0))
  const frame = useSyncExternalStore(scroller.subscribe, scroller.getFrame, scroller.getFrame)
  const estimateSize = useCallback(() => rowHeight, [rowHeight])
  const getScrollElement = useCallback(() => scrollRef.current, [scrollRef])

  // The lint rule is about the React Compiler's memoisation, which this build does not use: the virtualizer
  // re-renders this component itself (onChange) whenever its range changes.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer<HTMLElement, Element>({
    count: frame.blockCount,
    getScrollElement,
    estimateSize,
    overscan: OVERSCAN_ROWS,
    rangeExtractor: RANGE_EXTRACTOR,
    observeElementOffset: scroller.observeOffset,
    observeElementRect: scroller.observeRect,
    scrollToFn: scroller.scrollTo,
    // Renders follow scroll events through React's own batching; flushSync from a scroll handler only adds work.
    useFlushSync: false,
  })

  useLayoutEffect(() => {
    scroller.setRows(total, rowHeight)
  }, [scroller, total, rowHeight])

  const rows = mountedRows(virtualizer.getVirtualItems(), frame, total, rowHeight)
  return { rows, frame, scroller, virtualizer }
}
