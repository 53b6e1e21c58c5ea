import { lazy, Suspense, useEffect, useId, useState } from 'react'
import { useSearchParams } from 'react-router'
import { ENDPOINTS_MAX_LIMIT, HTTP_METHODS, type HttpMethod } from '../../../shared/vocabulary'
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
import { WindowNote } from '../components/WindowNote'
import { formatMs, formatPercent, formatRps, formatThroughput } from '../format'
import { useEndpointColumnShown, usePrefsStore } from '../prefs'
import { dataSinceToShow, tierBucketMs, windowStartMs } from '../timeWindow'
import { pageKey, usePollInterval, useService, useTimeRange, useWindowEnd } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const SeriesCharts = lazy(() => import('../components/charts/SeriesCharts').then((m) => ({ default: m.SeriesCharts })))

/** Quiet time after typing before the filter is sent. */
const FILTER_DEBOUNCE_MS = 300
/** Error rates above this are shown in the "bad" colour. */
const HIGH_ERROR_RATE = 0.05

const num = (header: string, id: EndpointSortKey, render: Column<EndpointRowData>['render']): Column<EndpointRowData> => ({
  id,
  header,
  width: '6.5rem',
  className: 'num',
  sortable: true,
  render,
})
const LEADING: Column<EndpointRowData>[] = [
  { id: 'method', header: 'Method', width: '5.5rem', className: 'mono', render: (r) => r.method },
  { id: 'route', header: 'Route', width: 'minmax(12rem, 3fr)', className: 'mono', sortable: true, render: (r) => <span title={r.route}>{r.route}</span>, text: (r) => r.route },
  num('req/s', 'throughputRps', (r) => formatRps(r.throughputRps)),
  {
    ...num('Error %', 'errorRate', (r) => (
      <span className={r.errorRate !== null && r.errorRate > HIGH_ERROR_RATE ? 'text-bad' : undefined}>{formatPercent(r.errorRate)}</span>
    )),
    text: (r) => formatPercent(r.errorRate),
  },
  num('p50 ms', 'p50Ms', (r) => formatMs(r.p50Ms)),
  num('p95 ms', 'p95Ms', (r) => formatMs(r.p95Ms)),
  num('p99 ms', 'p99Ms', (r) => formatMs(r.p99Ms)),
]
/** The optional p99.9 column (prefs.ts), after p99 when shown. */
const P999_COLUMN = num('p99.9 ms', 'p999Ms', (r) => formatMs(r.p999Ms))
const REQUESTS_COLUMN: Column<EndpointRowData> = {
  id: 'requests',
  header: 'Requests',
  width: '7.5rem',
  className: 'num',
  sortable: true,
  render: (r) => r.requests.toLocaleString('en-US'),
}
/** Column ids are the server's sort keys (`method` is not sortable). */
const COLUMNS: Column<EndpointRowData>[] = [...LEADING, REQUESTS_COLUMN]
const COLUMNS_WITH_P999: Column<EndpointRowData>[] = [...LEADING, P999_COLUMN, REQUESTS_COLUMN]

/** A sortable column's id (an optional column's too: a link may sort by p99.9 with the column hidden). */
function isSortKey(x: string | null): x is EndpointSortKey {
  return x !== null && COLUMNS_WITH_P999.some((c) => c.sortable && c.id === x)
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
 * `sort`, `dir`, `filter`, `route`; the optional p99.9 column is a preference (prefs.ts). Paused, the table and the
 * drill-down read the same window (ending at the pause moment), so a row and its drill-down agree.
 */
export function EndpointsPage() {
  const [service] = useService()
  const time = useTimeRange()
  const range = time.key
  const interval = usePollInterval(LIVE_POLL_INTERVAL_MS)
  const { untilMs, ready } = useWindowEnd()
  const windowMs = time.windowMs
  const showP999 = useEndpointColumnShown('p999Ms')
  const setEndpointColumn = usePrefsStore((s) => s.setEndpointColumn)
  const p999Id = useId()
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
    ...(untilMs === undefined ? {} : { untilMs }),
    sortBy,
    descending,
    limit: ENDPOINTS_MAX_LIMIT,
    ...(filter ? { filter } : {}),
  }
  const result = usePolled<EndpointsResult>(
    (signal) => listEndpoints(query, { signal }),
    [query],
    interval,
    { pageKey: pageKey('endpoints', { service, range, untilMs, sortBy, descending, filter }), enabled: service !== null && ready },
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
  const readAtMs = untilMs ?? result.asOfMs
  const dataSinceMs =
    data && readAtMs !== null ? dataSinceToShow(data.dataSinceMs, windowStartMs(untilMs, readAtMs, windowMs), tierBucketMs(data.tier)) : null
  const toggleP999 = (shown: boolean) => {
    setEndpointColumn('p999Ms', shown)
    if (!shown && sortBy === 'p999Ms') update({ sort: null, dir: null }, false) // do not leave the rows sorted by a hidden column
  }

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Endpoints</h1>
        {service && (
          <p className="muted small" data-testid="endpoints-window">
            {service} · <WindowNote rangeLabel={time.label} windowMs={windowMs} untilMs={untilMs} dataSinceMs={dataSinceMs} />
          </p>
        )}
      </div>
      {selected && service && (
        <RouteDrillDown
          service={service}
          route={selected}
          windowMs={windowMs}
          untilMs={untilMs}
          ready={ready}
          range={range}
          interval={interval}
          onClose={() => update({ route: null })}
        />
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
        <span className="toolbar-check">
          <input id={p999Id} type="checkbox" checked={showP999} onChange={(e) => toggleP999(e.target.checked)} />
          <label htmlFor={p999Id}>Show p99.9</label>
        </span>
        <button
          type="button"
          disabled={!data || rows.length === 0}
          data-testid="endpoints-csv"
          onClick={() => {
            const columns = showP999 ? COLUMNS_WITH_P999 : COLUMNS
            const stamp = new Date(readAtMs ?? 0).toISOString().replace(/[:.]/g, '-')
            void import('../components/table/csv').then(({ downloadText, toCsv }) =>
              downloadText(`endpoints-${service ?? ''}-${range}-${stamp}.csv`, toCsv(columns, rows)),
            )
          }}
        >
          Download CSV
        </button>
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
            columns={showP999 ? COLUMNS_WITH_P999 : COLUMNS}
            total={rows.length}
            getRow={(i) => rows[i]}
            testId="endpoints-table"
            rowTestId="endpoint-row"
            minWidth={showP999 ? 860 : 760}
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
  /** Absolute window end (epoch ms) while paused; undefined when live. */
  untilMs: number | undefined
  /** False while the pause moment is being set: fetch nothing yet. */
  ready: boolean
  range: string
  /** Poll interval, ms (`usePollInterval`); null when not refreshing. */
  interval: number | null
  onClose: () => void
}

/**
 * Charts of one route over the window (`series.get` with `route`), and its totals as the API defines them — the same
 * definition and covered span as its row in the table (`drill-throughput`, `drill-error-rate`, `drill-requests`).
 */
function RouteDrillDown({ service, route, windowMs, untilMs, ready, range, interval, onClose }: DrillProps) {
  const headingId = useId()
  const series = usePolled<ServiceSeriesResult>(
    (signal) => getSeries({ service, windowMs, route, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }),
    [service, windowMs, untilMs, route.method, route.route],
    interval,
    {
      pageKey: pageKey('endpoint-series', { service, range, untilMs, method: route.method, route: route.route }),
      reportAsOf: false,
      enabled: ready,
    },
  )
  const t = series.data?.total
  // Escape closes the drill-down, as it closes a dialog (issue #15) — unless something else (an open dialog) took it.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open]')) return
      onClose()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [onClose])
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
      {t &&
        (t.throughputRps === null ? (
          <p className="muted small" data-testid="drill-figures">
            <span data-testid="drill-throughput">{formatThroughput(null)}</span> in this range.
          </p>
        ) : (
          <p className="muted small" data-testid="drill-figures">
            <span data-testid="drill-throughput">{formatRps(t.throughputRps)}</span> req/s ·{' '}
            <span data-testid="drill-error-rate">{formatPercent(t.errorRate)}</span>
            {t.errorRate === null ? '' : '%'} errors · p50 {formatMs(t.p50Ms)} · p95 {formatMs(t.p95Ms)} · p99 {formatMs(t.p99Ms)} · p99.9{' '}
            {formatMs(t.p999Ms)} ms · <span data-testid="drill-requests">{t.requests.toLocaleString('en-US')}</span> requests
          </p>
        ))}
      {series.error && !series.data ? (
        <p className="error-state" role="alert">
          Could not load this route’s series: {series.error.kind === 'aborted' ? 'cancelled' : series.error.message}
        </p>
      ) : !series.data ? (
        <SkeletonBlock heightRem={12} label="Loading route charts…" />
      ) : (
        <Suspense fallback={<SkeletonBlock heightRem={12} label="Loading charts…" />}>
          <SeriesCharts points={series.data.points} windowMs={windowMs} id="route" withP999 />
        </Suspense>
      )}
    </section>
  )
}
