/**
 * CSV export of a table (issue #15): the columns' headers and each row's cells as the table shows them, RFC 4180 via
 * papaparse (`unparse`, formulae escaped so a route like `=cmd|…` cannot run in a spreadsheet). Loaded on demand.
 */
import Papa from 'papaparse'
import type { Column } from './VirtualTable'

/** A cell as plain text: the column's `text`, else `render`'s string or number, else ''. */
export function cellText<T>(column: Pick<Column<T>, 'render' | 'text'>, row: T): string {
  if (column.text) return column.text(row)
  const v = column.render(row)
  return typeof v === 'string' || typeof v === 'number' ? String(v) : ''
}

/**
 * @param columns  the table's columns, in order (their `header` is the CSV header)
 * @param rows  every row of the table, in its order
 * @returns the CSV text (CRLF line ends, a header row first)
 */
export function toCsv<T>(columns: readonly Pick<Column<T>, 'header' | 'render' | 'text'>[], rows: readonly T[]): string {
  return Papa.unparse(
    { fields: columns.map((c) => c.header), data: rows.map((r) => columns.map((c) => cellText(c, r))) },
    { escapeFormulae: true, newline: '\r\n' },
  )
}

/** Makes the browser save `text` as `filename` (a CSV download). */
export function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
