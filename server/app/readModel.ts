/**
 * The overview the dashboard opens on: every service's throughput, error rate and p50/p95/p99 over a window with
 * its time series, its instances, and every breaker. Composed from the read modules in ./reads (each one pipeline
 * per service; no KEYS/SCAN: services, instances and breakers are indexed in sets the collectors write).
 */
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import type { Clock } from '../../shared/timeBuckets'
import type { BreakerSummary, OverviewSnapshot, ServiceOverview } from '../../shared/schemas'
import { LiveHub } from './liveHub'
import { liveInstances, readServiceBreakers } from './reads/breakers'
import { readInstances, readServiceNames } from './reads/instances'
import { isWrongType, reportInvalidValue } from './reads/redisInput'
import { readServiceSeries, type WindowQuery } from './reads/series'

/**
 * Builds the overview of every service over the window `[untilMs - windowMs, untilMs]` (default ending now;
 * tier from `windowBuckets`) and every breaker as it is at `nowMs`. Services are read in parallel; each service's instances are read once and
 * serve both its instance list and its breakers' live set. Redis is an input (docs/decisions/014): a corrupt value
 * or a key of the wrong type is left out and counted (reads/redisInput.ts), so one service's bad data changes
 * nothing in another's figures and fails no read.
 * @throws whatever else Redis throws (the API turns "unreachable" into a 503, anything else into an internal error
 *   with an id).
 */
export async function readOverview(
  redis: RedisClient,
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
      const breakers = await readServiceBreakers(redis, keys, service, liveInstances(instances)).catch((e: unknown) => {
        // Redis is an input: a breaker key of the wrong type leaves this service's breakers out, not the overview.
        if (!isWrongType(e)) throw e
        reportInvalidValue('wrong_type', keys.breakers(service), `a breaker key of ${service}: ${(e as Error).message}`)
        return []
      })
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
export function createOverviewHub(redis: RedisClient, keys: KeySpace, intervalMs?: number, clock: Clock = Date.now): LiveHub {
  return new LiveHub((windowMs) => readOverview(redis, keys, clock(), windowMs), intervalMs)
}

/** Reads the overview for a window as of `nowMs` (epoch ms); see `createOverviewReader`. */
export type OverviewReader = (nowMs: number, windowMs: number, untilMs?: number) => Promise<OverviewSnapshot>

/** How old a shared overview may be when served again, in ms: one flush interval (collectors write once a second). */
export const OVERVIEW_MAX_AGE_MS = 1000
/** Distinct windows (windowMs, untilMs) whose latest overview is kept at most; beyond, the oldest is forgotten. */
const OVERVIEW_READER_ENTRIES = 64

/**
 * One overview computation shared by every caller of the same window (`overview.get` from every open dashboard):
 * a call while the window's computation runs waits for it (single flight), and a result computed at most
 * `maxAgeMs` before `nowMs` is served again (its `asOfMs` says when it was computed). Without it each call costs
 * ~200 Redis commands and ~7 ms CPU at 12 services, so one server tops out near 125 calls/s (docs/BENCHMARKS.md,
 * topic overviewLoad). A failed computation is not kept. Memory: at most OVERVIEW_READER_ENTRIES snapshots.
 * @param maxAgeMs default OVERVIEW_MAX_AGE_MS; 0 shares only computations in flight
 */
export function createOverviewReader(redis: RedisClient, keys: KeySpace, maxAgeMs: number = OVERVIEW_MAX_AGE_MS): OverviewReader {
  const entries = new Map<string, { asOfMs: number; snapshot: Promise<OverviewSnapshot>; settled: boolean }>()
  return (nowMs, windowMs, untilMs) => {
    const key = `${windowMs}|${untilMs ?? ''}`
    const hit = entries.get(key)
    if (hit && (!hit.settled || (maxAgeMs > 0 && nowMs >= hit.asOfMs && nowMs - hit.asOfMs <= maxAgeMs))) return hit.snapshot
    const entry = { asOfMs: nowMs, snapshot: readOverview(redis, keys, nowMs, windowMs, untilMs), settled: false }
    entries.delete(key)
    entries.set(key, entry)
    if (entries.size > OVERVIEW_READER_ENTRIES) entries.delete(entries.keys().next().value as string)
    entry.snapshot.then(
      () => { entry.settled = true },
      () => { if (entries.get(key) === entry) entries.delete(key) },
    )
    return entry.snapshot
  }
}
