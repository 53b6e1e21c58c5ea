import { lazy, Suspense, useId, useMemo } from 'react'
import type { BreakerState, BreakerSummary, InstanceHealth, SeriesPoint, SeriesStats } from '../../../shared/schemas'
import { Link } from 'react-router'
import { getAlertEpisodes, listQueues } from '../api'
import { formatPercent, NO_VALUE } from '../format'
import { usePolled } from '../usePolled'
import { BreakerTable } from './breakers/BreakerTable'
import { BREAKER_STATE_ORDER, byUrgency, stateTone } from './breakers/breakerView'
import { InstanceList } from './InstanceList'
import type { Threshold, TileFigure } from './overview/thresholds'
import { Tiles } from './overview/Tiles'
import { SkeletonBlock } from './shell/PageLoading'
import { WindowNote } from './WindowNote'

// recharts is most of the page's weight: the numbers render first, the charts when their chunk arrives.
const SeriesCharts = lazy(() => import('./charts/SeriesCharts').then((m) => ({ default: m.SeriesCharts })))

/**
 * The overview numbers of a service over the window, as the API defines them (shared/figures.ts): throughput in
 * req/s (null: the window has no data), error rate 0–1 (null: no requests), latencies in ms (null: none).
 */
export type ServiceStats = Pick<SeriesStats, 'throughputRps' | 'errorRate' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms'>

interface Props {
  service: string
  /** Label of the range the numbers cover, e.g. "Last 15 minutes". */
  rangeLabel: string
  windowMs: number
  /** Absolute end of the window (epoch ms) while paused; undefined when live. */
  untilMs: number | undefined
  /** "data since" to show (epoch ms, see `dataSinceToShow`), or null. */
  dataSinceMs: number | null
  /** Figures over the window; null while none are loaded. */
  stats: ServiceStats | null
  /** The figures shown are not yet those of this window (a new range or pause moment is loading): `aria-busy`. */
  busy?: boolean
  points: readonly SeriesPoint[] | null
  instances: InstanceHealth[]
  /** Breakers of this service. */
  breakers: BreakerSummary[]
  /** Hit ratio 0–1 over every cache of the service; null when no lookups; undefined while loading. */
  cacheHitRatio: number | null | undefined
  /** Short label of the window for the tiles, e.g. "15 min". */
  windowShortLabel: string
  /** The current point (newest 10 s bucket with data, `currentPoint`) and its bucket width (ms). */
  current: SeriesPoint | null
  currentBucketMs: number
  /** The tiles' amber/red thresholds (`tileThresholds`). */
  thresholds: Partial<Record<TileFigure, Threshold>>
}

/** One service: numbers, charts, breaker counts by state, cache hit ratio, instances and the breakers table. */
export function ServiceSection(props: Props) {
  const { service: name, rangeLabel, windowMs, untilMs, dataSinceMs, stats, busy = false, points, instances, breakers: unsorted, cacheHitRatio } = props
  const breakers = useMemo(() => [...unsorted].sort(byUrgency), [unsorted])
  const headingId = useId()
  const counts = useMemo(() => {
    const m = new Map<BreakerState, number>()
    for (const b of breakers) m.set(b.clusterState, (m.get(b.clusterState) ?? 0) + 1)
    return BREAKER_STATE_ORDER.filter((s) => m.has(s)).map((s) => [s, m.get(s) ?? 0] as const)
  }, [breakers])
  const up = instances.filter((i) => i.up).length
  // Alert episodes of this service in the window, shaded on the charts (issue #14); every 10 s while live.
  const episodes = usePolled(
    (signal) => {
      const toMs = untilMs ?? Date.now()
      return getAlertEpisodes({ service: name, fromMs: toMs - windowMs, toMs }, { signal })
    },
    [name, windowMs, untilMs],
    untilMs === undefined ? 10_000 : null,
    { reportAsOf: false },
  )
  // Queue depth at a glance, linking to the Queues page (issue #14).
  const queues = usePolled((signal) => listQueues({ service: name, windowMs: 60_000 }, { signal }), [name], untilMs === undefined ? 10_000 : null, { reportAsOf: false })
  const waiting = (queues.data?.queues ?? []).reduce((n, q) => n + (q.counts?.waiting ?? 0), 0)
  const annotations = useMemo(
    () => (episodes.data ?? []).map((e) => ({ fromMs: e.fromMs, toMs: e.toMs, label: e.alertname, severity: e.severity })),
    [episodes.data],
  )

  return (
    <section className="service card" aria-labelledby={headingId} aria-busy={busy || undefined} data-testid={`service-${name}`}>
      <h2 id={headingId}>
        {name}{' '}
        <span className="muted small">
          <WindowNote rangeLabel={rangeLabel} windowMs={windowMs} untilMs={untilMs} dataSinceMs={dataSinceMs} />
        </span>
      </h2>
      <Tiles
        service={name}
        stats={stats}
        windowLabel={props.windowShortLabel}
        current={props.current}
        currentBucketMs={props.currentBucketMs}
        points={points}
        thresholds={props.thresholds}
      />
      <div className="summary-row">
        <div className="summary card-inner" data-testid={`breaker-counts-${name}`}>
          <h3>Breakers by state</h3>
          {counts.length === 0 ? (
            <p className="muted small">No breakers.</p>
          ) : (
            <ul className="state-counts">
              {counts.map(([state, n]) => (
                <li key={state}>
                  <span className={`pill tone-${stateTone(state)}`}>{state}</span> <span className="count">{n}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="summary card-inner">
          <h3>Cache hit ratio</h3>
          <p className="summary-value" data-testid={`cache-hit-ratio-${name}`}>
            {cacheHitRatio === undefined ? '…' : cacheHitRatio === null ? NO_VALUE : `${formatPercent(cacheHitRatio)}%`}
          </p>
        </div>
        {(queues.data?.queues.length ?? 0) > 0 && (
          <div className="summary card-inner">
            <h3>Queues</h3>
            <p className="summary-value" data-testid={`queues-waiting-${name}`}>
              {waiting} waiting
            </p>
            <Link className="small" to={{ pathname: '/queues', search: `?service=${encodeURIComponent(name)}` }}>
              {queues.data?.queues.length} queue{queues.data?.queues.length === 1 ? '' : 's'}
            </Link>
          </div>
        )}
        <div className="summary card-inner">
          <h3>Instances up</h3>
          <p className="summary-value" data-testid={`instances-up-${name}`}>
            {up}/{instances.length}
          </p>
        </div>
      </div>
      {points === null ? (
        <SkeletonBlock heightRem={12} label="Loading charts…" />
      ) : (
        <Suspense fallback={<SkeletonBlock heightRem={12} label="Loading charts…" />}>
          <SeriesCharts points={points} windowMs={windowMs} id={name} annotations={annotations} />
        </Suspense>
      )}
      <div className="service-grid">
        <BreakerTable service={name} breakers={breakers} />
        <InstanceList instances={instances} service={name} />
      </div>
    </section>
  )
}
