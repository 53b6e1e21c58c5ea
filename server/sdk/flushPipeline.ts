/**
 * The flush pipeline: once per flush interval, everything the collector aggregated goes to Redis in one pipeline —
 * request series and coverage bitmaps (seriesWriter.ts), cache counters, the heartbeat, breaker state reports,
 * breaker events and the sampled request log. At most one flush is in flight. A flush never rejects and never queues commands while
 * disconnected: when Redis is away, or the pipeline fails, the batch is put back (`requeue`, bounded) for the next
 * flush; series stay in the writer until a write is confirmed (their writes are idempotent).
 */
import { performance } from 'node:perf_hooks'
import type { ChainableCommander, Redis } from 'ioredis'
import { heartbeatFields, type Heartbeat } from '../../shared/heartbeat'
import { cacheField, type KeySpace } from '../../shared/keys'
import { eventFields, requestLogFields, type EventRecord, type RequestLogEntry } from '../../shared/streamEntries'
import { TIERS, bucketExpiresAt, bucketStart, type Clock } from '../../shared/timeBuckets'
import { CACHE_EVENT_KINDS, STREAM_CAPS, type CacheEventKind } from '../../shared/vocabulary'
import type { FuseboxBreaker } from './breaker'
import type { CollectorStats } from './collectorStats'
import type { RequestLogSampler } from './requestLogSampler'
import type { RequestMetrics } from './requestMetrics'
import type { SeriesWriter } from './seriesWriter'
import { withTimeout } from './withTimeout'

/** Breaker events kept between flushes at most; beyond it the oldest are dropped and counted. */
export const MAX_PENDING_EVENTS = 1000
/** Distinct caches counted between flushes at most; events of further caches are dropped and counted (bounded memory). */
export const MAX_PENDING_CACHES = 100
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
  /** Writes the request series and coverage; also the source of `droppedBuckets` / `droppedLateRequests` / `droppedCoverageMarks`. */
  writer: SeriesWriter
  /** The request recorder; the source of `overflowedRequests`. */
  requests: RequestMetrics
  /** The sampled request log: taken each flush, handed back on failure. */
  requestLog: RequestLogSampler
  /** The breakers whose state is reported each flush. */
  breakers: ReadonlyMap<string, FuseboxBreaker<never[], unknown>>
  /** The heartbeat as of `nowMs` (epoch ms), sampled once per flush that reaches Redis. */
  heartbeat: (nowMs: number) => Heartbeat
  /** The collector's time source (epoch ms): each flush's `nowMs` (bucket closing, heartbeat, instance scores). */
  clock: Clock
  /** A flush not answered after this long (ms) is abandoned and its batch put back. */
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
  >
  /** Receives every flush failure (where: `flush`), after `stats.flushErrors` was counted. */
  reportError: (error: unknown, where: string) => void
}

/** Everything one flush takes besides request series (those stay in the SeriesWriter until confirmed). */
interface PendingBatch {
  events: EventRecord[]
  /** cache name → counts, indexed like CACHE_EVENT_KINDS. */
  cacheCounts: Map<string, number[]>
  requestLog: RequestLogEntry[]
}

/** See the module comment. */
export class FlushPipeline {
  private flushing: Promise<void> | null = null
  private pendingEvents: EventRecord[] = []
  /** cache name → counts since the last flush, indexed like CACHE_EVENT_KINDS. */
  private cacheCounts = new Map<string, number[]>()

  constructor(private readonly deps: FlushPipelineDeps) {}

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

  /** Queues a breaker event for the next flush; the oldest is dropped (and counted) beyond MAX_PENDING_EVENTS. */
  addEvent(e: EventRecord): void {
    if (this.pendingEvents.length >= MAX_PENDING_EVENTS) {
      this.pendingEvents.shift()
      this.deps.stats.droppedEvents++
    }
    this.pendingEvents.push(e)
  }

  /** Counts `n` cache events of `kind` for cache `cache` until the next flush (dropped and counted beyond MAX_PENDING_CACHES caches). */
  countCacheEvent(cache: string, kind: CacheEventKind, n: number): void {
    let counts = this.cacheCounts.get(cache)
    if (counts === undefined) {
      if (this.cacheCounts.size >= MAX_PENDING_CACHES) {
        this.deps.stats.droppedCacheEvents += n
        return
      }
      counts = [0, 0, 0, 0]
      this.cacheCounts.set(cache, counts)
    }
    const i = CACHE_EVENT_KINDS.indexOf(kind)
    if (i >= 0) counts[i] = (counts[i] ?? 0) + n
  }

  private async doFlush(final: boolean): Promise<void> {
    const { redis, keys: k, service: svc, instance, writer, breakers, stats } = this.deps
    const started = performance.now()
    const nowMs = this.deps.clock()
    writer.sync(nowMs, final)
    const pending: PendingBatch = { events: this.pendingEvents, cacheCounts: this.cacheCounts, requestLog: this.deps.requestLog.take() }
    this.pendingEvents = []
    this.cacheCounts = new Map()
    if (redis.status !== 'ready') {
      // Not connected: keep everything (bounded) for the next flush instead of queueing commands.
      this.requeue(pending)
      this.syncCounters()
      return
    }
    const p = redis.pipeline()
    p.sadd(k.services(), svc)
    const commit = writer.plan(p, nowMs, final)
    this.writeCaches(p, pending.cacheCounts, nowMs)
    p.zadd(k.instances(svc), nowMs, instance)
    p.zremrangebyscore(k.instances(svc), 0, nowMs - INSTANCE_FORGET_MS)
    p.hset(k.instanceInfo(svc, instance), heartbeatFields(this.deps.heartbeat(nowMs)))
    p.pexpire(k.instanceInfo(svc, instance), INSTANCE_INFO_TTL_MS)
    for (const b of breakers.values()) {
      p.sadd(k.breakers(svc), b.name)
      p.hset(k.breakerState(svc, b.name), instance, JSON.stringify(b.report(nowMs)))
    }
    for (const e of pending.events) p.xadd(k.events(svc), 'MAXLEN', '~', STREAM_CAPS.events, '*', ...eventFields(e))
    for (const r of pending.requestLog) p.xadd(k.requestLog(svc), 'MAXLEN', '~', STREAM_CAPS.requestLog, '*', ...requestLogFields(r))
    try {
      const results = await withTimeout(p.exec(), this.deps.flushTimeoutMs, 'flush')
      const failed = results?.find(([err]) => err)
      if (failed?.[0]) this.flushFailed(failed[0])
      commit(!failed)
      stats.flushes++
    } catch (e) {
      // Sent but unanswered: series writes and folds are idempotent and stay pending in the writer; the rest is
      // put back for the next flush.
      commit(false)
      this.requeue(pending)
      this.flushFailed(e)
    }
    stats.lastFlushDurationMs = performance.now() - started
    this.syncCounters()
  }

  /** HINCRBY of each cache counter into every tier's current bucket. */
  private writeCaches(p: ChainableCommander, counts: Map<string, number[]>, nowMs: number): void {
    if (counts.size === 0) return
    const { keys, service } = this.deps
    p.sadd(keys.caches(service), ...counts.keys())
    for (const tier of TIERS) {
      const start = bucketStart(nowMs, tier.bucketMs)
      const key = keys.cacheBucket(service, tier.name, start)
      for (const [cache, c] of counts) {
        CACHE_EVENT_KINDS.forEach((kind, i) => {
          const n = c[i] ?? 0
          if (n !== 0) p.hincrby(key, cacheField(cache, kind), n)
        })
      }
      p.pexpireat(key, bucketExpiresAt(start, tier))
    }
  }

  /** Puts a batch that did not reach Redis back in front of what arrived since (events and log bounded). */
  private requeue(pending: PendingBatch): void {
    const room = MAX_PENDING_EVENTS - this.pendingEvents.length
    const kept = pending.events.slice(Math.max(0, pending.events.length - room))
    this.deps.stats.droppedEvents += pending.events.length - kept.length
    this.pendingEvents = kept.concat(this.pendingEvents)
    for (const [cache, c] of pending.cacheCounts) {
      CACHE_EVENT_KINDS.forEach((kind, i) => this.countCacheEvent(cache, kind, c[i] ?? 0))
    }
    this.deps.requestLog.requeue(pending.requestLog)
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
