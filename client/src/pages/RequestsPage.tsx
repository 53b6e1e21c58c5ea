import { useCallback } from 'react'
import { getRequestsWindow, listRequests, type RequestEntryData } from '../api'
import { formatCount, formatLogTime } from '../components/table/format'
import { LogFilters, useFilterValues, type FilterField } from '../components/table/LogFilters'
import { useCursorRows } from '../components/table/useCursorRows'
import { VirtualTable, type Column } from '../components/table/VirtualTable'
import { useService } from '../uiState'
import { useLiveLog } from './useLiveLog'

const STATUS_PATTERN = /^([1-5]xx|[1-5]\d\d)$/
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

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
  { id: 'time', header: 'Time', width: '10.5rem', className: 'mono', render: (r) => formatLogTime(r.atMs) },
  { id: 'method', header: 'Method', width: '5.5rem', render: (r) => r.method },
  { id: 'route', header: 'Route', width: 'minmax(10rem, 2fr)', className: 'mono', render: (r) => r.route },
  { id: 'status', header: 'Status', width: '5rem', className: 'num vt-status', render: (r) => r.status },
  { id: 'duration', header: 'Duration ms', width: '7.5rem', className: 'num', render: (r) => formatCount(r.durationMs) },
  { id: 'instance', header: 'Instance', width: 'minmax(7rem, 1fr)', className: 'mono', render: (r) => r.instance },
  { id: 'error', header: 'Error type', width: 'minmax(7rem, 1fr)', render: (r) => r.errorType || '—' },
  { id: 'kind', header: 'Kind', width: '5rem', render: (r) => r.kind },
]

const rowClass = (r: RequestEntryData) => (r.status >= 500 || r.errorType ? 'vt-row-error' : undefined)

/** Unfiltered: the whole log by offset (random access while scrolling, any size). */
function WholeLog({ service }: { service: string }) {
  const fetcher = useCallback(
    (offset: number, limit: number, signal: AbortSignal) => getRequestsWindow({ service, offset, limit }, { signal }),
    [service],
  )
  const rows = useLiveLog<RequestEntryData>(fetcher)
  const { onRange, source } = rows

  return (
    <>
      <div className="table-status" data-testid="requests-status">
        <span>{rows.total === null ? 'Loading…' : `${formatCount(rows.total)} sampled requests (slow or failed), newest first`}</span>
        {rows.approximate && <span title="Beyond the first 5,000 rows the server locates rows by time">Position approximate (located by time)</span>}
        {rows.loading && rows.total !== null && <span>Loading rows…</span>}
        {rows.error && (
          <span className="error" role="alert">
            {rows.error}
          </span>
        )}
        <button type="button" onClick={() => source.refresh()}>
          Refresh
        </button>
      </div>
      <VirtualTable
        label={`Request log of ${service}`}
        columns={COLUMNS}
        total={rows.total ?? 0}
        getRow={(i) => source.row(i)}
        onRangeChange={onRange}
        testId="requests-grid"
        rowTestId="request-row"
        minWidth={960}
        rowClassName={rowClass}
        resetKey={service}
        loading={rows.total === null && !rows.error}
        emptyText={rows.error ? 'Could not load the request log.' : 'No requests logged yet.'}
      />
    </>
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
  const { source, entries } = rows
  return (
    <>
      <div className="table-status" data-testid="requests-status">
        <span>
          {formatCount(entries.length)} matching request{entries.length === 1 ? '' : 's'} loaded
          {rows.hasMore ? ' · more available' : ' · end of log'} ({formatCount(rows.scanned)} scanned)
        </span>
        {rows.loading && <span>Loading…</span>}
        {rows.error && (
          <span className="error" role="alert">
            {rows.error}
          </span>
        )}
        <button type="button" onClick={() => source.refresh()}>
          Refresh
        </button>
      </div>
      <VirtualTable
        label={`Request log of ${service}, filtered`}
        columns={COLUMNS}
        total={entries.length}
        getRow={(i) => entries[i]}
        onRangeChange={source.request}
        testId="requests-grid"
        rowTestId="request-row"
        minWidth={960}
        rowClassName={rowClass}
        resetKey={`${service}|${route ?? ''}|${status ?? ''}|${instance ?? ''}`}
        loading={entries.length === 0 && (rows.loading || (rows.hasMore && !rows.error))}
        emptyText={rows.error ? 'Could not load matching requests.' : 'No matching requests.'}
      />
      {rows.hasMore && (
        <p>
          <button type="button" onClick={source.loadMore} disabled={rows.loading}>
            {rows.loading ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  )
}

/** The sampled request log (slow and failed requests), virtualized at any size; filters switch to cursor paging. */
export function RequestsPage() {
  const [service] = useService()
  const filters = useFilterValues(FILTERS)
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
      ) : filtered ? (
        <FilteredLog key={service} service={service} filters={filters} />
      ) : (
        <WholeLog key={service} service={service} />
      )}
    </section>
  )
}
