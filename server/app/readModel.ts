/**
 * Reads what the collectors wrote and turns it into the dashboard's `OverviewSnapshot`. Two pipelined round trips
 * per call, no KEYS/SCAN: services, instances and breakers are indexed in sets written by the collectors.
 */
import type { Redis } from 'ioredis'
import { createHistogram, percentile, type Histogram } from '../../shared/histogram'
import type { KeySpace } from '../../shared/keys'
import { decodeSeries } from '../../shared/seriesCodec'
import {
  BreakerInstanceReport,
  DesiredBreakerState,
  type BreakerState,
  type BreakerSummary,
  type InstanceHealth,
  type OverviewSnapshot,
  type SeriesPoint,
  type ServiceOverview,
} from '../../shared/schemas'
import { bucketStartsInWindow, tierForWindow } from '../../shared/timeBuckets'

/** Severity order used for a breaker's cluster state: the worst live instance wins. */
const SEVERITY: Record<BreakerState, number> = { CLOSED: 0, FORCED_CLOSED: 1, HALF_OPEN: 2, OPEN: 3, FORCED_OPEN: 4 }

/** An instance counts as down after this many missed heartbeats (DESIGN.md / issue #3). */
const MISSED_HEARTBEATS_DOWN = 3

interface BucketAggregate {
  count: number
  errors: number
  histogram: Histogram
}

/** Folds one request-bucket hash (every series of a service, packed values) into one aggregate. */
function foldBucket(hash: Record<string, Buffer>): BucketAggregate {
  const agg: BucketAggregate = { count: 0, errors: 0, histogram: createHistogram() }
  for (const value of Object.values(hash)) {
    let v
    try {
      v = decodeSeries(value)
    } catch {
      continue // a corrupt or foreign field is skipped, not fatal for the overview
    }
    agg.count += v.count
    agg.errors += v.errors
    const a = agg.histogram.counts
    const b = v.histogram.counts
    for (let i = 0; i < b.length; i++) {
      const c = b[i] ?? 0
      if (c !== 0) a[i] = (a[i] ?? 0) + c
    }
    agg.histogram.count += v.histogram.count
  }
  return agg
}

function mergeAggregate(into: BucketAggregate, from: BucketAggregate): void {
  into.count += from.count
  into.errors += from.errors
  const a = into.histogram.counts
  const b = from.histogram.counts
  for (let i = 0; i < b.length; i++) {
    const c = b[i] ?? 0
    if (c !== 0) a[i] = (a[i] ?? 0) + c
  }
  into.histogram.count += from.histogram.count
}

type PipelineResult = [Error | null, unknown][] | null

function resultAt<T>(results: PipelineResult, i: number, fallback: T): T {
  const r = results?.[i]
  if (!r || r[0]) {
    if (r?.[0]) throw r[0]
    return fallback
  }
  return r[1] as T
}

/**
 * Builds the overview of every service over `[nowMs - windowMs, nowMs]` (finest tier that fits, see
 * `tierForWindow`) and every breaker.
 * @throws whatever Redis throws (the API turns it into a generic internal error with an id).
 */
export async function readOverview(redis: Redis, keys: KeySpace, nowMs: number, windowMs: number): Promise<OverviewSnapshot> {
  const services = (await redis.smembers(keys.services())).sort()
  const tier = tierForWindow(windowMs)
  const starts = bucketStartsInWindow(nowMs, windowMs, tier.bucketMs)

  // Round trip 1: request buckets, instances and breaker names of every service.
  const p1 = redis.pipeline()
  for (const svc of services) {
    for (const start of starts) p1.hgetallBuffer(keys.requestBucket(svc, tier.name, start))
    p1.zrange(keys.instances(svc), '0', '-1', 'WITHSCORES')
    p1.smembers(keys.breakers(svc))
  }
  const r1 = await p1.exec()

  const perService: { svc: string; buckets: BucketAggregate[]; instances: [string, number][]; breakers: string[] }[] = []
  let idx = 0
  for (const svc of services) {
    const buckets = starts.map(() => foldBucket(resultAt<Record<string, Buffer>>(r1, idx++, {})))
    const flat = resultAt<string[]>(r1, idx++, [])
    const instances: [string, number][] = []
    for (let i = 0; i + 1 < flat.length; i += 2) instances.push([flat[i] as string, Number(flat[i + 1])])
    const breakers = resultAt<string[]>(r1, idx++, []).sort()
    perService.push({ svc, buckets, instances, breakers })
  }

  // Round trip 2: instance health, breaker reports and desired states.
  const p2 = redis.pipeline()
  for (const s of perService) {
    for (const [inst] of s.instances) p2.hgetall(keys.instanceInfo(s.svc, inst))
    for (const b of s.breakers) {
      p2.hgetall(keys.breakerState(s.svc, b))
      p2.hgetall(keys.breakerDesired(s.svc, b))
    }
  }
  const r2 = await p2.exec()

  idx = 0
  const overviews: ServiceOverview[] = []
  const breakers: BreakerSummary[] = []
  for (const s of perService) {
    const instances: InstanceHealth[] = s.instances.map(([name, lastSeenMs]) => {
      const info = resultAt<Record<string, string>>(r2, idx++, {})
      const heartbeatMs = Number(info.heartbeatIntervalMs) > 0 ? Number(info.heartbeatIntervalMs) : 1000
      return {
        instance: name,
        pid: Number(info.pid ?? 0),
        version: info.version ?? 'unknown',
        startedAtMs: Number(info.startedAtMs ?? 0),
        lastSeenMs,
        heapUsedBytes: Number(info.heapUsedBytes ?? 0),
        rssBytes: Number(info.rssBytes ?? 0),
        up: nowMs - lastSeenMs <= MISSED_HEARTBEATS_DOWN * heartbeatMs,
      }
    })
    const live = new Set(instances.filter((i) => i.up).map((i) => i.instance))

    for (const name of s.breakers) {
      const stateHash = resultAt<Record<string, string>>(r2, idx++, {})
      const desiredHash = resultAt<Record<string, string>>(r2, idx++, {})
      const reports: BreakerInstanceReport[] = []
      for (const json of Object.values(stateHash)) {
        try {
          const parsed = BreakerInstanceReport.safeParse(JSON.parse(json))
          if (parsed.success && live.has(parsed.data.instance)) reports.push(parsed.data)
        } catch {
          // A corrupt report is skipped, not fatal for the whole overview.
        }
      }
      reports.sort((a, b) => a.instance.localeCompare(b.instance))
      const desired = DesiredBreakerState.safeParse(desiredHash)
      const desiredGeneration = desired.success ? desired.data.generation : 0
      let clusterState: BreakerState = 'CLOSED'
      for (const r of reports) if (SEVERITY[r.state] > SEVERITY[clusterState]) clusterState = r.state
      breakers.push({
        service: s.svc,
        name,
        clusterState,
        inClusterState: reports.filter((r) => r.state === clusterState).length,
        instancesReporting: reports.length,
        desiredGeneration,
        appliedCount: reports.filter((r) => r.appliedGeneration >= desiredGeneration).length,
        instances: reports,
      })
    }

    const total: BucketAggregate = { count: 0, errors: 0, histogram: createHistogram() }
    const series: SeriesPoint[] = s.buckets.map((b, i) => {
      mergeAggregate(total, b)
      const t = starts[i] as number
      const seconds = Math.max(1, Math.min(tier.bucketMs, nowMs - t)) / 1000
      return {
        t,
        throughputRps: b.count / seconds,
        errorRate: b.count > 0 ? b.errors / b.count : 0,
        p50Ms: percentile(b.histogram, 50),
        p95Ms: percentile(b.histogram, 95),
        p99Ms: percentile(b.histogram, 99),
      }
    })
    // Rate over the part of the window that has data: a service that started 10 s ago is not diluted over 5 min.
    const firstWithData = s.buckets.findIndex((b) => b.count > 0)
    const coveredS = Math.max(1, nowMs - (starts[Math.max(0, firstWithData)] as number)) / 1000
    overviews.push({
      service: s.svc,
      windowMs,
      requests: total.count,
      throughputRps: total.count / coveredS,
      errorRate: total.count > 0 ? total.errors / total.count : 0,
      p50Ms: percentile(total.histogram, 50),
      p95Ms: percentile(total.histogram, 95),
      p99Ms: percentile(total.histogram, 99),
      instances,
      series,
    })
  }
  return { asOfMs: nowMs, services: overviews, breakers }
}
