import { useEffect, useId, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type ReactNode } from 'react'
import { nextActiveRow, renderRange, rowsPerPage, scrollTopToReveal, spacerHeight, type ScrollGeometry } from './scrollModel'
import './table.css'

/** A column: header text, CSS grid track (e.g. `7rem`, `minmax(12rem, 2fr)`), and the cell's content. */
export interface Column<T> {
  id: string
  header: string
  width: string
  render: (row: T) => ReactNode
  /** Extra class on every cell (e.g. `num` for right-aligned numbers). */
  className?: string
}

interface Props<T> {
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
  rowHeight?: number
  /** Height of the scroll area (CSS). */
  height?: string
  /** Narrowest the columns get before the grid scrolls sideways (px). */
  minWidth?: number
  /** Shown instead of rows when `total` is 0. */
  emptyText?: string
  /** Extra class per row (e.g. an error row). */
  rowClassName?: (row: T) => string | undefined
  /** Changing this scrolls back to the top and resets the active row (new filter, new service). */
  resetKey?: string
}

/** Most row elements mounted at once. */
export const MAX_MOUNTED_ROWS = 60

/**
 * A virtualized, keyboard-navigable grid for logs of any size (1,000,000 rows and more): only the visible rows are
 * mounted, positioned over a spacer whose height is capped (scroll scaling, see scrollModel.ts). The grid is
 * focusable: ArrowUp/ArrowDown/PageUp/PageDown/Home/End move the active row and scroll it into view.
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
  minWidth = 720,
  emptyText = 'No rows.',
  rowClassName,
  resetKey = '',
}: Props<T>) {
  const idBase = useId()
  const scrollRef = useRef<HTMLDivElement>(null)
  const headerRef = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const [viewportHeight, setViewportHeight] = useState(400)
  const [active, setActive] = useState(0)
  const [lastResetKey, setLastResetKey] = useState(resetKey)

  if (lastResetKey !== resetKey) {
    setLastResetKey(resetKey)
    setActive(0)
    setScrollTop(0)
  }

  useLayoutEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0
  }, [resetKey])

  useEffect(() => {
    const el = scrollRef.current
    if (!el) return
    const measure = () => {
      const header = headerRef.current?.offsetHeight ?? 0
      setViewportHeight(Math.max(rowHeight, el.clientHeight - header))
    }
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    return () => ro.disconnect()
  }, [rowHeight])

  const geometry: ScrollGeometry = { total, rowHeight, viewportHeight }
  const range = renderRange(scrollTop, geometry, MAX_MOUNTED_ROWS)
  const activeRow = Math.min(active, Math.max(0, total - 1))

  useEffect(() => {
    onRangeChange?.(range.first, range.count)
  }, [onRangeChange, range.first, range.count])

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const next = nextActiveRow(e.key, activeRow, total, rowsPerPage(geometry))
    if (next === null) return
    e.preventDefault()
    setActive(next)
    const el = scrollRef.current
    if (!el) return
    const top = scrollTopToReveal(next, el.scrollTop, geometry)
    if (top !== el.scrollTop) {
      el.scrollTop = top
      setScrollTop(el.scrollTop)
    }
  }

  const template: CSSProperties = { gridTemplateColumns: columns.map((c) => c.width).join(' ') }
  const rows: ReactNode[] = []
  for (let k = 0; k < range.count; k++) {
    const index = range.first + k
    const row = getRow(index)
    const top = scrollTop + range.offsetPx + k * rowHeight
    const isActive = index === activeRow
    rows.push(
      <div
        key={index}
        id={`${idBase}-row-${index}`}
        role="row"
        aria-rowindex={index + 1}
        aria-selected={isActive}
        aria-busy={row === undefined ? true : undefined}
        data-testid={rowTestId}
        className={`vt-row${isActive ? ' vt-active' : ''}${row === undefined ? ' vt-skeleton' : ''}${row !== undefined && rowClassName ? ` ${rowClassName(row) ?? ''}` : ''}`}
        style={{ ...template, top, height: rowHeight }}
        onClick={() => setActive(index)}
      >
        {columns.map((c) => (
          <div key={c.id} role="gridcell" className={`vt-cell${c.className ? ` ${c.className}` : ''}`}>
            {row === undefined ? <span className="vt-bar" aria-hidden="true" /> : c.render(row)}
          </div>
        ))}
      </div>,
    )
  }

  const activeMounted = activeRow >= range.first && activeRow < range.first + range.count && total > 0
  return (
    <div
      ref={scrollRef}
      className="vt-scroll"
      style={{ height }}
      role="grid"
      aria-label={label}
      aria-rowcount={total}
      aria-colcount={columns.length}
      aria-activedescendant={activeMounted ? `${idBase}-row-${activeRow}` : undefined}
      tabIndex={0}
      data-testid={testId}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div className="vt-inner" style={{ minWidth }}>
        <div ref={headerRef} className="vt-head" role="rowgroup">
          <div className="vt-row vt-header-row" role="row" style={template}>
            {columns.map((c) => (
              <div key={c.id} role="columnheader" className={c.className?.includes('num') ? 'vt-cell num' : 'vt-cell'}>
                {c.header}
              </div>
            ))}
          </div>
        </div>
        <div className="vt-body" role="rowgroup" style={{ height: spacerHeight(total, rowHeight) }}>
          {rows}
        </div>
        {total === 0 && <p className="vt-empty muted">{emptyText}</p>}
      </div>
    </div>
  )
}
