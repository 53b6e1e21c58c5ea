import { describe, expect, it } from 'vitest'
import type { BreakerSummary, InstanceHealth, OverviewSnapshot, SeriesPoint, ServiceOverview } from '../../shared/schemas'
import type { ServiceListItem } from './api'
import { fleetRows, sortFleetRows, type FleetRow } from './fleetView'

const T0 = 1_800_000_000_000

function point(i: number, figures: Partial<SeriesPoint> | null): SeriesPoint {
  if (figures === null) return { t: T0 + i * 10_000, noData: true, throughputRps: null, errorRate: null, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null }
  return { t: T0 + i * 10_000, noData: false, throughputRps: 0, errorRate: null, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null, ...figures }
}

function instance(name: string, up: boolean): InstanceHealth {
  return { instance: name, pid: 1, version: '1', startedAtMs: T0, lastSeenMs: T0, heapUsedBytes: 1, rssBytes: 1, up }
}

function service(name: string, series: SeriesPoint[], instances: InstanceHealth[]): ServiceOverview {
  return {
    service: name, windowMs: 900_000, bucketMs: 10_000, instances, series,
    requests: 0, errors: 0, throughputRps: 1, errorRate: 0, p50Ms: 1, p95Ms: 1, p99Ms: 1, p999Ms: 1, coveredMs: 1, dataSinceMs: T0,
  }
}

function breaker(svc: string, name: string, clusterState: BreakerSummary['clusterState']): BreakerSummary {
  return { service: svc, name, clusterState, inClusterState: 1, instancesReporting: 1, desiredGeneration: 0, appliedCount: 0, instances: [] }
}

const listed = (name: string, up: number, total: number): ServiceListItem => ({ service: name, instancesUp: up, instancesTotal: total })

describe('fleet rows', () => {
  const snapshot: Pick<OverviewSnapshot, 'services' | 'breakers'> = {
    services: [
      service('warehouse', [point(0, { throughputRps: 4, errorRate: 0.5, p99Ms: 900 }), point(1, null)], [instance('warehouse-1', true)]),
      service('storefront', [point(0, { throughputRps: 10, errorRate: 0.01, p99Ms: 100 }), point(1, { throughputRps: 20, errorRate: 0.2, p99Ms: 300 })], [
        instance('storefront-1', true),
        instance('storefront-2', false),
      ]),
    ],
    breakers: [breaker('storefront', 'payments', 'OPEN'), breaker('storefront', 'inventory', 'CLOSED'), breaker('storefront', 'ads', 'FORCED_OPEN'), breaker('warehouse', 'carrier', 'CLOSED')],
  }

  it('takes each service\'s current figures from its newest bucket with data, as the Overview tiles do (a trailing gap is skipped)', () => {
    const [storefront, warehouse] = fleetRows(snapshot, undefined)
    expect(storefront).toMatchObject({ service: 'storefront', throughputRps: 20, errorRate: 0.2, p99Ms: 300, currentAtMs: T0 + 10_000, bucketMs: 10_000 })
    expect(warehouse).toMatchObject({ service: 'warehouse', throughputRps: 4, errorRate: 0.5, p99Ms: 900, currentAtMs: T0 })
    expect(warehouse?.throughputPoints).toEqual([4, null])
    expect(storefront?.errorRatePoints).toEqual([0.01, 0.2])
  })

  it('counts breakers not CLOSED and names the most severe state; instances up / total come from the snapshot', () => {
    const [storefront, warehouse] = fleetRows(snapshot, undefined)
    expect(storefront).toMatchObject({ breakersNotClosed: 2, breakersTotal: 3, worstBreakerState: 'FORCED_OPEN', instancesUp: 1, instancesTotal: 2 })
    expect(warehouse).toMatchObject({ breakersNotClosed: 0, breakersTotal: 1, worstBreakerState: null, instancesUp: 1, instancesTotal: 1 })
  })

  it('lists a service only services.list knows with no figures and its listed instances', () => {
    const rows = fleetRows(snapshot, [listed('storefront', 1, 2), listed('archive', 0, 3), listed('warehouse', 1, 1)])
    expect(rows.map((r) => r.service)).toEqual(['archive', 'storefront', 'warehouse'])
    expect(rows[0]).toMatchObject({ throughputRps: null, errorRate: null, p99Ms: null, currentAtMs: null, instancesUp: 0, instancesTotal: 3, bucketMs: null, throughputPoints: [] })
  })

  it('is empty before anything is known', () => {
    expect(fleetRows(null, undefined)).toEqual([])
  })
})

describe('fleet sorting', () => {
  const row = (service: string, throughputRps: number | null, errorRate: number | null): FleetRow => ({
    service, throughputRps, errorRate, p99Ms: null, currentAtMs: null, breakersNotClosed: 0, breakersTotal: 0, worstBreakerState: null,
    instancesUp: 0, instancesTotal: 0, throughputPoints: [], errorRatePoints: [], bucketMs: null,
  })
  const rows = [row('b', 5, 0.1), row('a', null, null), row('c', 5, 0.3), row('d', 9, 0)]

  it('sorts by a figure either way, a missing figure below every number and ties by name', () => {
    expect(sortFleetRows(rows, 'throughputRps', 'descending').map((r) => r.service)).toEqual(['d', 'b', 'c', 'a'])
    expect(sortFleetRows(rows, 'throughputRps', 'ascending').map((r) => r.service)).toEqual(['a', 'b', 'c', 'd'])
    expect(sortFleetRows(rows, 'errorRate', 'descending').map((r) => r.service)).toEqual(['c', 'b', 'd', 'a'])
  })

  it('sorts by name A→Z or Z→A and leaves its input alone', () => {
    expect(sortFleetRows(rows, 'service', 'ascending').map((r) => r.service)).toEqual(['a', 'b', 'c', 'd'])
    expect(sortFleetRows(rows, 'service', 'descending').map((r) => r.service)).toEqual(['d', 'c', 'b', 'a'])
    expect(rows.map((r) => r.service)).toEqual(['b', 'a', 'c', 'd'])
  })
})
