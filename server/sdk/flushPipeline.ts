/**
 * The flush pipeline: once per flush interval, everything the collector aggregated goes to Redis in one pipeline —
 * request series and coverage bitmaps (seriesWriter.ts), cache counters, the heartbeat, breaker state reports,
 * breaker events and the sampled request log. At most one flush is in flight. A flush never rejects and never queues commands while
 * disconnected. Every effect is exactly-once however often a flush is sent (docs/decisions/015): series, coverage
 * marks, the heartbeat and breaker reports are overwrites (idempotent) and stay pending in their owner until their
 * own command is answered without an error; events, the request log and cache counters go as numbered batches
 * through one guarded script (flushEffects.ts). One command Redis refuses (WRONGTYPE, OOM …) fails only what it
 * touches. A flush is not started while the connection has more than MAX_OUTSTANDING_COMMANDS commands unanswered
 * (counted in `stats.skippedFlushes`): a stalled link gets no second copy of what it already holds.
 */
import { performance } from 'node:perf_hooks'
import type { Redis } from 'ioredis'
import { heartbeatFields, type Heartbeat } from '../../shared/heartbeat'
import type { KeySpace } from '../../shared/keys'
import type { EventRecord } from '../../shared/streamEntries'
import type { Clock } from '../../shared/timeBuckets'
import type { CacheEventKind } from '../../shared/vocabulary'
import type { FuseboxBreaker } from './breaker'
import type { CollectorStats } from './collectorStats'
import type { CounterTotals } from './counterTotals'
import { FlushEffects, allAnswered, isReplyError, type PipelineResults } from './flushEffects'
import type { RequestLogSampler } from './requestLogSampler'
import type { RequestMetrics } from './requestMetrics'
import type { SeriesWriter } from './seriesWriter'
import { withTimeout } from './withTimeout'

/**
 * Commands the connection may have sent and not yet had answered when a flush is due; beyond it the flush is skipped
 * (counted). One flush is ~10 commands (one HSET per bucket hash, not per series) plus the host's own, so a connection
 * that has this many unanswered is not draining. A guest does not pile onto it, owned or borrowed.
 */
export const MAX_OUTSTANDING_COMMANDS = 1000
const INSTANCE_INFO_TTL_MS = 10 * 60_000
const INSTANCE_FORGET_MS = 60 * 60_000

/** What the collector hands the flush pipeline. */
export interface FlushPipelineDeps {
  /** The collector's command connection (owned or borrowed). Nothing is sent while it is not ready. */
  redis: Redis
  /** Key builder (shared/keys.ts). */
  keys: KeySpace
  /** Service name, already validated. */
  service: string
  /** This instance's name, already validated (heartbeat, breaker reports). */
  instance: string
  /** `<instance>#<boot id>`: this process's identity for idempotent effects (same as the writer's own fields). */
  ownTag: string
  /** Writes the request series and coverage; also the source of `droppedBuckets` / `droppedLateRequests` / `droppedCoverageMarks`. */
  writer: SeriesWriter
  /** The request recorder; the source of `overflowedRequests`. */
  requests: RequestMetrics
  /** The sampled request log: taken by each flush that seals a batch, handed back when a flush cannot send (not ready, stalled). */
  requestLog: RequestLogSampler
  /** The breakers whose state is reported each flush. */
  breakers: ReadonlyMap<string, FuseboxBreaker<never[], unknown>>
  /** The heartbeat as of `nowMs` (epoch ms), sampled once per flush that reaches Redis. */
  heartbeat: (nowMs: number) => Heartbeat
  /** The collector's time source (epoch ms): each flush's `nowMs` (bucket closing, heartbeat, instance scores). */
  clock: Clock
  /** A flush not answered after this long (ms) is abandoned: its series stay pending, its effect batches in doubt (resent). */
  flushTimeoutMs: number
  /** Counters it keeps, and those it copies from the writer and recorder after each flush. */
  stats: Pick<
    CollectorStats,
    | 'flushes'
    | 'flushErrors'
    | 'lastFlushDurationMs'
    | 'droppedBuckets'
    | 'overflowedRequests'
    | 'droppedLateRequests'
    | 'droppedCoverageMarks'
    | 'droppedEvents'
    | 'droppedCacheEvents'
    | 'droppedRequestLogEntries'
    | 'droppedCounterIncrements'
    | 'skippedFlushes'
    | 'failedFlushCommands'
    | 'duplicateFlushBatches'
  >
  /** Receives every flush failure (where: `flush`), after `stats.flushErrors` was counted. */
  reportError: (error: unknown, where: string) => void
}

/** See the module comment. */
export class FlushPipeline {
  private flushing: Promise<void> | null = null
  private readonly effects: FlushEffects

  constructor(private readonly deps: FlushPipelineDeps) {
    const { keys, service, ownTag, stats, reportError } = deps
    this.effects = new FlushEffects({ keys, service, ownTag, stats, reportError })
  }

  /**
   * Flushes now, or joins the flush in flight (same promise). `final` writes every bucket regardless of time
   * (collector close). Never rejects: failures go to `reportError` and `stats.flushErrors`.
   */
  run(final: boolean): Promise<void> {
    if (this.flushing) return this.flushing
    // Never rejects: it is called as `void flush()` from timers, so a throw here would be an unhandled rejection that
    // ends the host process. Anything unexpected is reported like a failed flush.
    this.flushing = this.doFlush(final)
      .catch((e: unknown) => this.deps.reportError(e, 'flush'))
      .finally(() => {
        this.flushing = null
      })
    return this.flushing
  }

  /** Queues a breaker event for the next flush (bounded: flushEffects.ts MAX_PENDING_EVENTS, oldest dropped and counted). */
  addEvent(e: EventRecord): void {
    this.effects.addEvent(e)
  }

  /** Counts `n` cache events of `kind` for cache `cache` until the next flush (bounded: flushEffects.ts MAX_PENDING_CACHES). */
  countCacheEvent(cache: string, kind: CacheEventKind, n: number): void {
    this.effects.countCacheEvent(cache, kind, n)
  }

  /** The fleet counters the next flush adds to the service's (counterTotals.ts; the collector records requests into it). */
  get counters(): CounterTotals {
    return this.effects.counters
  }

  /** True while events, cache counts or batches of them wait for Redis (the collector's close flushes them). */
  get hasPendingEffects(): boolean {
    return this.effects.pending
  }

  private async doFlush(final: boolean): Promise<void> {
    const { redis, keys: k, service: svc, instance, writer, breakers, stats, requestLog } = this.deps
    const started = performance.now()
    const nowMs = this.deps.clock()
    writer.sync(nowMs, final)
    if (redis.status !== 'ready') {
      // Not connected: keep everything (bounded) for the next flush instead of queueing commands.
      requestLog.requeue(requestLog.take())
      this.syncCounters()
      return
    }
    // Commands sent and not yet answered (a borrowed client may not expose its queue: then nothing is known).
    const unanswered = (redis as { commandQueue?: { length: number } }).commandQueue?.length ?? 0
    if (unanswered > MAX_OUTSTANDING_COMMANDS) {
      stats.skippedFlushes++
      requestLog.requeue(requestLog.take())
      this.syncCounters()
      return
    }
    const p = redis.pipeline()
    p.sadd(k.services(), svc)
    const commitSeries = writer.plan(p, nowMs, final)
    p.zadd(k.instances(svc), nowMs, instance)
    p.zremrangebyscore(k.instances(svc), 0, nowMs - INSTANCE_FORGET_MS)
    p.hset(k.instanceInfo(svc, instance), heartbeatFields(this.deps.heartbeat(nowMs)))
    p.pexpire(k.instanceInfo(svc, instance), INSTANCE_INFO_TTL_MS)
    for (const b of breakers.values()) {
      p.sadd(k.breakers(svc), b.name)
      p.hset(k.breakerState(svc, b.name), instance, JSON.stringify(b.report(nowMs)))
    }
    // A new batch is sealed only while few are in doubt; otherwise the sample waits in the sampler (bounded).
    const log = this.effects.canSeal ? requestLog.take() : []
    const settleEffects = this.effects.plan(p, nowMs, log)
    const exec = p.exec()
    try {
      const results = await withTimeout(exec, this.deps.flushTimeoutMs, 'flush')
      commitSeries(results)
      settleEffects(results)
      this.countRefused(results)
      // Reached Redis: every command answered (some perhaps with an error reply), none given up by the connection.
      if (allAnswered(results)) stats.flushes++
    } catch (e) {
      // Sent but unanswered: series writes, marks and folds are idempotent and stay pending in the writer; the effect
      // batches stay in doubt and are resent (with the same sequence) until an answer says applied or duplicate —
      // this flush's own late answer included.
      commitSeries(null)
      settleEffects(null)
      exec.then(
        (late) => settleEffects(late),
        () => {},
      )
      this.flushFailed(e)
    }
    stats.lastFlushDurationMs = performance.now() - started
    this.syncCounters()
  }

  /**
   * Counts the commands Redis answered with an error reply (each retried or dropped by its owner) in
   * `stats.failedFlushCommands`; a flush with any failed command (reply or connection) is one flush error.
   */
  private countRefused(results: PipelineResults): void {
    if (results === null) return
    let refused = 0
    let first: Error | null = null
    for (const [err] of results) {
      if (err === null) continue
      if (isReplyError(err)) refused++
      first ??= err
    }
    if (first === null) return
    this.deps.stats.failedFlushCommands += refused
    this.flushFailed(first)
  }

  private flushFailed(e: unknown): void {
    this.deps.stats.flushErrors++
    this.deps.reportError(e, 'flush')
  }

  /** Copies the counters the writer and the recorder keep into `stats`. */
  private syncCounters(): void {
    const { stats, writer, requests } = this.deps
    stats.droppedBuckets = writer.droppedBuckets
    stats.droppedLateRequests = writer.droppedLateRequests
    stats.droppedCoverageMarks = writer.droppedCoverageMarks
    stats.overflowedRequests = requests.overflowedRequests
  }
}
