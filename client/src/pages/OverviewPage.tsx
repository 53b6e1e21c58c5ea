import { useEffect, useMemo } from 'react'
import { getSeries, listAlertRules, listCaches, type CachesResult, type ServiceSeriesResult } from '../api'
import { IncidentStrip } from '../components/overview/IncidentStrip'
import { tileThresholds } from '../components/overview/thresholds'
import { currentPoint } from '../components/overview/Tiles'
import { ServiceSection } from '../components/ServiceSection'
import { PageLoading } from '../components/shell/PageLoading'
import { fetchSnapshotOnce, startLiveFeed } from '../liveFeed'
import { useSessionStore, useSnapshotStore } from '../store'
import { dataSinceToShow, seriesBucketMs, windowStartMs } from '../timeWindow'
import { pageKey, RANGES, useLive, usePollInterval, useRefresh, useReportAsOf, useService, useServices, useTimeRange, useWindowEnd } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

/** Window of the live snapshot stream: the shortest range. Longer ranges read `series.get` for numbers and charts. */
const SNAPSHOT_WINDOW_MS = RANGES['15m'].ms
/** How often the alert rules (the tiles' thresholds) are read again while live. */
const RULES_POLL_INTERVAL_MS = 30_000

/**
 * Overview of the selected service: throughput, error rate, p50/p95/p99/p99.9 (numbers and charts), breaker counts
 * by state, cache hit ratio, instances up, and the compact breakers table with Reset. Live: the `live.snapshot`
 * stream (15 min window) plus, for longer ranges, `series.get` every 5 s; paused: one fetch of each, for the window
 * ending at the pause moment (`useWindowEnd`), the same window every other page reads while paused.
 */
export function OverviewPage() {
  const auth = useSessionStore((s) => s.auth)
  const snapshot = useSnapshotStore((s) => s.snapshot)
  const services = useServices()
  const [service] = useService()
  const time = useTimeRange()
  const [live] = useLive()
  const [refresh] = useRefresh()
  const { untilMs, ready } = useWindowEnd()
  const snapshotUntilMs = useSnapshotStore((s) => s.snapshotUntilMs)
  const { windowMs, label } = time
  // The snapshot covers the last 15 minutes; any other window (longer, or absolute) reads its series.
  const long = windowMs !== SNAPSHOT_WINDOW_MS || time.absolute !== null
  const interval = usePollInterval(LIVE_POLL_INTERVAL_MS)

  useEffect(() => {
    if (auth !== 'signedIn' || !ready) return undefined
    if (!live) return fetchSnapshotOnce(SNAPSHOT_WINDOW_MS, untilMs)
    // A chosen refresh interval polls the snapshot instead of streaming it.
    if (refresh !== 'live' && interval !== null) {
      let stop = fetchSnapshotOnce(SNAPSHOT_WINDOW_MS, undefined)
      const timer = setInterval(() => {
        stop()
        stop = fetchSnapshotOnce(SNAPSHOT_WINDOW_MS, undefined)
      }, interval)
      return () => {
        clearInterval(timer)
        stop()
      }
    }
    return startLiveFeed(SNAPSHOT_WINDOW_MS)
  }, [auth, live, ready, untilMs, refresh, interval])
  useReportAsOf(snapshot?.asOfMs ?? null)

  const series = usePolled<ServiceSeriesResult>(
    (signal) => getSeries({ service: service ?? '', windowMs, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }),
    [service, windowMs, untilMs],
    interval,
    {
      pageKey: pageKey('overview-series', { service, range: time.key, untilMs }),
      reportAsOf: false,
      enabled: long && service !== null && ready,
    },
  )
  const caches = usePolled<CachesResult>(
    (signal) => listCaches({ service: service ?? '', windowMs, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }),
    [service, windowMs, untilMs],
    interval,
    { pageKey: pageKey('overview-caches', { service, range: time.key, untilMs }), reportAsOf: false, enabled: service !== null && ready },
  )

  const rules = usePolled((signal) => listAlertRules({ signal }), [], usePollInterval(RULES_POLL_INTERVAL_MS), {
    pageKey: 'overview-alert-rules',
    reportAsOf: false,
  })
  const thresholds = useMemo(() => tileThresholds(rules.data ?? [], service ?? ''), [rules.data, service])

  const cacheHitRatio = useMemo(() => {
    if (!caches.data) return caches.error ? null : undefined
    let hits = 0
    let lookups = 0
    for (const c of caches.data.caches) {
      hits += c.hits
      lookups += c.hits + c.misses
    }
    return lookups > 0 ? hits / lookups : null
  }, [caches.data, caches.error])

  const overview = snapshot?.services.find((s) => s.service === service)
  const breakers = useMemo(() => snapshot?.breakers.filter((b) => b.service === service) ?? [], [snapshot, service])

  let body
  if (!snapshot && !services) {
    body = <PageLoading label="Loading the first snapshot…" />
  } else if (service === null) {
    body = (
      <p className="empty-state">No services are reporting yet. Instrument a service with the Fusebox SDK to see it here.</p>
    )
  } else if (!overview && !snapshot) {
    body = <PageLoading label="Loading the first snapshot…" />
  } else {
    const stats = long ? (series.data?.total ?? null) : (overview ?? null)
    const points = long ? (series.data?.points ?? null) : (overview?.series ?? [])
    // "data since": the window starts at its end (the pause moment, else when the figures were read) minus its length.
    const readAtMs = long ? series.asOfMs : (snapshot?.asOfMs ?? null)
    const bucketMs = long ? series.data?.bucketMs : overview && seriesBucketMs(overview.series)
    const dataSinceMs =
      stats && bucketMs !== undefined && (untilMs !== undefined || readAtMs !== null)
        ? dataSinceToShow(stats.dataSinceMs, windowStartMs(untilMs, readAtMs ?? 0, windowMs), bucketMs)
        : null
    // Figures of another window are still on screen: the snapshot of before the pause (or of the last pause).
    const busy = long ? series.data === undefined : snapshotUntilMs !== (untilMs ?? null)
    const live10s = overview?.series ?? []
    body = (
      <>
        <IncidentStrip
          service={service}
          breakers={breakers}
          thresholds={thresholds}
          intervalMs={interval}
          untilMs={untilMs}
          nowMs={untilMs ?? snapshot?.asOfMs ?? null}
        />
        {!overview && <p className="empty-state">{service} has not reported in the last 15 minutes.</p>}
        {long && series.error && (
          <p className="error-state" role="alert">
            Could not load the {label.toLowerCase()}: {series.error.kind === 'aborted' ? 'cancelled' : series.error.message}
          </p>
        )}
        <ServiceSection
          service={service}
          rangeLabel={label}
          windowMs={windowMs}
          untilMs={untilMs}
          dataSinceMs={dataSinceMs}
          stats={stats}
          busy={busy}
          points={points}
          instances={overview?.instances ?? []}
          breakers={breakers}
          cacheHitRatio={cacheHitRatio}
          windowShortLabel={time.short}
          current={currentPoint(live10s)}
          currentBucketMs={seriesBucketMs(live10s)}
          thresholds={thresholds}
        />
      </>
    )
  }

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Overview</h1>
      </div>
      {body}
    </div>
  )
}
