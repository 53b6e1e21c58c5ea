/**
 * BullMQ queue depth beside the breakers (issue #14 build point 4): `collector.watchQueue(queue, { worker })` samples
 * the queue's job counts by state and its oldest waiting job's age every `sampleIntervalMs` (default 1 s, the flush
 * cadence) into the
 * three time tiers, and counts the jobs this instance's worker completed and failed. BullMQ is an optional peer
 * dependency: the queue and worker are taken structurally (`WatchableQueue`, `WatchableWorker`), so the SDK never
 * imports it.
 *
 * Storage (shared/keys.ts): `P:{svc}:queues` SET of queue names; `P:{svc}:queue:<queue>:<tier>:<bucketStart>` HASH
 * with the latest sample of the bucket (`s:<state>` counts, `oldestWaitingAgeMs`, `sampledAtMs`) and this bucket's
 * `completed` / `failed` counts (HINCRBY, summed over instances); each bucket expires with its tier. One pipeline per
 * sample, on the service's slot. Every instance that watches a queue samples it: the depth is the queue's, whoever
 * reads it, so the last sample of a bucket wins (not a sum).
 * Guest rules: a failed sample or write is counted (`stats.queueSampleErrors`) and reported to `onError`, never thrown;
 * the timer is unref()'d; event listeners are removed on close.
 */
import { z } from 'zod'
import type { KeySpace } from '../../shared/keys'
import { Name } from '../../shared/schemas'
import { TIERS, bucketExpiresAt, bucketStart, type Clock } from '../../shared/timeBuckets'
import type { RedisClient } from './redisTopology'

/**
 * BullMQ job states sampled, in BullMQ's names (`Queue.getJobCounts`). `paused` is BullMQ 5's list of a paused
 * queue's jobs; BullMQ 6 keeps them in `waiting` and counts `paused` as 0.
 */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'failed', 'completed'] as const
/** One of `QUEUE_STATES`. */
export type QueueState = (typeof QUEUE_STATES)[number]

/** What the SDK needs of a BullMQ `Queue` (bullmq 5/6): its name, counts by state, and the oldest waiting job. */
export interface WatchableQueue {
  readonly name: string
  getJobCounts(...types: string[]): Promise<Record<string, number>>
  /** BullMQ `getJobs(types, start, end, asc)`: `asc` true lists the oldest first. */
  getJobs(types: 'waiting'[], start?: number, end?: number, asc?: boolean): Promise<({ timestamp?: number } | undefined | null)[]>
  /** For the dashboard's "retry failed" (BullMQ ≥ 5). */
  retryJobs?(opts?: { state?: 'failed' | 'completed'; count?: number }): Promise<void>
  /** For the dashboard's "clean …" (BullMQ `clean(grace, limit, type)`): ids removed. */
  clean?(grace: number, limit: number, type?: 'completed' | 'failed'): Promise<string[]>
}

/** Operator actions the dashboard can send a watched queue (server/app/queueCommands.ts writes them). */
export const QUEUE_ACTIONS = ['retryFailed', 'cleanCompleted', 'cleanFailed'] as const
/** Most jobs one clean removes (BullMQ's `limit`). */
export const CLEAN_LIMIT = 100_000
/** Longest grace a clean accepts from Redis, ms (30 days). */
const MAX_GRACE_MS = 30 * 86_400_000

/**
 * KEYS: the queue's pending list, the command hash. ARGV: command id, instance, now ms. Takes the command when still
 * pending (state → running, claimedBy, claimedAtMs) and drops it from the list either way. Returns 1 when taken.
 */
const CLAIM_LUA = `
redis.call('LREM', KEYS[1], 0, ARGV[1])
if redis.call('TYPE', KEYS[2])['ok'] ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'running', 'claimedBy', ARGV[2], 'claimedAtMs', ARGV[3])
return 1
`

/** What the SDK needs of a BullMQ `Worker`: its `completed` and `failed` events (only counted, never awaited). */
export interface WatchableWorker {
  on(event: 'completed' | 'failed', listener: (...args: unknown[]) => void): unknown
  off(event: 'completed' | 'failed', listener: (...args: unknown[]) => void): unknown
}

/** Options of `watchQueue`. */
export interface WatchQueueOptions {
  /** Name shown in Fusebox (default the queue's own name, which must then be a valid name). */
  name?: string
  /** This instance's worker of the queue: its completed and failed jobs are counted per minute. */
  worker?: WatchableWorker
  /** How often the depth is sampled, ms (1,000 … 60,000; default 1,000: a new count shows within a flush interval). */
  sampleIntervalMs?: number
}

const OptionsSchema = z.object({
  name: Name.optional(),
  sampleIntervalMs: z.number().int().min(1000).max(60_000).default(1000),
})

/** What a watcher needs from its collector. */
export interface QueueWatchDeps {
  redis: RedisClient
  keys: KeySpace
  service: string
  clock: Clock
  /** This instance's name (who ran a queue command). */
  instance: string
  reportError: (error: Error, where: string) => void
  countError: () => void
}

/** A count as BullMQ answers it: a non-negative safe integer, else 0 (a malformed answer is not stored). */
function count(x: unknown): number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0
}

/** One watched queue: samples on a timer, counts worker events, writes both to the tiers. */
export class QueueWatcher {
  readonly name: string
  private readonly worker: WatchableWorker | undefined
  private readonly timer: NodeJS.Timeout
  private completed = 0
  private failed = 0
  private sampling: Promise<void> | null = null
  private readonly onCompleted = () => void this.completed++
  private readonly onFailed = () => void this.failed++

  /** @throws ZodError on an invalid name or interval; TypeError when `queue` is not a BullMQ-like queue */
  constructor(
    private readonly queue: WatchableQueue,
    options: WatchQueueOptions,
    private readonly deps: QueueWatchDeps,
  ) {
    if (typeof queue?.getJobCounts !== 'function' || typeof queue.getJobs !== 'function') throw new TypeError('watchQueue: expected a BullMQ Queue (getJobCounts, getJobs)')
    const o = OptionsSchema.parse({ name: options.name ?? queue.name, sampleIntervalMs: options.sampleIntervalMs })
    this.name = o.name ?? queue.name
    this.worker = options.worker
    this.worker?.on('completed', this.onCompleted)
    this.worker?.on('failed', this.onFailed)
    this.timer = setInterval(() => void this.sample(), o.sampleIntervalMs)
    this.timer.unref()
    void this.sample()
  }

  /** Samples now and writes (one at a time; a sample in flight is joined). Never rejects. */
  sample(): Promise<void> {
    this.sampling ??= this.sampleOnce().finally(() => (this.sampling = null))
    return this.sampling
  }

  private async sampleOnce(): Promise<void> {
    const { redis, keys, service, clock } = this.deps
    const completed = this.completed
    const failed = this.failed
    try {
      const [counts, oldest] = await Promise.all([this.queue.getJobCounts(...QUEUE_STATES), this.queue.getJobs(['waiting'], 0, 0, true)])
      const nowMs = clock()
      const first = oldest[0]
      const oldestAgeMs = first && typeof first.timestamp === 'number' && Number.isFinite(first.timestamp) ? Math.max(0, nowMs - first.timestamp) : 0
      const fields: Record<string, string> = { sampledAtMs: String(nowMs), oldestWaitingAgeMs: String(Math.round(oldestAgeMs)) }
      for (const s of QUEUE_STATES) fields[`s:${s}`] = String(count(counts[s]))
      const p = redis.pipeline()
      p.sadd(keys.queues(service), this.name)
      for (const tier of TIERS) {
        const start = bucketStart(nowMs, tier.bucketMs)
        const key = keys.queueBucket(service, this.name, tier.name, start)
        p.hset(key, fields)
        if (completed > 0) p.hincrby(key, 'completed', completed)
        if (failed > 0) p.hincrby(key, 'failed', failed)
        p.pexpireat(key, bucketExpiresAt(start, tier))
      }
      const results = (await p.exec()) ?? []
      const error = results.find(([e]) => e)?.[0]
      if (error) throw error
      // Only what was written leaves the counters (events during the write stay for the next sample).
      this.completed -= completed
      this.failed -= failed
    } catch (e) {
      this.deps.countError()
      this.deps.reportError(e instanceof Error ? e : new Error(String(e)), `queue ${this.name}`)
    }
    await this.runCommands()
  }

  /**
   * Runs the operator commands waiting for this queue (the first instance to claim one runs it) and writes each
   * outcome: `done` with the jobs affected, or `failed` with why. Never rejects.
   */
  private async runCommands(): Promise<void> {
    const { redis, keys, service, clock, instance } = this.deps
    const list = keys.queueCommands(service, this.name)
    try {
      const ids = (await redis.lrange(list, 0, -1)).filter((id) => /^[0-9a-f-]{36}$/.test(id)).reverse()
      for (const id of ids) {
        const key = keys.queueCommand(service, id)
        if ((await redis.eval(CLAIM_LUA, 2, list, key, id, instance, String(clock()))) !== 1) continue
        const h = await redis.hgetall(key)
        let outcome: { affected: number } | { error: string }
        try {
          outcome = { affected: await this.run(h.action, Number(h.graceMs)) }
        } catch (e) {
          outcome = { error: (e instanceof Error ? e.message : String(e)).slice(0, 300) }
        }
        await redis.hset(key, { state: 'affected' in outcome ? 'done' : 'failed', finishedAtMs: String(clock()), ...('affected' in outcome ? { affected: String(outcome.affected) } : { error: outcome.error }) })
      }
    } catch (e) {
      this.deps.countError()
      this.deps.reportError(e instanceof Error ? e : new Error(String(e)), `queue ${this.name} commands`)
    }
  }

  /** One command on the queue. @returns jobs affected. @throws Error for an unknown action, a bad grace or a queue without the method */
  private async run(action: string | undefined, graceMs: number): Promise<number> {
    if (!QUEUE_ACTIONS.includes(action as (typeof QUEUE_ACTIONS)[number])) throw new Error(`unknown queue action ${String(action).slice(0, 40)}`)
    if (action === 'retryFailed') {
      if (typeof this.queue.retryJobs !== 'function') throw new Error('this instance’s queue object has no retryJobs (BullMQ ≥ 5)')
      const before = count((await this.queue.getJobCounts('failed')).failed)
      await this.queue.retryJobs({ state: 'failed' })
      const after = count((await this.queue.getJobCounts('failed')).failed)
      return Math.max(0, before - after)
    }
    if (!Number.isSafeInteger(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) throw new Error('clean: the age bound is not 0 … 30 days')
    if (typeof this.queue.clean !== 'function') throw new Error('this instance’s queue object has no clean')
    return (await this.queue.clean(graceMs, CLEAN_LIMIT, action === 'cleanCompleted' ? 'completed' : 'failed')).length
  }

  /** Stops sampling and listening; a last sample writes what the worker counted since the previous one. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    this.worker?.off('completed', this.onCompleted)
    this.worker?.off('failed', this.onFailed)
    if (this.completed > 0 || this.failed > 0) await this.sample()
    await this.sampling
  }
}
