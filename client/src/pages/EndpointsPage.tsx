import { lazy, Suspense, useEffect, useId, useState, type KeyboardEvent } from 'react'
import { useSearchParams } from 'react-router'
import {
  getSeries,
  listEndpoints,
  type EndpointRowData,
  type EndpointSortKey,
  type EndpointsPage as EndpointsResult,
  type RouteMethod,
  type ServiceSeriesResult,
} from '../api'
import { PageLoading, SkeletonBlock } from '../components/shell/PageLoading'
import { formatMs, formatPercent, formatRps } from '../format'
import { pageKey, RANGES, useLive, useRange, useService } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const SeriesCharts = lazy(() => import('../components/charts/SeriesCharts').then((m) => ({ default: m.SeriesCharts })))

/** Rows per page of the endpoints table. */
export const ENDPOINTS_PAGE_SIZE = 50
/** Quiet time after typing before the filter is sent. */
const FILTER_DEBOUNCE_MS = 300

const METHODS: readonly RouteMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER']

interface Column {
  key: EndpointSortKey | 'method'
  label: string
  numeric: boolean
  sortable: boolean
}

const COLUMNS: readonly Column[] = [
  { key: 'method', label: 'Method', numeric: false, sortable: false },
  { key: 'route', label: 'Route', numeric: false, sortable: true },
  { key: 'throughputRps', label: 'req/s', numeric: true, sortable: true },
  { key: 'errorRate', label: 'Error %', numeric: true, sortable: true },
  { key: 'p50Ms', label: 'p50 ms', numeric: true, sortable: true },
  { key: 'p95Ms', label: 'p95 ms', numeric: true, sortable: true },
  { key: 'p99Ms', label: 'p99 ms', numeric: true, sortable: true },
  { key: 'requests', label: 'Requests', numeric: true, sortable: true },
]

function isSortKey(x: string | null): x is EndpointSortKey {
  return x !== null && COLUMNS.some((c) => c.sortable && c.key === x)
}

/** Parses `?route=METHOD /path` into the drill-down target; null when absent or malformed. */
export function parseRouteParam(raw: string | null): { method: RouteMethod; route: string } | null {
  if (!raw) return null
  const space = raw.indexOf(' ')
  if (space < 1) return null
  const method = raw.slice(0, space) as RouteMethod
  const route = raw.slice(space + 1)
  return METHODS.includes(method) && route.length > 0 && route.length <= 300 ? { method, route } : null
}

/** Endpoints: every route of the service, sorted and filtered by the server, paged; Enter/click drills down. */
export function EndpointsPage() {
  const [service] = useService()
  const [range] = useRange()
  const [live] = useLive()
  const windowMs = RANGES[range].ms
  const [params, setParams] = useSearchParams()
  const sortRaw = params.get('sort')
  const sortBy: EndpointSortKey = isSortKey(sortRaw) ? sortRaw : 'throughputRps'
  const descending = params.get('dir') !== 'asc'
  const offset = Math.max(0, Number(params.get('offset')) || 0)
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
        return next
      },
      { replace: !push },
    )

  // Debounced: the URL (and the query) follow the filter box after a short pause in typing.
  useEffect(() => {
    if (filterText === filter) return undefined
    const timer = setTimeout(() => update({ filter: filterText.trim() || null, offset: null }, false), FILTER_DEBOUNCE_MS)
    return () => clearTimeout(timer)
    // `update` is a fresh closure each render; the timer only needs the text and the applied filter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterText, filter])

  const query = {
    service: service ?? '',
    windowMs,
    sortBy,
    descending,
    offset,
    limit: ENDPOINTS_PAGE_SIZE,
    ...(filter ? { filter } : {}),
  }
  const result = usePolled<EndpointsResult>(
    (signal) => listEndpoints(query, { signal }),
    [query],
    live ? LIVE_POLL_INTERVAL_MS : null,
    { pageKey: pageKey('endpoints', { service, range, sortBy, descending, offset, filter }), enabled: service !== null },
  )

  const onSort = (key: EndpointSortKey) =>
    update({ sort: key === 'throughputRps' ? null : key, dir: key === sortBy ? (descending ? 'asc' : null) : key === 'route' ? 'asc' : null, offset: null })
  const open = (row: EndpointRowData) => update({ route: `${row.method} ${row.route}` })
  const onRowKey = (e: KeyboardEvent<HTMLTableRowElement>, row: EndpointRowData) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      open(row)
    }
  }

  const total = result.data?.total ?? 0
  const rows = result.data?.rows ?? []

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
        <span className="muted small" role="status">
          {result.data ? `${total.toLocaleString('en-US')} route${total === 1 ? '' : 's'}` : ''}
        </span>
      </div>
      {service === null ? (
        <p className="empty-state">No service selected.</p>
      ) : result.loading ? (
        <PageLoading label="Loading endpoints…" />
      ) : result.error && !result.data ? (
        <p className="error-state" role="alert">
          Could not load the endpoints: {result.error.kind === 'aborted' ? 'cancelled' : result.error.message}
        </p>
      ) : rows.length === 0 ? (
        <p className="empty-state">{filter ? `No route matches “${filter}”.` : 'No requests recorded in this range.'}</p>
      ) : (
        <>
          <div className="table-wrap sticky-head">
            <table className="data-table endpoints-table" data-testid="endpoints-table">
              <caption className="visually-hidden">Routes of {service}; select a row for its charts</caption>
              <thead>
                <tr>
                  {COLUMNS.map((c) => {
                    const active = c.key === sortBy
                    return (
                      <th
                        key={c.key}
                        scope="col"
                        className={c.numeric ? 'num' : undefined}
                        aria-sort={c.sortable && active ? (descending ? 'descending' : 'ascending') : undefined}
                      >
                        {c.sortable ? (
                          <button type="button" className="sort-button" onClick={() => onSort(c.key as EndpointSortKey)}>
                            {c.label}
                            <span aria-hidden="true" className="sort-mark">
                              {active ? (descending ? ' ▼' : ' ▲') : ''}
                            </span>
                          </button>
                        ) : (
                          c.label
                        )}
                      </th>
                    )
                  })}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const isSelected = selected?.method === r.method && selected.route === r.route
                  return (
                    <tr
                      key={`${r.method} ${r.route}`}
                      tabIndex={0}
                      className={isSelected ? 'clickable selected' : 'clickable'}
                      aria-current={isSelected ? 'true' : undefined}
                      onClick={() => open(r)}
                      onKeyDown={(e) => onRowKey(e, r)}
                      data-testid="endpoint-row"
                    >
                      <td className="mono">{r.method}</td>
                      <th scope="row" className="mono route-cell">
                        {r.route}
                      </th>
                      <td className="num">{formatRps(r.throughputRps)}</td>
                      <td className={r.errorRate > 0.05 ? 'num text-bad' : 'num'}>{formatPercent(r.errorRate)}</td>
                      <td className="num">{formatMs(r.p50Ms)}</td>
                      <td className="num">{formatMs(r.p95Ms)}</td>
                      <td className="num">{formatMs(r.p99Ms)}</td>
                      <td className="num">{r.requests.toLocaleString('en-US')}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <button type="button" disabled={offset === 0} onClick={() => update({ offset: String(Math.max(0, offset - ENDPOINTS_PAGE_SIZE)) || null })}>
              Previous
            </button>
            <span className="muted small">
              {offset + 1}–{Math.min(offset + rows.length, total)} of {total.toLocaleString('en-US')}
            </span>
            <button type="button" disabled={offset + ENDPOINTS_PAGE_SIZE >= total} onClick={() => update({ offset: String(offset + ENDPOINTS_PAGE_SIZE) })}>
              Next
            </button>
          </div>
        </>
      )}
    </div>
  )
}

interface DrillProps {
  service: string
  route: { method: RouteMethod; route: string }
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
