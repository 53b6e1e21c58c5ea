/**
 * The fleet view's rows (issue #15, build item 2): one per service, from the live overview snapshot (which already
 * holds every service's 15-minute series, instances and breakers) and `services.list`, and how they sort (which page `/`
 * lands on is landing.ts). Pure: no React, no clock.
 */
import type { BreakerState, OverviewSnapshot, SeriesPoint } from '../../shared/schemas'
import type { ServiceListItem } from './api'
import { BREAKER_STATE_ORDER } from './components/breakers/breakerView'
import { currentPoint } from './components/overview/Tiles'

/** One service as the fleet table shows it. */
export interface FleetRow {
  service: string
  /** Start (epoch ms) of the bucket the current figures come from (`currentPoint` of the series); null: none. */
  currentAtMs: number | null
  /** Current throughput, req/s (newest 10 s bucket with data); null when there is none. */
  throughputRps: number | null
  /** Current error rate, a fraction 0–1; null without requests. */
  errorRate: number | null
  /** Current p99 latency, ms; null without requests. */
  p99Ms: number | null
  /** Breakers whose cluster state is not CLOSED (OPEN, HALF_OPEN, FORCED_OPEN, FORCED_CLOSED). */
  breakersNotClosed: number
  breakersTotal: number
  /** The most severe cluster state among them (BreakerSummary's order), null when all are CLOSED or none exist. */
  worstBreakerState: BreakerState | null
  instancesUp: number
  instancesTotal: number
  /** The window's points (the snapshot's 15-minute series, oldest first), for the sparklines; a gap is null. */
  throughputPoints: (number | null)[]
  errorRatePoints: (number | null)[]
  /** Bucket width of the current figures and the points, ms (10 000 on the live snapshot); null without a series. */
  bucketMs: number | null
}

/**
 * @param snapshot  the live overview snapshot (every service and breaker); null before the first one
 * @param services  `services.list` (every service that ever reported, with instances up / total); undefined before it answers
 * @returns one row per service named by either, sorted by name; a service the snapshot lacks gets null figures and
 *   its instances from `services.list`
 */
export function fleetRows(snapshot: Pick<OverviewSnapshot, 'services' | 'breakers'> | null, services: readonly ServiceListItem[] | undefined): FleetRow[] {
  const names = new Set<string>([...(services ?? []).map((s) => s.service), ...(snapshot?.services ?? []).map((s) => s.service)])
  return [...names].sort(byName).map((service): FleetRow => {
    const overview = snapshot?.services.find((s) => s.service === service)
    const listed = services?.find((s) => s.service === service)
    const breakers = snapshot?.breakers.filter((b) => b.service === service) ?? []
    const notClosed = breakers.filter((b) => b.clusterState !== 'CLOSED')
    const worst = BREAKER_STATE_ORDER.find((state) => state !== 'CLOSED' && notClosed.some((b) => b.clusterState === state)) ?? null
    const points: readonly SeriesPoint[] = overview?.series ?? []
    const now = currentPoint(points)
    return {
      service,
      currentAtMs: now?.t ?? null,
      throughputRps: now?.throughputRps ?? null,
      errorRate: now?.errorRate ?? null,
      p99Ms: now?.p99Ms ?? null,
      breakersNotClosed: notClosed.length,
      breakersTotal: breakers.length,
      worstBreakerState: worst,
      instancesUp: overview ? overview.instances.filter((i) => i.up).length : (listed?.instancesUp ?? 0),
      instancesTotal: overview ? overview.instances.length : (listed?.instancesTotal ?? 0),
      throughputPoints: points.map((p) => p.throughputRps),
      errorRatePoints: points.map((p) => p.errorRate),
      bucketMs: overview ? overview.bucketMs : null,
    }
  })
}

/** Columns the fleet table sorts by. */
export const FLEET_SORT_KEYS = ['service', 'throughputRps', 'errorRate', 'p99Ms', 'breakersNotClosed', 'instancesUp'] as const
/** A sortable column of the fleet table. */
export type FleetSortKey = (typeof FLEET_SORT_KEYS)[number]

/** Whether a string (e.g. `?sort=`) is a FleetSortKey. */
export function isFleetSortKey(x: string | null): x is FleetSortKey {
  return x !== null && (FLEET_SORT_KEYS as readonly string[]).includes(x)
}

/** The direction a column sorts in when first chosen: names A→Z, figures worst (largest) first. */
export function firstDirection(key: FleetSortKey): 'ascending' | 'descending' {
  return key === 'service' ? 'ascending' : 'descending'
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * @returns a sorted copy of `rows` by `key` in `direction`. A missing figure (null) counts as below every number, as
 *   the Endpoints table sorts it; ties keep name order (A→Z) in both directions.
 */
export function sortFleetRows(rows: readonly FleetRow[], key: FleetSortKey, direction: 'ascending' | 'descending'): FleetRow[] {
  const sign = direction === 'ascending' ? 1 : -1
  return [...rows].sort((a, b) => {
    if (key === 'service') return sign * byName(a.service, b.service)
    const x = a[key] ?? Number.NEGATIVE_INFINITY
    const y = b[key] ?? Number.NEGATIVE_INFINITY
    return x === y ? byName(a.service, b.service) : sign * (x < y ? -1 : 1)
  })
}
