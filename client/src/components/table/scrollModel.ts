/**
 * Scroll scaling for very long virtual tables. Browsers cap an element's height (about 16.7M px in Chromium), and
 * 1,000,000 rows × 28 px exceeds it, so the scroll spacer is capped at `MAX_SCROLL_HEIGHT` and the scroll position
 * maps proportionally onto the row range: scrollTop 0 shows row 0 at the top, the maximum scrollTop shows the last
 * row at the bottom. Below the cap the mapping is exactly `scrollTop / rowHeight` (ordinary scrolling).
 */

/** Tallest scroll spacer we create (well under every browser's limit). */
export const MAX_SCROLL_HEIGHT = 8_000_000

export interface ScrollGeometry {
  /** Rows in the table. */
  total: number
  /** Height of one row, px. */
  rowHeight: number
  /** Height of the visible row area (excluding the sticky header), px. */
  viewportHeight: number
}

/** Height of the scroll spacer for the rows: the true height, capped. */
export function spacerHeight(total: number, rowHeight: number, cap = MAX_SCROLL_HEIGHT): number {
  return Math.min(Math.max(0, total) * rowHeight, cap)
}

/** Largest scrollTop of the row area (0 when everything fits). */
export function maxScrollTop(g: ScrollGeometry, cap = MAX_SCROLL_HEIGHT): number {
  return Math.max(0, spacerHeight(g.total, g.rowHeight, cap) - g.viewportHeight)
}

/** Largest (fractional) row position at the top of the viewport: the last row then ends at the viewport's bottom. */
export function maxRowPosition(g: ScrollGeometry): number {
  return Math.max(0, g.total - g.viewportHeight / g.rowHeight)
}

/** Fractional row index at the top of the viewport for a scrollTop (proportional when scaled). */
export function rowPositionAt(scrollTop: number, g: ScrollGeometry, cap = MAX_SCROLL_HEIGHT): number {
  const maxScroll = maxScrollTop(g, cap)
  if (maxScroll <= 0) return 0
  const top = Math.min(Math.max(0, scrollTop), maxScroll)
  return (top / maxScroll) * maxRowPosition(g)
}

/** The scrollTop that puts (fractional) row position `row` at the top of the viewport. Inverse of `rowPositionAt`. */
export function scrollTopForRowPosition(row: number, g: ScrollGeometry, cap = MAX_SCROLL_HEIGHT): number {
  const maxRow = maxRowPosition(g)
  if (maxRow <= 0) return 0
  const r = Math.min(Math.max(0, row), maxRow)
  return (r / maxRow) * maxScrollTop(g, cap)
}

/** Rows that are fully visible from `first` given the viewport (at least 1). */
export function rowsPerPage(g: Pick<ScrollGeometry, 'rowHeight' | 'viewportHeight'>): number {
  return Math.max(1, Math.floor(g.viewportHeight / g.rowHeight))
}

/**
 * The scrollTop that makes row `index` fully visible with the least movement (unchanged when it already is).
 */
export function scrollTopToReveal(index: number, scrollTop: number, g: ScrollGeometry, cap = MAX_SCROLL_HEIGHT): number {
  const pos = rowPositionAt(scrollTop, g, cap)
  const rowsVisible = g.viewportHeight / g.rowHeight
  if (index < pos) return scrollTopForRowPosition(index, g, cap)
  if (index + 1 > pos + rowsVisible) return scrollTopForRowPosition(index + 1 - rowsVisible, g, cap)
  return scrollTop
}

/** Row index after a navigation key, or null when the key is not a navigation key. */
export function nextActiveRow(key: string, active: number, total: number, pageRows: number): number | null {
  if (total <= 0) return null
  const clamp = (n: number) => Math.min(Math.max(0, n), total - 1)
  switch (key) {
    case 'ArrowDown':
      return clamp(active + 1)
    case 'ArrowUp':
      return clamp(active - 1)
    case 'PageDown':
      return clamp(active + pageRows)
    case 'PageUp':
      return clamp(active - pageRows)
    case 'Home':
      return 0
    case 'End':
      return total - 1
    default:
      return null
  }
}

/** What a key pressed on a grid does: move the active row to `index`, open the active row, or nothing (null). */
export type GridKeyAction = { kind: 'move'; index: number } | { kind: 'activate'; index: number } | null

/**
 * The action of `key` on a grid with `total` rows whose active row is `active`: the navigation keys of
 * `nextActiveRow`, and Enter or Space to open the active row when rows can be opened (`canActivate`).
 */
export function gridKeyAction(key: string, active: number, total: number, pageRows: number, canActivate: boolean): GridKeyAction {
  if (key === 'Enter' || key === ' ') return canActivate && total > 0 ? { kind: 'activate', index: Math.min(Math.max(0, active), total - 1) } : null
  const next = nextActiveRow(key, active, total, pageRows)
  return next === null ? null : { kind: 'move', index: next }
}
