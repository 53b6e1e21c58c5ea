import { useId } from 'react'
import './overview.css'
import { Link, useSearchParams } from 'react-router'
import type { BreakerSummary } from '../../../../shared/schemas'
import { listEndpoints, type EndpointRowData } from '../../api'
import { formatClock, formatMs, formatPercent, formatSince } from '../../format'
import { usePolled } from '../../usePolled'
import { breakerDetailPath, byUrgency, enteredStateAtMs, stateTone } from '../breakers/breakerView'
import { sharedSearch } from '../shell/PageNav'
import { toneOf, type Threshold, type TileFigure, type Tone } from './thresholds'

/** The look-back of the worst-routes lists: "now" is the last minute (the alert templates' shortest window is 5 min). */
export const WORST_ROUTES_WINDOW_MS = 60_000
/** Routes named per list. */
const WORST_ROUTES = 3
/** Fewer requests than this in the last minute: too few for a route's error rate or p99 to say much (not listed). */
const MIN_ROUTE_REQUESTS = 5

interface Props {
  service: string
  /** The service's breakers (any order). */
  breakers: readonly BreakerSummary[]
  /** The tiles' thresholds: a route is listed when its figure is at least amber. */
  thresholds: Partial<Record<TileFigure, Threshold>>
  /** Polling period of the worst-routes lists, ms; null while paused (one read, for the window ending at `untilMs`). */
  intervalMs: number | null
  untilMs: number | undefined
  /** "Now" for the "(3 min)" ages: the snapshot's as-of or the pause moment, epoch ms; null: ages not shown. */
  nowMs: number | null
}

/**
 * "What is wrong now" at the top of the Overview (issue #15): every breaker of the service that is not CLOSED (state,
 * since when, on which instances — a link to its detail), then the routes with the highest error rate and the highest
 * p99 over the last minute that are past their amber threshold (links to the route's drill-down). When nothing is
 * wrong it says so in one line.
 */
export function IncidentStrip({ service, breakers, thresholds, intervalMs, untilMs, nowMs }: Props) {
  const headingId = useId()
  const [params] = useSearchParams()
  const notClosed = breakers.filter((b) => b.clusterState !== 'CLOSED').sort(byUrgency)
  const query = (sortBy: 'errorRate' | 'p99Ms') => (signal: AbortSignal) =>
    listEndpoints(
      { service, windowMs: WORST_ROUTES_WINDOW_MS, sortBy, descending: true, limit: 20, ...(untilMs === undefined ? {} : { untilMs }) },
      { signal },
    )
  const byErrors = usePolled(query('errorRate'), [service, untilMs], intervalMs, { reportAsOf: false })
  const byP99 = usePolled(query('p99Ms'), [service, untilMs], intervalMs, { reportAsOf: false })
  const worst = (rows: readonly EndpointRowData[] | undefined, figure: 'errorRate' | 'p99Ms') =>
    (rows ?? [])
      .filter((r) => r.requests >= MIN_ROUTE_REQUESTS && toneOf(r[figure], thresholds[figure]) !== 'ok')
      .slice(0, WORST_ROUTES)
  const errorRoutes = worst(byErrors.data?.rows, 'errorRate')
  const slowRoutes = worst(byP99.data?.rows, 'p99Ms')
  const allWell = notClosed.length === 0 && errorRoutes.length === 0 && slowRoutes.length === 0
  const routeLink = (r: EndpointRowData) => ({ pathname: '/endpoints', search: sharedSearch(params, { service, route: `${r.method} ${r.route}` }) })

  return (
    <section className={`incident-strip card ${allWell ? 'all-well' : 'has-incidents'}`} aria-labelledby={headingId} data-testid="incident-strip">
      <h2 id={headingId} className="incident-title">
        {allWell ? 'Nothing wrong now' : 'Wrong now'}
        <span className="muted small"> · {service}</span>
      </h2>
      {allWell && (
        <p className="muted small" data-testid="incident-none">
          Every breaker CLOSED; no route past its error-rate or p99 threshold in the last minute.
        </p>
      )}
      {notClosed.length > 0 && (
        <ul className="incident-list" aria-label="Breakers not CLOSED">
          {notClosed.map((b) => {
            const since = enteredStateAtMs(b)
            const inState = b.instances.filter((i) => i.state === b.clusterState).map((i) => i.instance)
            return (
              <li key={b.name} data-testid={`incident-breaker-${b.name}`}>
                <span className={`pill tone-${stateTone(b.clusterState)}`}>{b.clusterState}</span>{' '}
                <Link to={{ pathname: breakerDetailPath(b.service, b.name), search: sharedSearch(params) }} className="incident-name">
                  {b.name}
                </Link>{' '}
                <span className="small">
                  on {b.inClusterState}/{b.instancesReporting} instance{b.instancesReporting === 1 ? '' : 's'}
                  {inState.length > 0 && <span className="muted"> ({inState.join(', ')})</span>}
                  {since !== null && (
                    <>
                      {' '}
                      since <time dateTime={new Date(since).toISOString()}>{formatClock(since)}</time>{' '}
                      {nowMs !== null && <span className="muted">({formatSince(nowMs - since)})</span>}
                    </>
                  )}
                </span>
              </li>
            )
          })}
        </ul>
      )}
      <WorstRoutes label="Error rate, last minute" testId="incident-error-routes" rows={errorRoutes} link={routeLink} figure={(r) => formatPercent(r.errorRate) + '%'} tone={(r) => toneOf(r.errorRate, thresholds.errorRate)} />
      <WorstRoutes label="p99, last minute" testId="incident-slow-routes" rows={slowRoutes} link={routeLink} figure={(r) => `${formatMs(r.p99Ms)} ms`} tone={(r) => toneOf(r.p99Ms, thresholds.p99Ms)} />
    </section>
  )
}

/** One line of the strip: routes (links to their drill-down) with the figure that put them there; nothing when empty. */
function WorstRoutes(props: {
  label: string
  testId: string
  rows: readonly EndpointRowData[]
  link: (r: EndpointRowData) => { pathname: string; search: string }
  figure: (r: EndpointRowData) => string
  tone: (r: EndpointRowData) => Tone
}) {
  if (props.rows.length === 0) return null
  return (
    <p className="incident-routes small" data-testid={props.testId}>
      <span className="incident-label">{props.label}:</span>{' '}
      {props.rows.map((r, i) => (
        <span key={`${r.method} ${r.route}`}>
          {i > 0 && ' · '}
          <Link to={props.link(r)}>
            {r.method} {r.route}
          </Link>{' '}
          <strong className={`tone-text-${props.tone(r)}`}>{props.figure(r)}</strong>
        </span>
      ))}
    </p>
  )
}
