import { useCallback } from 'react'
import { NAME_PATTERN } from '../../../shared/vocabulary'
import { getRequestsWindow, listRequests, type RequestEntryData } from '../api'
import { formatCount, formatLogTime } from '../components/table/format'
import { InvalidFilter, LogFilters, useFilterProblem, useFilterValues, type FilterField } from '../components/table/LogFilters'
import { CursorLogGrid, WindowedLogGrid } from '../components/table/LogGrid'
import { useCursorRows } from '../components/table/useCursorRows'
import type { Column } from '../components/table/VirtualTable'
import { useService } from '../uiState'
import { useLiveLog } from './useLiveLog'

const STATUS_PATTERN = /^([1-5]xx|[1-5]\d\d)$/

const FILTERS: readonly FilterField[] = [
  { param: 'route', label: 'Route', placeholder: '/api/orders/:id' },
  {
    param: 'status',
    label: 'Status',
    placeholder: '5xx or 503',
    validate: (v) => (STATUS_PATTERN.test(v) ? null : 'Status is a code (503) or a class (5xx).'),
  },
  {
    param: 'instance',
    label: 'Instance',
    placeholder: 'instance name',
    validate: (v) => (NAME_PATTERN.test(v) ? null : 'Instance names use 1–64 of A-Z a-z 0-9 . _ -'),
  },
]

const COLUMNS: Column<RequestEntryData>[] = [
  { id: 'time', header: 'Time', width: '13rem', className: 'mono', render: (r) => formatLogTime(r.atMs) },
  { id: 'method', header: 'Method', width: '5.5rem', render: (r) => r.method },
  { id: 'route', header: 'Route', width: 'minmax(10rem, 2fr)', className: 'mono', render: (r) => r.route },
  { id: 'status', header: 'Status', width: '5rem', className: 'num vt-status', render: (r) => r.status },
  { id: 'duration', header: 'Duration ms', width: '7.5rem', className: 'num', render: (r) => formatCount(r.durationMs) },
  { id: 'instance', header: 'Instance', width: 'minmax(7rem, 1fr)', className: 'mono', render: (r) => r.instance },
  { id: 'error', header: 'Error type', width: 'minmax(7rem, 1fr)', render: (r) => r.errorType || '—' },
  { id: 'kind', header: 'Kind', width: '5rem', render: (r) => r.kind },
]

const rowClass = (r: RequestEntryData) => (r.status >= 500 || r.errorType ? 'vt-row-error' : undefined)

/** Grid settings shared by the whole and the filtered request log. */
const REQUEST_GRID = {
  columns: COLUMNS,
  statusTestId: 'requests-status',
  testId: 'requests-grid',
  rowTestId: 'request-row',
  minWidth: 960,
  rowClassName: rowClass,
}

/** Unfiltered: the whole log by offset (random access while scrolling, any size). */
function WholeLog({ service }: { service: string }) {
  const fetcher = useCallback(
    (offset: number, limit: number, signal: AbortSignal, untilId?: string) =>
      getRequestsWindow({ service, offset, limit, untilId }, { signal }),
    [service],
  )
  const rows = useLiveLog<RequestEntryData>(fetcher)
  return (
    <WindowedLogGrid
      {...REQUEST_GRID}
      rows={rows}
      summary={(total) => `${formatCount(total)} sampled requests (slow or failed), newest first`}
      approximateTitle="Beyond the first 5,000 rows the server locates rows by time"
      label={`Request log of ${service}`}
      resetKey={service}
      emptyText="No requests logged yet."
      errorText="Could not load the request log."
    />
  )
}

/** Filtered: cursor pages of matching requests, loaded as the table scrolls (or with "Load more"). */
function FilteredLog({ service, filters }: { service: string; filters: Record<string, string> }) {
  const { route, status, instance } = filters
  const fetcher = useCallback(
    (cursor: string | null, signal: AbortSignal) => listRequests({ service, cursor, limit: 200, route, status, instance }, { signal }),
    [service, route, status, instance],
  )
  const rows = useCursorRows<RequestEntryData>(fetcher)
  return (
    <CursorLogGrid
      {...REQUEST_GRID}
      rows={rows}
      summary={(n) => `${formatCount(n)} matching request${n === 1 ? '' : 's'} loaded`}
      showScanned
      label={`Request log of ${service}, filtered`}
      resetKey={`${service}|${route ?? ''}|${status ?? ''}|${instance ?? ''}`}
      emptyText="No matching requests."
      errorText="Could not load matching requests."
    />
  )
}

/** The sampled request log (slow and failed requests), virtualized at any size; filters switch to cursor paging. */
export function RequestsPage() {
  const [service] = useService()
  const filters = useFilterValues(FILTERS)
  const problem = useFilterProblem(FILTERS)
  const filtered = Object.keys(filters).length > 0
  return (
    <section className="log-page" aria-labelledby="requests-title">
      <div className="page-head">
        <h1 id="requests-title">Requests</h1>
        {service && <span className="muted small">service {service}</span>}
      </div>
      <LogFilters fields={FILTERS} label="Filter requests" />
      {service === null ? (
        <p className="muted">No service selected — pick one above once a service has reported.</p>
      ) : problem ? (
        <InvalidFilter problem={problem} />
      ) : filtered ? (
        <FilteredLog key={service} service={service} filters={filters} />
      ) : (
        <WholeLog key={service} service={service} />
      )}
    </section>
  )
}
