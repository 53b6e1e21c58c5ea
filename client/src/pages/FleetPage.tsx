import { useEffect, useMemo } from 'react'
import { Link, useSearchParams } from 'react-router'
import type { AlertRule } from '../../../shared/alerts'
import { listAlertRules } from '../api'
import { stateTone } from '../components/breakers/breakerView'
import { toneOf, tileThresholds, type Threshold, type Tone } from '../components/overview/thresholds'
import { Sparkline } from '../components/overview/Tiles'
import { sharedSearch } from '../components/shell/PageNav'
import { PageLoading } from '../components/shell/PageLoading'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import type { FocusableRowProps } from '../components/table/useRowFocus'
import type { TableSort } from '../components/table/VirtualTable'
import { WindowNote } from '../components/WindowNote'
import { fleetRows, firstDirection, isFleetSortKey, sortFleetRows, type FleetRow, type FleetSortKey } from '../fleetView'
import { formatMs, formatPercent, formatRps, NO_VALUE } from '../format'
import { fetchSnapshotOnce, startLiveFeed } from '../liveFeed'
import { useSessionStore, useSnapshotStore } from '../store'
import { RANGES, useLive, useReportAsOf, useServices, useWindowEnd } from '../uiState'
import { usePolled } from '../usePolled'
import '../components/overview/overview.css'
import './fleet.css'

/** The live snapshot's window, the Overview's too (one stream serves both pages): the sparklines cover it. */
const SNAPSHOT_WINDOW_MS = RANGES['15m'].ms
/** How often the alert rules (the cells' amber/red) are read again while live, as on the Overview. */
const RULES_POLL_INTERVAL_MS = 30_000

const COLUMNS: readonly FocusColumn[] = [
  { label: 'Service', sortId: 'service' },
  { label: 'Throughput (req/s)', num: true, sortId: 'throughputRps' },
  { label: 'Error rate (%)', num: true, sortId: 'errorRate' },
  { label: 'p99 (ms)', num: true, sortId: 'p99Ms' },
  { label: 'Breakers not CLOSED', num: true, sortId: 'breakersNotClosed' },
  { label: 'Instances up', num: true, sortId: 'instancesUp' },
  { label: 'Throughput, 15 min' },
  { label: 'Error rate, 15 min' },
]

/** Words for a tone, so a colour never stands alone (WCAG 1.4.1), as on the Overview tiles. */
const TONE_WORD: Record<Tone, string> = { ok: '', warn: 'amber', bad: 'red' }

/**
 * Fleet (issue #15): every service as a row — its current throughput (req/s), error rate and p99 (the newest 10 s
 * bucket with data, as the Overview tiles' current value), breakers not CLOSED (linked to its Breakers page),
 * instances up / total and sparklines of throughput and error rate over the last 15 minutes — sortable (`?sort=`,
 * `?dir=`), each name a link to the service's Overview. The landing page of `/` when more than one service reports
 * (landing.ts), always at `/fleet`. Data: the live overview snapshot the Overview uses (every service in one
 * stream, persisted for offline); paused, one snapshot for the window ending at the pause moment.
 */
export function FleetPage() {
  const auth = useSessionStore((s) => s.auth)
  const snapshot = useSnapshotStore((s) => s.snapshot)
  const snapshotUntilMs = useSnapshotStore((s) => s.snapshotUntilMs)
  const services = useServices()
  const [live] = useLive()
  const { untilMs, ready } = useWindowEnd()
  const [params, setParams] = useSearchParams()

  useEffect(() => {
    if (auth !== 'signedIn' || !ready) return undefined
    return live ? startLiveFeed(SNAPSHOT_WINDOW_MS) : fetchSnapshotOnce(SNAPSHOT_WINDOW_MS, untilMs)
  }, [auth, live, ready, untilMs])
  useReportAsOf(snapshot?.asOfMs ?? null)

  const rules = usePolled((signal) => listAlertRules({ signal }), [], live ? RULES_POLL_INTERVAL_MS : null, {
    pageKey: 'fleet-alert-rules',
    reportAsOf: false,
  })

  const sortRaw = params.get('sort')
  const sortBy: FleetSortKey = isFleetSortKey(sortRaw) ? sortRaw : 'service'
  const dirRaw = params.get('dir')
  const direction = dirRaw === 'asc' ? 'ascending' : dirRaw === 'desc' ? 'descending' : firstDirection(sortBy)
  const sort: TableSort = {
    columnId: sortBy,
    direction,
    onSort: (id) => {
      if (!isFleetSortKey(id)) return
      // Same column: flip. New column: its first direction (names A→Z, figures worst first).
      const next = id === sortBy ? (direction === 'ascending' ? 'descending' : 'ascending') : firstDirection(id)
      setParams((prev) => {
        const p = new URLSearchParams(prev)
        if (id === 'service') p.delete('sort')
        else p.set('sort', id)
        if (next === firstDirection(id)) p.delete('dir')
        else p.set('dir', next === 'ascending' ? 'asc' : 'desc')
        return p
      })
    },
  }

  const rows = useMemo(() => sortFleetRows(fleetRows(snapshot, services), sortBy, direction), [snapshot, services, sortBy, direction])
  // Figures of another window are still on screen: the snapshot of before the pause (or of the last pause).
  const busy = snapshot !== null && snapshotUntilMs !== (untilMs ?? null)

  let body
  if (!snapshot && !services) body = <PageLoading label="Loading the fleet…" />
  else if (rows.length === 0) {
    body = <p className="empty-state">No services are reporting yet. Instrument a service with the Fusebox SDK to see it here.</p>
  } else {
    body = (
      <div className="fleet-table" aria-busy={busy || undefined}>
        <FocusTable
          testId="fleet-table"
          caption="Every service: current throughput, error rate and p99, breakers not CLOSED, instances up, and the last 15 minutes"
          columns={COLUMNS}
          rows={rows}
          sort={sort}
          renderRow={(r, _i, focus) => <FleetTableRow key={r.service} row={r} focus={focus} params={params} rules={rules.data ?? []} />}
        />
        <p className="fleet-scroll-cue muted small" aria-hidden="true">
          Breakers, instances and trends: scroll the table sideways →
        </p>
      </div>
    )
  }

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Fleet</h1>
        <p className="muted small" data-testid="fleet-note">
          Current figures: each service&apos;s newest 10 s bucket with data · trends:{' '}
          <WindowNote rangeLabel={RANGES['15m'].label} windowMs={SNAPSHOT_WINDOW_MS} untilMs={untilMs} dataSinceMs={null} />
        </p>
      </div>
      {body}
    </div>
  )
}

interface RowProps {
  row: FleetRow
  focus: FocusableRowProps
  params: URLSearchParams
  /** Every alert rule (the thresholds' source); empty until read. */
  rules: readonly AlertRule[]
}

/** One service's row; the error rate and p99 turn amber/red past the Overview tiles' thresholds, with the word. */
function FleetTableRow({ row: r, focus, params, rules }: RowProps) {
  const thresholds = tileThresholds(rules, r.service)
  const down = r.instancesTotal - r.instancesUp
  const overview = { pathname: '/', search: sharedSearch(params, { service: r.service }) }
  const breakers = { pathname: '/breakers', search: sharedSearch(params, { service: r.service }) }
  return (
    <tr data-testid={`fleet-row-${r.service}`} {...focus}>
      <th scope="row">
        <Link to={overview} data-testid={`fleet-link-${r.service}`}>
          {r.service}
        </Link>
      </th>
      <td className="num" data-testid={`fleet-throughput-${r.service}`}>
        {formatRps(r.throughputRps)}
      </td>
      <ToneCell testId={`fleet-error-rate-${r.service}`} value={r.errorRate} shown={formatPercent(r.errorRate)} threshold={thresholds.errorRate} bound={(b) => `${formatPercent(b)}%`} />
      <ToneCell testId={`fleet-p99-${r.service}`} value={r.p99Ms} shown={formatMs(r.p99Ms)} threshold={thresholds.p99Ms} bound={(b) => `${formatMs(b)} ms`} />
      <td className="num">
        <Link to={breakers} data-testid={`fleet-breakers-${r.service}`} aria-label={`${r.breakersNotClosed} of ${r.breakersTotal} breakers of ${r.service} not CLOSED`}>
          {r.breakersNotClosed} of {r.breakersTotal}
        </Link>
        {r.worstBreakerState !== null && (
          <>
            {' '}
            <span className={`pill small tone-${stateTone(r.worstBreakerState)}`}>{r.worstBreakerState}</span>
          </>
        )}
      </td>
      <td className="num" data-testid={`fleet-instances-${r.service}`}>
        {r.instancesUp}/{r.instancesTotal}
        {down > 0 && <span className="fleet-down"> ({down} down)</span>}
      </td>
      <td className="fleet-trend">{r.throughputPoints.length > 0 ? <Sparkline values={r.throughputPoints} /> : NO_VALUE}</td>
      <td className="fleet-trend">{r.errorRatePoints.length > 0 ? <Sparkline values={r.errorRatePoints} /> : NO_VALUE}</td>
    </tr>
  )
}

/** A figure's cell: the number, and amber/red with its word when past the threshold. */
function ToneCell({ testId, value, shown, threshold, bound }: { testId: string; value: number | null; shown: string; threshold: Threshold | undefined; bound: (b: number) => string }) {
  const tone = toneOf(value, threshold)
  const limit = tone === 'bad' ? threshold?.red : threshold?.amber
  return (
    <td className={`num tone-cell tone-cell-${tone}`} data-tone={tone}>
      <span data-testid={testId}>{shown}</span>
      {tone !== 'ok' && limit !== undefined && (
        <>
          {' '}
          <span className={`tone-badge tone-${tone}`} title={`threshold from ${threshold?.source ?? ''}`}>
            {TONE_WORD[tone]}
            <span className="tone-bound">: ≥ {bound(limit)}</span>
          </span>
        </>
      )}
    </td>
  )
}
