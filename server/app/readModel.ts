/**
 * The overview the dashboard opens on: every service's throughput, error rate and p50/p95/p99 over a window with
 * its time series, its instances, and every breaker. Composed from the read modules in ./reads (each one pipeline
 * per service; no KEYS/SCAN: services, instances and breakers are indexed in sets the collectors write).
 */
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import type { Clock } from '../../shared/timeBuckets'
import type { BreakerSummary, OverviewSnapshot, ServiceOverview } from '../../shared/schemas'
import { LiveHub } from './liveHub'
import { liveInstances, readServiceBreakers } from './reads/breakers'
import { readInstances, readServiceNames } from './reads/instances'
import { readServiceSeries, type WindowQuery } from './reads/series'

/**
 * Builds the overview of every service over the window `[untilMs - windowMs, untilMs]` (default ending now;
 * tier from `windowBuckets`) and every breaker as it is at `nowMs`. Services are read in parallel; each service's instances are read once and
 * serve both its instance list and its breakers' live set.
 * @throws whatever Redis throws (the API turns it into a generic internal error with an id).
 */
export async function readOverview(
  redis: Redis,
  keys: KeySpace,
  nowMs: number,
  windowMs: number,
  untilMs?: number,
): Promise<OverviewSnapshot> {
  const q: WindowQuery = { windowMs, untilMs }
  const services = await readServiceNames(redis, keys)
  const perService = await Promise.all(
    services.map(async (service): Promise<[ServiceOverview, BreakerSummary[]]> => {
      const [series, instances] = await Promise.all([
        readServiceSeries(redis, keys, service, nowMs, q),
        readInstances(redis, keys, service, nowMs),
      ])
      const breakers = await readServiceBreakers(redis, keys, service, liveInstances(instances))
      const overview: ServiceOverview = {
        service,
        windowMs: q.windowMs,
        bucketMs: series.bucketMs,
        ...series.total,
        instances: instances.map(({ instance, pid, version, startedAtMs, lastSeenMs, heapUsedBytes, rssBytes, up }) => ({
          instance, pid, version, startedAtMs, lastSeenMs, heapUsedBytes, rssBytes, up,
        })),
        series: series.points,
      }
      return [overview, breakers]
    }),
  )
  return { asOfMs: nowMs, services: perService.map(([o]) => o), breakers: perService.flatMap(([, b]) => b) }
}

/**
 * The live fan-out of overview snapshots for one app (see liveHub.ts): built where the app is built, closed by its
 * owner on shutdown. `intervalMs` is the push period (default 1000); `clock` gives epoch ms (default `Date.now`).
 */
export function createOverviewHub(redis: Redis, keys: KeySpace, intervalMs?: number, clock: Clock = Date.now): LiveHub {
  return new LiveHub((windowMs) => readOverview(redis, keys, clock(), windowMs), intervalMs)
}
