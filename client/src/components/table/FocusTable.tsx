import type { ReactNode } from 'react'
import { useRowFocus, type FocusableRowProps } from './useRowFocus'
import type { TableSort } from './VirtualTable'
import './table.css'

/**
 * A column of a `FocusTable`: its heading, `num` to right-align a numeric column, and `sortId` to make its header a
 * sort button (with the table's `sort`; the id is what `sort.onSort` receives).
 */
export interface FocusColumn {
  label: string
  num?: boolean
  sortId?: string
}

interface Props<T> {
  testId: string
  /** Read by screen readers only; " ; arrow keys move between rows" is appended. */
  caption: string
  columns: readonly FocusColumn[]
  rows: readonly T[]
  /** Renders row `index` as a `<tr>` with `focus` spread onto it (and its own `key`). */
  renderRow: (row: T, index: number, focus: FocusableRowProps) => ReactNode
  /** Sortable headers (columns with `sortId`), as `VirtualTable`'s: the parent sorts `rows`. */
  sort?: TableSort
}

/**
 * A small data table (every row mounted; use `VirtualTable` for logs): a sticky header inside its own scroll box
 * (`table-wrap sticky-head`) and arrow-key row focus (`useRowFocus`); with `sort`, header buttons that carry `aria-sort`.
 * Used by the Caches, Instances and Fleet pages.
 */
export function FocusTable<T>({ testId, caption, columns, rows, renderRow, sort }: Props<T>) {
  const rowFocus = useRowFocus(rows.length)
  return (
    <div className="table-wrap sticky-head">
      <table className="data-table" data-testid={testId}>
        <caption className="visually-hidden">{caption}; arrow keys move between rows</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <HeaderCell key={c.label} column={c} sort={sort} />
            ))}
          </tr>
        </thead>
        <tbody>{rows.map((row, i) => renderRow(row, i, rowFocus(i)))}</tbody>
      </table>
    </div>
  )
}

function HeaderCell({ column: c, sort }: { column: FocusColumn; sort: TableSort | undefined }) {
  const className = c.num ? 'num' : undefined
  if (c.sortId === undefined || !sort) {
    return (
      <th scope="col" className={className}>
        {c.label}
      </th>
    )
  }
  const sorted = sort.columnId === c.sortId
  const id = c.sortId
  return (
    <th scope="col" className={className} aria-sort={sorted ? sort.direction : 'none'}>
      <button type="button" className="vt-sort" onClick={() => sort.onSort(id)}>
        {c.label}
        <span aria-hidden="true" className="vt-sort-mark">
          {sorted ? (sort.direction === 'descending' ? ' ▼' : ' ▲') : ''}
        </span>
      </button>
    </th>
  )
}
