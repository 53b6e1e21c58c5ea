/**
 * What a rule's condition sees now: one `Observation` per label set it holds for (shared/alerts.ts documents each
 * kind). Every figure is read with the same functions the dashboard's screens use (reads/*), so an alert and the
 * chart it points at agree. Reads are shared within one evaluation (`ObservationReads`): ten rules on one service
 * read its breakers once.
 */
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import type { AlertCondition, Observation } from '../../../shared/alerts'
import type { BreakerState, SeriesStats } from '../../../shared/schemas'
import { readServiceBreakers, liveInstances } from '../reads/breakers'
import { readCaches } from '../reads/caches'
import { readInstances, readServiceNames, type InstanceDetail } from '../reads/instances'
import { readQueues } from '../reads/queues'
import { readRouteSeries, readServiceSeries } from '../reads/series'

/** Breaker states that count as "closed" for `breaker_not_closed` (FORCED_CLOSED: an operator holds it closed). */
const CLOSED_STATES: ReadonlySet<BreakerState> = new Set(['CLOSED', 'FORCED_CLOSED'])

/** The reads of one evaluation at `nowMs`, each made once however many rules ask (memoised promises). */
export class ObservationReads {
  private readonly memo = new Map<string, Promise<unknown>>()

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    readonly nowMs: number,
  ) {}

  private once<T>(id: string, read: () => Promise<T>): Promise<T> {
    let p = this.memo.get(id) as Promise<T> | undefined
    if (!p) {
      p = read()
      this.memo.set(id, p)
    }
    return p
  }

  /** The services a condition covers: its own, or every known service. */
  services(service: string | undefined): Promise<string[]> {
    if (service !== undefined) return Promise.resolve([service])
    return this.once('services', () => readServiceNames(this.redis, this.keys))
  }

  instances(service: string): Promise<InstanceDetail[]> {
    return this.once(`instances\t${service}`, () => readInstances(this.redis, this.keys, service, this.nowMs))
  }

  async breakers(service: string) {
    return this.once(`breakers\t${service}`, async () => readServiceBreakers(this.redis, this.keys, service, liveInstances(await this.instances(service))))
  }

  /** Request figures of a service (or one route) over the last `windowS`. */
  stats(service: string, windowS: number, route?: { method: string; route: string }): Promise<SeriesStats> {
    const q = { windowMs: windowS * 1000 }
    if (route) {
      return this.once(`route\t${service}\t${windowS}\t${route.method}\t${route.route}`, async () =>
        (await readRouteSeries(this.redis, this.keys, service, route.method, route.route, this.nowMs, q)).total,
      )
    }
    return this.once(`service\t${service}\t${windowS}`, async () => (await readServiceSeries(this.redis, this.keys, service, this.nowMs, q)).total)
  }

  queues(service: string, windowS: number) {
    return this.once(`queues\t${service}\t${windowS}`, async () => (await readQueues(this.redis, this.keys, service, this.nowMs, windowS * 1000, 60)).queues)
  }

  caches(service: string, windowS: number) {
    return this.once(`caches\t${service}\t${windowS}`, async () => (await readCaches(this.redis, this.keys, service, this.nowMs, windowS * 1000, 60)).caches)
  }
}

/** Labels of a request-figure alert: the service, and the route's method and template when the rule names one. */
function requestLabels(service: string, route: { method: string; route: string } | undefined): Record<string, string> {
  return route ? { service, method: route.method, route: route.route } : { service }
}

/** A queue's depth is its newest sample within this window, s (samples come every 5 s; older means stale). */
const QUEUE_DEPTH_WINDOW_S = 120

/** Rounds a figure for display in notifications (4 significant digits). */
const round = (x: number) => Number(x.toPrecision(4))

/**
 * The label sets `condition` holds for now (only those: a label set not returned does not hold).
 * @throws Redis errors — the caller keeps the rule's alerts as they were rather than resolve them on a failed read
 */
export async function observe(condition: AlertCondition, reads: ObservationReads): Promise<Observation[]> {
  const services = await reads.services(condition.service)
  const perService = await Promise.all(services.map((service) => observeService(condition, service, reads)))
  return perService.flat()
}

async function observeService(c: AlertCondition, service: string, reads: ObservationReads): Promise<Observation[]> {
  switch (c.kind) {
    case 'breaker_not_closed': {
      const out: Observation[] = []
      for (const b of await reads.breakers(service)) {
        if ((c.breaker !== undefined && b.name !== c.breaker) || CLOSED_STATES.has(b.clusterState) || b.instancesReporting === 0) continue
        const open = b.instances.filter((i) => !CLOSED_STATES.has(i.state))
        const since = Math.min(...open.map((i) => i.lastTransitionAtMs).filter((t) => Number.isFinite(t)))
        out.push({ labels: { service, breaker: b.name }, active: true, value: open.length, activeSinceMs: Number.isFinite(since) ? since : undefined })
      }
      return out
    }
    case 'instance_down':
      return (await reads.instances(service))
        .filter((i) => !i.up)
        .map((i) => ({ labels: { service, instance: i.instance }, active: true, value: null, activeSinceMs: i.lastSeenMs > 0 ? i.lastSeenMs : undefined }))
    case 'error_rate': {
      const s = await reads.stats(service, c.windowS, c.route)
      if (s.errorRate === null || s.requests < c.minRequests || s.errorRate * 100 <= c.abovePercent) return []
      return [{ labels: requestLabels(service, c.route), active: true, value: round(s.errorRate * 100) }]
    }
    case 'latency': {
      const s = await reads.stats(service, c.windowS, c.route)
      const value = { p50: s.p50Ms, p95: s.p95Ms, p99: s.p99Ms, 'p99.9': s.p999Ms }[c.percentile]
      if (value === null || value <= c.aboveMs) return []
      return [{ labels: requestLabels(service, c.route), active: true, value: round(value) }]
    }
    case 'throughput': {
      const s = await reads.stats(service, c.windowS, c.route)
      const rps = s.throughputRps
      if (rps === null) return []
      const below = c.belowRps !== undefined && rps < c.belowRps
      const above = c.aboveRps !== undefined && rps > c.aboveRps
      return below || above ? [{ labels: requestLabels(service, c.route), active: true, value: round(rps) }] : []
    }
    case 'queue_waiting':
    case 'queue_oldest_waiting': {
      const out: Observation[] = []
      for (const q of await reads.queues(service, QUEUE_DEPTH_WINDOW_S)) {
        if ((c.queue !== undefined && q.queue !== c.queue) || q.counts === null || q.sampledAtMs === null || reads.nowMs - q.sampledAtMs > QUEUE_DEPTH_WINDOW_S * 1000) continue
        const value = c.kind === 'queue_waiting' ? q.counts.waiting : Math.round((q.oldestWaitingAgeMs ?? 0) / 1000)
        if (c.kind === 'queue_waiting' ? value > c.above : value > c.aboveS) out.push({ labels: { service, queue: q.queue }, active: true, value })
      }
      return out
    }
    case 'queue_failed_rate': {
      const out: Observation[] = []
      for (const q of await reads.queues(service, c.windowS)) {
        if ((c.queue !== undefined && q.queue !== c.queue) || q.failedPerMin <= c.perMinuteAbove) continue
        out.push({ labels: { service, queue: q.queue }, active: true, value: q.failedPerMin })
      }
      return out
    }
    case 'cache_hit_ratio': {
      const out: Observation[] = []
      for (const cache of await reads.caches(service, c.windowS)) {
        if (c.cache !== undefined && cache.cache !== c.cache) continue
        const lookups = cache.hits + cache.misses
        if (cache.hitRatio === null || lookups < c.minLookups || cache.hitRatio * 100 >= c.belowPercent) continue
        out.push({ labels: { service, cache: cache.cache }, active: true, value: round(cache.hitRatio * 100) })
      }
      return out
    }
  }
}
