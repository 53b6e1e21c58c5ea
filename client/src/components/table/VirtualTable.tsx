import { useEffect, useId, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type ReactNode } from 'react'
import { gridKeyAction, rowsPerPage, scrollTopToReveal, spacerHeight } from './scrollModel'
import { useScaledVirtualizer } from './useScaledVirtualizer'
import './table.css'

/** A column: header text, CSS grid track (e.g. `7rem`, `minmax(12rem, 2fr)`), and the cell's content. */
export interface Column<T> {
  id: string
  header: string
  width: string
  render: (row: T) => ReactNode
  /** The cell as plain text (CSV export, `csv.ts`); default: what `render` returns when that is a string or number. */
  text?: (row: T) => string
  /** Extra class on every cell (e.g. `num` for right-aligned numbers). */
  className?: string
  /** The header is a sort button (needs the table's `sort`). */
  sortable?: boolean
}

/** Sort state of a table whose parent sorts (client- or server-side): the sorted column and the header action. */
export interface TableSort {
  /** `id` of the sorted column. */
  columnId: string
  direction: 'ascending' | 'descending'
  /** A sortable header was activated (click, Enter, Space); the parent decides the new order. */
  onSort: (columnId: string) => void
}

/** Props of `VirtualTable`. */
export interface VirtualTableProps<T> {
  /** Accessible name of the grid. */
  label: string
  columns: Column<T>[]
  /** Rows in the table (may be far more than are ever loaded). */
  total: number
  /** Row `index`, or undefined while it loads (a skeleton row is shown). */
  getRow: (index: number) => T | undefined
  /** Called with the mounted range whenever it changes (fetch windows, load more). */
  onRangeChange?: (first: number, count: number) => void
  /** `data-testid` of the grid and of each row. */
  testId: string
  rowTestId: string
  /** Height of every row, px (fixed for the table's life). */
  rowHeight?: number
  /** Height of the scroll area (CSS). With `fit`, its maximum: a short table is only as tall as its rows. */
  height?: string
  /** Shrink to the rows when they need less than `height`. */
  fit?: boolean
  /** Narrowest the columns get before the grid scrolls sideways (px). */
  minWidth?: number
  /** Shown instead of rows when `total` is 0 (and not `loading`). */
  emptyText?: string
  /** No rows yet because the first answer is pending: skeleton rows instead of `emptyText`. */
  loading?: boolean
  /** The rows shown are being replaced (new sort or filter): marks the grid busy. */
  busy?: boolean
  /** Extra class per row (e.g. an error row). */
  rowClassName?: (row: T) => string | undefined
  /** The row is the page's current item (e.g. the route drilled into): `aria-current` and a highlight. */
  isCurrentRow?: (row: T) => boolean
  /** Enter (or Space) on the active row, or a click on a row: open it. Without it, rows are only navigated. */
  onActivate?: (row: T, index: number) => void
  /** Sortable headers (columns with `sortable`). */
  sort?: TableSort
  /** Changing this scrolls back to the top and resets the active row (new filter, new service). */
  resetKey?: string
}

/** Skeleton rows shown while the first rows load. */
const LOADING_ROWS = 6

/**
 * A virtualized, keyboard-navigable grid for tables of any size (1,000,000 rows and more). @tanstack/react-virtual
 * picks the rows to mount (never more than MAX_MOUNTED_ROWS, useScaledVirtualizer.ts); they are placed over a spacer whose height is capped
 * (scroll scaling: scrollModel.ts, scaledVirtualizer.ts). The header row is sticky; `aria-rowcount` counts it, so
 * data rows are `aria-rowindex` 2…total+1. The grid is focusable: ArrowUp/ArrowDown/PageUp/PageDown/Home/End move
 * the active row and scroll it into view, Enter opens it (`onActivate`); sortable headers are buttons.
 */
export function VirtualTable<T>({
  label,
  columns,
  total,
  getRow,
  onRangeChange,
  testId,
  rowTestId,
  rowHeight = 28,
  height = 'min(70vh, 640px)',
  fit = false,
  minWidth = 720,
  emptyText = 'No rows.',
  loading = false,
  busy = false,
  rowClassName,
  isCurrentRow,
  onActivate,
  sort,
  resetKey = '',
}: VirtualTableProps<T>) {
  const idBase = useId()
  const scrollRef = useRef<HTMLDivElement>(null)
  const headerRef = useRef<HTMLDivElement>(null)
  const [active, setActive] = useState(0)
  const [lastResetKey, setLastResetKey] = useState(resetKey)
  const { rows: mounted, scroller } = useScaledVirtualizer({ total, rowHeight, scrollRef, headerRef })

  if (lastResetKey !== resetKey) {
    setLastResetKey(resetKey)
    setActive(0)
  }

  useLayoutEffect(() => {
    if (!scrollRef.current) return
    scrollRef.current.scrollTop = 0
    scroller.sync()
  }, [resetKey, scroller])

  const first = mounted[0]?.index ?? 0
  const count = mounted.length
  useEffect(() => {
    onRangeChange?.(first, count)
  }, [onRangeChange, first, count])

  const activeRow = Math.min(active, Math.max(0, total - 1))

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    // Keys on a header's sort button are the button's (Enter/Space sort), not the grid's.
    if (e.target !== e.currentTarget) return
    const geometry = scroller.getGeometry()
    const action = gridKeyAction(e.key, activeRow, total, rowsPerPage(geometry), onActivate !== undefined)
    if (action === null) return
    e.preventDefault()
    if (action.kind === 'activate') {
      const row = getRow(action.index)
      if (row !== undefined) onActivate?.(row, action.index)
      return
    }
    setActive(action.index)
    const el = e.currentTarget
    const top = scrollTopToReveal(action.index, el.scrollTop, geometry)
    if (Math.abs(top - el.scrollTop) >= 0.5) {
      el.scrollTop = top
      scroller.sync() // rows follow in this frame; the scroll event that comes next finds nothing to change
    }
  }

  const template: CSSProperties = { gridTemplateColumns: columns.map((c) => c.width).join(' ') }
  const rows: ReactNode[] = mounted.map(({ index, top }) => {
    const row = getRow(index)
    const isActive = index === activeRow
    const current = row !== undefined && isCurrentRow ? isCurrentRow(row) : false
    const extra = row !== undefined && rowClassName ? rowClassName(row) : undefined
    return (
      <div
        key={index}
        id={`${idBase}-row-${index}`}
        role="row"
        aria-rowindex={index + 2}
        aria-selected={isActive}
        aria-current={current ? 'true' : undefined}
        aria-busy={row === undefined ? true : undefined}
        data-testid={rowTestId}
        className={`vt-row${isActive ? ' vt-active' : ''}${current ? ' vt-current' : ''}${onActivate ? ' vt-clickable' : ''}${row === undefined ? ' vt-skeleton' : ''}${extra ? ` ${extra}` : ''}`}
        style={{ ...template, top, height: rowHeight }}
        onClick={() => {
          setActive(index)
          if (row !== undefined) onActivate?.(row, index)
        }}
      >
        {columns.map((c) => (
          <div key={c.id} role="gridcell" data-col={c.id} className={`vt-cell${c.className ? ` ${c.className}` : ''}`}>
            {row === undefined ? <span className="vt-bar" aria-hidden="true" /> : c.render(row)}
          </div>
        ))}
      </div>
    )
  })

  const activeMounted = total > 0 && mounted.some((r) => r.index === activeRow)
  return (
    <div
      ref={scrollRef}
      className={`vt-scroll${fit ? ' vt-fit' : ''}`}
      style={fit ? { maxHeight: height } : { height }}
      role="grid"
      aria-label={label}
      aria-rowcount={total + 1}
      aria-colcount={columns.length}
      aria-busy={busy || (loading && total === 0) ? true : undefined}
      aria-activedescendant={activeMounted ? `${idBase}-row-${activeRow}` : undefined}
      tabIndex={0}
      data-testid={testId}
      onKeyDown={onKeyDown}
    >
      <div className="vt-inner" style={{ minWidth }}>
        <div ref={headerRef} className="vt-head" role="rowgroup">
          <div className="vt-row vt-header-row" role="row" aria-rowindex={1} style={template}>
            {columns.map((c) => (
              <HeaderCell key={c.id} column={c} sort={sort} />
            ))}
          </div>
        </div>
        <div className="vt-body" role="rowgroup" style={{ height: spacerHeight(total, rowHeight) }}>
          {rows}
        </div>
        {total === 0 &&
          (loading ? (
            <div className="vt-placeholder" aria-hidden="true">
              {Array.from({ length: LOADING_ROWS }, (_, k) => (
                <div key={k} className="vt-row vt-skeleton vt-static" style={{ ...template, height: rowHeight }}>
                  {columns.map((c) => (
                    <div key={c.id} className="vt-cell">
                      <span className="vt-bar" />
                    </div>
                  ))}
                </div>
              ))}
            </div>
          ) : (
            <p className="vt-empty muted">{emptyText}</p>
          ))}
      </div>
    </div>
  )
}

function HeaderCell<T>({ column: c, sort }: { column: Column<T>; sort: TableSort | undefined }) {
  const numeric = c.className?.split(' ').includes('num') ?? false
  const className = numeric ? 'vt-cell num' : 'vt-cell'
  if (!c.sortable || !sort) {
    return (
      <div role="columnheader" className={className}>
        {c.header}
      </div>
    )
  }
  const sorted = sort.columnId === c.id
  return (
    <div role="columnheader" className={className} aria-sort={sorted ? sort.direction : 'none'}>
      <button type="button" className="vt-sort" onClick={() => sort.onSort(c.id)}>
        {c.header}
        <span aria-hidden="true" className="vt-sort-mark">
          {sorted ? (sort.direction === 'descending' ? ' ▼' : ' ▲') : ''}
        </span>
      </button>
    </div>
  )
}
