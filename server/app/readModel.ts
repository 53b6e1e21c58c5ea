/**
 * The overview the dashboard opens on: every service's throughput, error rate and p50/p95/p99 over a window with
 * its time series, its instances, and every breaker. Composed from the read modules in ./reads (each one pipeline
 * per service; no KEYS/SCAN: services, instances and breakers are indexed in sets the collectors write).
 */
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import type { OverviewSnapshot, ServiceOverview } from '../../shared/schemas'
import { readBreakers } from './reads/breakers'
import { readInstances } from './reads/instances'
import { readServiceSeries } from './reads/series'

/**
 * Builds the overview of every service over `[nowMs - windowMs, nowMs]` (finest tier that fits, see
 * `tierForWindow`) and every breaker.
 * @throws whatever Redis throws (the API turns it into a generic internal error with an id).
 */
export async function readOverview(redis: Redis, keys: KeySpace, nowMs: number, windowMs: number): Promise<OverviewSnapshot> {
  const services = (await redis.smembers(keys.services())).sort()
  const [overviews, breakers] = await Promise.all([
    Promise.all(
      services.map(async (service): Promise<ServiceOverview> => {
        const [series, instances] = await Promise.all([
          readServiceSeries(redis, keys, service, nowMs, windowMs),
          readInstances(redis, keys, service, nowMs),
        ])
        return {
          service,
          windowMs,
          ...series.total,
          instances: instances.map(({ instance, pid, version, startedAtMs, lastSeenMs, heapUsedBytes, rssBytes, up }) => ({
            instance, pid, version, startedAtMs, lastSeenMs, heapUsedBytes, rssBytes, up,
          })),
          series: series.points,
        }
      }),
    ),
    readBreakers(redis, keys, services, nowMs),
  ])
  return { asOfMs: nowMs, services: overviews, breakers }
}
