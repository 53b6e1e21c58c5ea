import type { ReactNode } from 'react'
import { useRowFocus, type FocusableRowProps } from './useRowFocus'

/** A column of a `FocusTable`: its heading, and `num` to right-align a numeric column. */
export interface FocusColumn {
  label: string
  num?: boolean
}

interface Props<T> {
  testId: string
  /** Read by screen readers only; " ; arrow keys move between rows" is appended. */
  caption: string
  columns: readonly FocusColumn[]
  rows: readonly T[]
  /** Renders row `index` as a `<tr>` with `focus` spread onto it (and its own `key`). */
  renderRow: (row: T, index: number, focus: FocusableRowProps) => ReactNode
}

/**
 * A small data table (every row mounted; use `VirtualTable` for logs): a sticky header inside its own scroll box
 * (`table-wrap sticky-head`) and arrow-key row focus (`useRowFocus`). Used by the Caches and Instances pages.
 */
export function FocusTable<T>({ testId, caption, columns, rows, renderRow }: Props<T>) {
  const rowFocus = useRowFocus(rows.length)
  return (
    <div className="table-wrap sticky-head">
      <table className="data-table" data-testid={testId}>
        <caption className="visually-hidden">{caption}; arrow keys move between rows</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} scope="col" className={c.num ? 'num' : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{rows.map((row, i) => renderRow(row, i, rowFocus(i)))}</tbody>
      </table>
    </div>
  )
}
