import type { ReactNode } from 'react'
import { formatCount } from './format'
import type { CursorRows } from './useCursorRows'
import type { WindowedRows } from './useWindowedRows'
import { VirtualTable, type VirtualTableProps } from './VirtualTable'

/** What a log grid passes to `VirtualTable` as given; rows, range, loading and the empty text come from the log. */
type GridProps<T> = Omit<VirtualTableProps<T>, 'total' | 'getRow' | 'onRangeChange' | 'loading' | 'emptyText'>

/** Props every log grid takes besides its rows. */
interface LogProps<T> extends GridProps<T> {
  /** `data-testid` of the status bar above the grid. */
  statusTestId: string
  /** Shown in an empty grid when the log has no entries. */
  emptyText: string
  /** Shown in an empty grid when loading failed. */
  errorText: string
}

interface StatusBarProps {
  testId: string
  summary: string
  error: string | null
  /** Shows a "Refresh" button that calls this. */
  onRefresh?: () => void
  /** Notes between the summary and the error (loading, approximate positions). */
  children?: ReactNode
}

/** The status bar above a log grid: the summary, notes, the last error (an alert) and an optional "Refresh" button. */
function LogStatusBar({ testId, summary, error, onRefresh, children }: StatusBarProps) {
  return (
    <div className="table-status" data-testid={testId}>
      <span>{summary}</span>
      {children}
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
      {onRefresh && (
        <button type="button" onClick={onRefresh}>
          Refresh
        </button>
      )}
    </div>
  )
}

/** Props of `WindowedLogGrid`. */
export interface WindowedLogGridProps<T> extends LogProps<T> {
  /** The log's rows (`useLiveLog`): windows by offset, and the range handler for the grid. */
  rows: WindowedRows<T> & { onRange: (first: number, count: number) => void }
  /** Status text once the number of entries is known, e.g. "1,234 events, newest first". */
  summary: (total: number) => string
  /** Tooltip of the "Position approximate" note. */
  approximateTitle?: string
}

/**
 * A whole log in a `VirtualTable`, fetched in windows by offset as it scrolls (any size), under a status bar: the
 * entry count, "Position approximate" when rows were located by time, "Loading rows…", the last error, "Refresh".
 */
export function WindowedLogGrid<T>({
  rows,
  summary,
  approximateTitle,
  statusTestId,
  emptyText,
  errorText,
  ...grid
}: WindowedLogGridProps<T>) {
  const { source, total, error } = rows
  return (
    <>
      <LogStatusBar testId={statusTestId} summary={total === null ? 'Loading…' : summary(total)} error={error} onRefresh={() => source.refresh()}>
        {rows.approximate && <span title={approximateTitle}>Position approximate (located by time)</span>}
        {rows.loading && total !== null && <span>Loading rows…</span>}
      </LogStatusBar>
      <VirtualTable
        {...grid}
        total={total ?? 0}
        getRow={(i) => source.row(i)}
        onRangeChange={rows.onRange}
        loading={total === null && !error}
        emptyText={error ? errorText : emptyText}
      />
    </>
  )
}

/** Props of `CursorLogGrid`. */
export interface CursorLogGridProps<T> extends LogProps<T> {
  /** The log's rows (`useCursorRows`): cursor pages appended as the grid nears their end. */
  rows: CursorRows<T>
  /** Status text for the entries loaded so far, e.g. "12 matching events loaded"; "· more available" or "· end of log" follows. */
  summary: (loaded: number) => string
  /** Append "(N scanned)": how many entries the filter examined. */
  showScanned?: boolean
}

/**
 * A filtered (or otherwise cursor-paged) log in a `VirtualTable`: pages load as the grid scrolls near the end of
 * what is loaded, or with "Load more" below it; a status bar above gives the count, "Loading…", the last error and "Refresh" (start over from the newest entry).
 */
export function CursorLogGrid<T>({
  rows,
  summary,
  showScanned = false,
  statusTestId,
  emptyText,
  errorText,
  ...grid
}: CursorLogGridProps<T>) {
  const { source, entries, error, hasMore, loading } = rows
  const scanned = showScanned ? ` (${formatCount(rows.scanned)} scanned)` : ''
  const status = `${summary(entries.length)}${hasMore ? ' · more available' : ' · end of log'}${scanned}`
  return (
    <>
      <LogStatusBar testId={statusTestId} summary={status} error={error} onRefresh={() => source.refresh()}>
        {loading && <span>Loading…</span>}
      </LogStatusBar>
      <VirtualTable
        {...grid}
        total={entries.length}
        getRow={(i) => entries[i]}
        onRangeChange={source.request}
        loading={entries.length === 0 && (loading || (hasMore && !error))}
        emptyText={error ? errorText : emptyText}
      />
      {hasMore && (
        <p>
          <button type="button" onClick={source.loadMore} disabled={loading}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  )
}
