/**
 * BullMQ queues of a service as the SDK samples them (server/sdk/queueWatch.ts): per queue the latest job counts by
 * state and the oldest waiting job's age, the jobs completed and failed over the window (and per minute), and one point
 * per bucket for the charts. Redis is an input: a count that is not a non-negative safe integer reads as absent and is
 * counted (`queue_value`), a bucket hash of the wrong type as empty.
 */
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { QUEUE_STATES, type QueueState } from '../../sdk/queueWatch'
import { readKey, reportInvalidValue } from './redisInput'
import { chartedBucketCount, readEach, windowBuckets } from './windowRead'

/** Counts by state of one sample (null: the bucket has no sample). */
export type QueueCounts = Record<QueueState, number>

/** One bucket of a queue: its last sample (null: none in it) and the jobs completed / failed in it. */
export interface QueuePoint {
  t: number
  counts: QueueCounts | null
  oldestWaitingAgeMs: number | null
  completed: number
  failed: number
}

/** One queue over a window. Times in epoch ms; rates per minute over the window's covered span. */
export interface QueueSummary {
  queue: string
  /** The newest sample in the window (null: none). */
  counts: QueueCounts | null
  oldestWaitingAgeMs: number | null
  sampledAtMs: number | null
  completed: number
  failed: number
  completedPerMin: number
  failedPerMin: number
  points: QueuePoint[]
}

/** A stored count: a non-negative safe integer, else null (and counted as invalid). */
function storedCount(key: string, field: string, raw: string | undefined): number | null {
  if (raw === undefined) return null
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN
  if (Number.isSafeInteger(n)) return n
  reportInvalidValue('queue_value', key, `field ${field}`)
  return null
}

/** The sample of one bucket hash, or null when it holds none (or a malformed one). */
function sampleOf(key: string, h: Record<string, string>): { counts: QueueCounts; oldestWaitingAgeMs: number; sampledAtMs: number } | null {
  const sampledAtMs = storedCount(key, 'sampledAtMs', h.sampledAtMs)
  if (sampledAtMs === null) return null
  const counts = {} as QueueCounts
  for (const s of QUEUE_STATES) {
    const n = storedCount(key, `s:${s}`, h[`s:${s}`])
    if (n === null) return null
    counts[s] = n
  }
  return { counts, oldestWaitingAgeMs: storedCount(key, 'oldestWaitingAgeMs', h.oldestWaitingAgeMs) ?? 0, sampledAtMs }
}

/**
 * Every watched queue of `service` over `[untilMs - windowMs, untilMs]` (`untilMs` default `nowMs`: an absolute window's
 * end, epoch ms; the tier `windowBuckets` picks), sorted by name; depths are the last sample in the window.
 * @throws Redis errors but WRONGTYPE (read as empty, counted)
 */
export async function readQueues(
  redis: RedisClient,
  keys: KeySpace,
  service: string,
  nowMs: number,
  windowMs: number,
  maxPoints = 1000,
  untilMs = nowMs,
): Promise<{ tier: string; queues: QueueSummary[] }> {
  const w = windowBuckets(nowMs, windowMs, maxPoints, untilMs)
  const charted = chartedBucketCount(w, nowMs)
  const names = (await readKey(keys.queues(service), () => redis.smembers(keys.queues(service)), [])).sort()
  const minutes = Math.max(1 / 60, Math.min(windowMs, w.endMs - (w.starts[0] ?? w.endMs)) / 60_000)
  const queues = await Promise.all(
    names.map(async (queue): Promise<QueueSummary> => {
      const bucketKeys = w.starts.map((t) => keys.queueBucket(service, queue, w.tier.name, t))
      const hashes = await readEach(redis, bucketKeys, (p, key) => p.hgetall(key), {} as Record<string, string>)
      let latest: ReturnType<typeof sampleOf> = null
      let completed = 0
      let failed = 0
      const points = w.starts.map((t, i): QueuePoint => {
        const key = bucketKeys[i] as string
        const h = hashes[i] ?? {}
        const sample = sampleOf(key, h)
        if (sample && (!latest || sample.sampledAtMs > latest.sampledAtMs)) latest = sample
        const c = storedCount(key, 'completed', h.completed) ?? 0
        const f = storedCount(key, 'failed', h.failed) ?? 0
        completed += c
        failed += f
        return { t, counts: sample?.counts ?? null, oldestWaitingAgeMs: sample?.oldestWaitingAgeMs ?? null, completed: c, failed: f }
      })
      const last = latest as ReturnType<typeof sampleOf>
      return {
        queue,
        counts: last?.counts ?? null,
        oldestWaitingAgeMs: last?.oldestWaitingAgeMs ?? null,
        sampledAtMs: last?.sampledAtMs ?? null,
        completed,
        failed,
        completedPerMin: Math.round((completed / minutes) * 100) / 100,
        failedPerMin: Math.round((failed / minutes) * 100) / 100,
        points: points.slice(0, charted),
      }
    }),
  )
  return { tier: w.tier.name, queues }
}
