import { useState, type FocusEvent, type KeyboardEvent } from 'react'
import { nextActiveRow } from './scrollModel'

/** Props a focusable row of a small table takes (spread onto its `<tr>`). */
export interface FocusableRowProps {
  tabIndex: number
  onFocus: (e: FocusEvent<HTMLTableRowElement>) => void
  onKeyDown: (e: KeyboardEvent<HTMLTableRowElement>) => void
}

/** Rows a PageUp/PageDown moves focus by in a small table. */
const PAGE_ROWS = 10

/**
 * Keyboard navigation for a small, non-virtual table (a handful of rows, all mounted): one tab stop on its rows
 * (roving tabindex: the last row focused, else the first), ArrowUp/ArrowDown/PageUp/PageDown/Home/End move focus
 * between the rows of the same `<tbody>`. Controls inside a row keep their own tab stops and keys.
 * Returns the props for row `index` of `rowCount`.
 */
export function useRowFocus(rowCount: number): (index: number) => FocusableRowProps {
  const [current, setCurrent] = useState(0)
  const stop = Math.min(current, Math.max(0, rowCount - 1))
  return (index) => ({
    tabIndex: index === stop ? 0 : -1,
    onFocus: () => setCurrent(index),
    onKeyDown: (e) => {
      if (e.target !== e.currentTarget) return
      const next = nextActiveRow(e.key, index, rowCount, PAGE_ROWS)
      if (next === null) return
      e.preventDefault()
      const target = e.currentTarget.parentElement?.children.item(next)
      if (target instanceof HTMLElement) target.focus()
    },
  })
}
