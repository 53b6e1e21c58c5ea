import { lazy, Suspense, useEffect, useId, useState } from 'react'
import { useSearchParams } from 'react-router'
import { ENDPOINTS_MAX_LIMIT } from '../../../shared/schemas'
import { HTTP_METHODS, type HttpMethod } from '../../../shared/vocabulary'
import {
  getSeries,
  listEndpoints,
  type EndpointRowData,
  type EndpointSortKey,
  type EndpointsPage as EndpointsResult,
  type ServiceSeriesResult,
} from '../api'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { RefreshFailed } from '../components/shell/RefreshFailed'
import { VirtualTable, type Column, type TableSort } from '../components/table/VirtualTable'
import { formatMs, formatPercent, formatRps } from '../format'
import { pageKey, RANGES, useLive, useRange, useService } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const SeriesCharts = lazy(() => import('../components/charts/SeriesCharts').then((m) => ({ default: m.SeriesCharts })))

/** Quiet time after typing before the filter is sent. */
const FILTER_DEBOUNCE_MS = 300

/** Column ids are the server's sort keys (`method` is not sortable). */
const COLUMNS: Column<EndpointRowData>[] = [
  { id: 'method', header: 'Method', width: '5.5rem', className: 'mono', render: (r) => r.method },
  { id: 'route', header: 'Route', width: 'minmax(12rem, 3fr)', className: 'mono', sortable: true, render: (r) => <span title={r.route}>{r.route}</span> },
  { id: 'throughputRps', header: 'req/s', width: '6.5rem', className: 'num', sortable: true, render: (r) => formatRps(r.throughputRps) },
  {
    id: 'errorRate',
    header: 'Error %',
    width: '6.5rem',
    className: 'num',
    sortable: true,
    render: (r) => <span className={r.errorRate > 0.05 ? 'text-bad' : undefined}>{formatPercent(r.errorRate)}</span>,
  },
  { id: 'p50Ms', header: 'p50 ms', width: '6.5rem', className: 'num', sortable: true, render: (r) => formatMs(r.p50Ms) },
  { id: 'p95Ms', header: 'p95 ms', width: '6.5rem', className: 'num', sortable: true, render: (r) => formatMs(r.p95Ms) },
  { id: 'p99Ms', header: 'p99 ms', width: '6.5rem', className: 'num', sortable: true, render: (r) => formatMs(r.p99Ms) },
  { id: 'requests', header: 'Requests', width: '7.5rem', className: 'num', sortable: true, render: (r) => r.requests.toLocaleString('en-US') },
]

function isSortKey(x: string | null): x is EndpointSortKey {
  return x !== null && COLUMNS.some((c) => c.sortable && c.id === x)
}

/** Parses `?route=METHOD /path` into the drill-down target; null when absent or malformed. */
export function parseRouteParam(raw: string | null): { method: HttpMethod; route: string } | null {
  if (!raw) return null
  const space = raw.indexOf(' ')
  if (space < 1) return null
  const method = raw.slice(0, space) as HttpMethod
  const route = raw.slice(space + 1)
  return HTTP_METHODS.includes(method) && route.length > 0 && route.length <= 300 ? { method, route } : null
}

/**
 * Endpoints: every route of the service (one call, up to ENDPOINTS_MAX_LIMIT rows), sorted and filtered by the
 * server, in a virtualized grid; header click sorts, Enter/click on a row drills down (`?route=`). URL state:
 * `sort`, `dir`, `filter`, `route`.
 */
export function EndpointsPage() {
  const [service] = useService()
  const [range] = useRange()
  const [live] = useLive()
  const windowMs = RANGES[range].ms
  const [params, setParams] = useSearchParams()
  const sortRaw = params.get('sort')
  const sortBy: EndpointSortKey = isSortKey(sortRaw) ? sortRaw : 'throughputRps'
  const descending = params.get('dir') !== 'asc'
  const filter = params.get('filter') ?? ''
  const selected = parseRouteParam(params.get('route'))
  const filterId = useId()
  const [filterText, setFilterText] = useState(filter)
  // The URL's filter changed from outside the box (back button, shared link): show it in the box.
  const [appliedFilter, setAppliedFilter] = useState(filter)
  if (appliedFilter !== filter) {
    setAppliedFilter(filter)
    setFilterText(filter)
  }

  const update = (changes: Record<string, string | null>, push = true) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev)
        for (const [k, v] of Object.entries(changes)) {
          if (v === null || v === '') next.delete(k)
          else next.set(k, v)
        }
        next.delete('offset') // paging of the old table; links that still carry it show the whole table
        return next
      },
      { replace: !push },
    )

  // Debounced: the URL (and the query) follow the filter box after a short pause in typing.
  useEffect(() => {
    if (filterText === filter) return undefined
    const timer = setTimeout(() => update({ filter: filterText.trim() || null }, false), FILTER_DEBOUNCE_MS)
    return () => clearTimeout(timer)
    // `update` is a fresh closure each render; the timer only needs the text and the applied filter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterText, filter])

  const query = {
    service: service ?? '',
    windowMs,
    sortBy,
    descending,
    limit: ENDPOINTS_MAX_LIMIT,
    ...(filter ? { filter } : {}),
  }
  const result = usePolled<EndpointsResult>(
    (signal) => listEndpoints(query, { signal }),
    [query],
    live ? LIVE_POLL_INTERVAL_MS : null,
    { pageKey: pageKey('endpoints', { service, range, sortBy, descending, filter }), enabled: service !== null },
  )

  // A new sort or filter keeps the last rows of this service and range on screen (marked busy) until its answer
  // arrives, instead of a skeleton flash.
  const scope = `${service ?? ''}|${range}`
  const [kept, setKept] = useState<{ scope: string; data: EndpointsResult } | null>(null)
  if (result.data && (kept?.data !== result.data || kept.scope !== scope)) setKept({ scope, data: result.data })
  const data = result.data ?? (kept?.scope === scope ? kept.data : undefined)
  const stale = result.data === undefined && data !== undefined

  const sort: TableSort = {
    columnId: sortBy,
    direction: descending ? 'descending' : 'ascending',
    onSort: (id) => {
      if (!isSortKey(id)) return
      // Same column: flip. New column: numbers start high-to-low, the route A→Z.
      const dir = id === sortBy ? (descending ? 'asc' : null) : id === 'route' ? 'asc' : null
      update({ sort: id === 'throughputRps' ? null : id, dir })
    },
  }
  const open = (row: EndpointRowData) => update({ route: `${row.method} ${row.route}` })
  const rows = data?.rows ?? []
  const total = data?.total ?? 0

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Endpoints</h1>
        {service && <p className="muted small">{service} · {RANGES[range].label.toLowerCase()}</p>}
      </div>
      {selected && service && (
        <RouteDrillDown service={service} route={selected} windowMs={windowMs} range={range} live={live} onClose={() => update({ route: null })} />
      )}
      <div className="toolbar">
        <label htmlFor={filterId}>Filter routes</label>
        <input
          id={filterId}
          type="search"
          className="filter-input"
          placeholder="method or path, e.g. /products"
          value={filterText}
          maxLength={200}
          onChange={(e) => setFilterText(e.target.value)}
        />
        <span className="muted small" role="status" data-testid="endpoints-count">
          {data ? `${total.toLocaleString('en-US')} route${total === 1 ? '' : 's'}` : ''}
          {stale ? ' · updating…' : ''}
        </span>
      </div>
      {service === null ? (
        <p className="empty-state">No service selected.</p>
      ) : result.error && !data ? (
        <p className="error-state" role="alert">
          Could not load the endpoints: {result.error.kind === 'aborted' ? 'cancelled' : result.error.message}
        </p>
      ) : (
        <>
          <RefreshFailed what="endpoints" error={result.error} />
          <VirtualTable
            label={`Routes of ${service}; Enter or click opens a route's charts`}
            columns={COLUMNS}
            total={rows.length}
            getRow={(i) => rows[i]}
            testId="endpoints-table"
            rowTestId="endpoint-row"
            minWidth={760}
            fit
            loading={data === undefined}
            busy={stale}
            sort={sort}
            onActivate={open}
            isCurrentRow={(r) => selected?.method === r.method && selected.route === r.route}
            resetKey={`${scope}|${sortBy}|${descending}|${filter}`}
            emptyText={filter ? `No route matches “${filter}”.` : 'No requests recorded in this range.'}
          />
          {total > rows.length && (
            <p className="muted small" data-testid="endpoints-truncated">
              Showing the first {rows.length.toLocaleString('en-US')} of {total.toLocaleString('en-US')} routes in this order; narrow them with the
              filter.
            </p>
          )}
        </>
      )}
    </div>
  )
}

interface DrillProps {
  service: string
  route: { method: HttpMethod; route: string }
  windowMs: number
  range: string
  live: boolean
  onClose: () => void
}

/** Charts of one route over the range (`series.get` with `route`). */
function RouteDrillDown({ service, route, windowMs, range, live, onClose }: DrillProps) {
  const headingId = useId()
  const series = usePolled<ServiceSeriesResult>(
    (signal) => getSeries({ service, windowMs, route }, { signal }),
    [service, windowMs, route.method, route.route],
    live ? LIVE_POLL_INTERVAL_MS : null,
    { pageKey: pageKey('endpoint-series', { service, range, method: route.method, route: route.route }), reportAsOf: false },
  )
  const t = series.data?.total
  return (
    <section className="card drill-down" aria-labelledby={headingId} data-testid="route-drilldown">
      <div className="drill-head">
        <h2 id={headingId} className="mono">
          {route.method} {route.route}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {t && (
        <p className="muted small">
          {formatRps(t.throughputRps)} req/s · {formatPercent(t.errorRate)}% errors · p50 {formatMs(t.p50Ms)} · p95 {formatMs(t.p95Ms)} · p99{' '}
          {formatMs(t.p99Ms)} ms · {t.requests.toLocaleString('en-US')} requests
        </p>
      )}
      {series.error && !series.data ? (
        <p className="error-state" role="alert">
          Could not load this route’s series: {series.error.kind === 'aborted' ? 'cancelled' : series.error.message}
        </p>
      ) : !series.data ? (
        <SkeletonBlock heightRem={12} label="Loading route charts…" />
      ) : (
        <Suspense fallback={<SkeletonBlock heightRem={12} label="Loading charts…" />}>
          <SeriesCharts points={series.data.points} windowMs={windowMs} id="route" />
        </Suspense>
      )}
    </section>
  )
}
