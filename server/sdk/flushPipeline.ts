/**
 * The flush pipeline: once per flush interval, everything the collector aggregated goes to Redis in one pipeline —
 * request series and coverage bitmaps (seriesWriter.ts), cache counters, the heartbeat, breaker state reports,
 * breaker events and the sampled request log. Every key of that pipeline carries the service's hash tag, so on a
 * Redis Cluster it is one slot on one master by construction (docs/decisions/027); the one untagged key it used to
 * hold, `SADD P:services`, is a call of its own (`ServiceRegistration`): at every (re)connect and then at most once
 * a minute, not every flush (it is one hot key on one master). At most one flush is in flight. A flush never rejects
 * and never queues commands while disconnected. Every effect is exactly-once however often a flush is sent (docs/decisions/015): series, coverage
 * marks, the heartbeat and breaker reports are overwrites (idempotent) and stay pending in their owner until their
 * own command is answered without an error; events, the request log and cache counters go as numbered batches
 * through one guarded script (flushEffects.ts). One command Redis refuses (WRONGTYPE, OOM …) fails only what it
 * touches. A flush is not started while the connection has more than MAX_OUTSTANDING_COMMANDS commands unanswered
 * (counted in `stats.skippedFlushes`): a stalled link gets no second copy of what it already holds. On a Redis
 * Cluster a part counts as confirmed only once a replica acknowledged it (ROLE + WAIT at the end of the pipeline,
 * replicaAcks.ts, docs/decisions/029): a master that dies before replicating cannot take a confirmed flush with it.
 */
import { performance } from 'node:perf_hooks'
import { heartbeatFields, type Heartbeat } from '../../shared/heartbeat'
import type { KeySpace } from '../../shared/keys'
import type { EventRecord } from '../../shared/streamEntries'
import type { Clock } from '../../shared/timeBuckets'
import type { CacheEventKind } from '../../shared/vocabulary'
import type { FuseboxBreaker } from './breaker'
import type { CollectorStats } from './collectorStats'
import type { CounterTotals } from './counterTotals'
import { FlushEffects, allAnswered, isReplyError, type PipelineResults } from './flushEffects'
import { ReplicaAcks } from './replicaAcks'
import { isCluster, keySlot, type RedisClient } from './redisTopology'
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

/**
 * Once confirmed, `SADD P:services` is sent again after this long (real time, ms) — and at every (re)connect. The set
 * only lists service names (the janitor removes a service gone for ~30 days, server/app/janitor.ts), so once a minute
 * re-adds it well within any janitor horizon, at 1/60 of the per-flush cost: 10,000 instances make ~170 SADD/s on
 * the master holding `P:services` instead of 10,000.
 */
export const SERVICE_REGISTRATION_INTERVAL_MS = 60_000

/** The Error a rejection carries (ioredis rejects with Errors; anything else is wrapped). */
const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

/**
 * `SADD P:services <svc>` in a call of its own (the key has no hash tag: on a cluster it lives in another slot than
 * the flush). Due at start, at every (re)connect (`reset`) and `SERVICE_REGISTRATION_INTERVAL_MS` after the last
 * confirmed one; one in flight at a time, bounded by `timeoutMs`; never rejects (an answer is its Error or null).
 */
export class ServiceRegistration {
  private confirmedAtMs = Number.NEGATIVE_INFINITY
  private inflight: Promise<Error | null> | null = null
  /** Bumped by `reset`: an answer to a registration sent before the last (re)connect confirms nothing. */
  private epoch = 0

  constructor(private readonly deps: { redis: RedisClient; key: string; service: string; timeoutMs: number }) {}

  /** Forgets the last confirmation, so the next `due()` holds: a reconnect may follow a failover or a flushed Redis. */
  reset(): void {
    this.epoch++
    this.confirmedAtMs = Number.NEGATIVE_INFINITY
  }

  /** True when none is in flight and none was confirmed within the interval. */
  due(): boolean {
    return this.inflight === null && performance.now() - this.confirmedAtMs >= SERVICE_REGISTRATION_INTERVAL_MS
  }

  /** Sends it; resolves with null once Redis confirmed it, or with the Error (reply, timeout, connection). */
  send(): Promise<Error | null> {
    const { redis, key, service, timeoutMs } = this.deps
    const startedMs = performance.now()
    const epoch = this.epoch
    let call: Promise<unknown>
    try {
      call = redis.sadd(key, service)
    } catch (e) {
      call = Promise.reject(toError(e))
    }
    const answer = withTimeout(call, timeoutMs, 'SADD services').then(
      () => {
        if (epoch === this.epoch) this.confirmedAtMs = startedMs
        return null
      },
      toError,
    )
    this.inflight = answer.finally(() => {
      this.inflight = null
    })
    return this.inflight
  }
}

/** What the collector hands the flush pipeline. */
export interface FlushPipelineDeps {
  /** The collector's command connection (owned or borrowed; standalone or Cluster). Nothing is sent while it is not ready. */
  redis: RedisClient
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
    | 'unreplicatedFlushes'
    | 'unacknowledgedFlushes'
  >
  /**
   * Receives every flush failure (where: `flush`), after `stats.flushErrors` was counted; the service registration
   * (`SADD P:services`) counts as a command of the flush it goes with (one flush error per flush at most), and the one
   * sent at a (re)connect, outside any flush, as one flush error of its own.
   */
  reportError: (error: unknown, where: string) => void
}

/** See the module comment. */
export class FlushPipeline {
  private flushing: Promise<void> | null = null
  private readonly effects: FlushEffects
  private readonly registration: ServiceRegistration
  /** On a cluster: answers count only once a replica holds them (docs/decisions/029); null on a standalone Redis. */
  private readonly replicaAcks: ReplicaAcks | null
  /** The hash slot of every key of the service's flush (its `{svc}` tag): on a cluster, whose master's queue counts. */
  private readonly slot: number

  constructor(private readonly deps: FlushPipelineDeps) {
    const { redis, keys, service, ownTag, stats, reportError } = deps
    this.effects = new FlushEffects({ keys, service, ownTag, stats, reportError })
    this.replicaAcks = isCluster(redis) ? new ReplicaAcks((e, where) => reportError(e, where)) : null
    this.registration = new ServiceRegistration({ redis, key: keys.services(), service, timeoutMs: deps.flushTimeoutMs })
    this.slot = keySlot(keys.instances(service))
    // Every (re)connect: register at once (a failover or a flushed Redis may have lost it), outside the flush.
    const register = (): void => {
      this.registration.reset()
      if (!this.registration.due()) return
      void this.registration.send().then((e) => {
        if (e === null) return
        if (isReplyError(e)) stats.failedFlushCommands++
        this.flushFailed(e)
      })
    }
    redis.on('ready', register)
    // A Cluster stays 'ready' while single node connections end and are made again (ioredis removes a node that
    // ended, '-node', and adds it back at the next slot-map refresh, '+node'; 'ready' only fires again once every node
    // was lost): a node connection made while ready may be a new or restarted master of `P:services`, so register
    // again (one SADD per new node connection at most; one in flight at a time).
    if (isCluster(redis)) {
      redis.on('+node', () => {
        if (redis.status === 'ready') register()
      })
    }
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
    if (this.unanswered() > MAX_OUTSTANDING_COMMANDS) {
      stats.skippedFlushes++
      requestLog.requeue(requestLog.take())
      this.syncCounters()
      return
    }
    // One slot: every key below carries the service's hash tag (a Cluster refuses a pipeline spanning nodes).
    const p = redis.pipeline()
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
    // Last: ROLE (+ WAIT) on the same connection, after every write of this flush (docs/decisions/029).
    const acks = this.replicaAcks?.plan(p) ?? null
    /** The answers as the parts may count them: null (nothing confirmed, all resent) while no replica acknowledged. */
    const confirmed = (results: PipelineResults): PipelineResults => (acks === null || acks.settle(results, nowMs) !== 'pending' ? results : null)
    // The untagged key in a call of its own, sent beside the pipeline (both bounded by flushTimeoutMs).
    const registering = this.registration.due() ? this.registration.send() : null
    const exec = p.exec()
    let failed = false
    try {
      const results = await withTimeout(exec, this.deps.flushTimeoutMs, 'flush')
      const counted = confirmed(results)
      commitSeries(counted)
      settleEffects(counted)
      failed = this.countRefused(results, acks?.commands)
      if (acks !== null) this.refreshSlotsAfterRedirect(results)
      // Reached Redis: every command answered (some perhaps with an error reply), none given up by the connection.
      if (allAnswered(results)) stats.flushes++
    } catch (e) {
      failed = true
      // Sent but unanswered: series writes, marks and folds are idempotent and stay pending in the writer; the effect
      // batches stay in doubt and are resent (with the same sequence) until an answer says applied or duplicate —
      // this flush's own late answer included.
      commitSeries(null)
      settleEffects(null)
      exec.then(
        (late) => settleEffects(confirmed(late)),
        () => {},
      )
      this.flushFailed(e)
    }
    const registered = registering === null ? null : await registering
    if (registered !== null) {
      if (isReplyError(registered)) stats.failedFlushCommands++
      if (!failed) this.flushFailed(registered)
    }
    stats.lastFlushDurationMs = performance.now() - started
    this.syncCounters()
  }

  /**
   * A flush pipeline sent to a node that no longer serves the slot (a failover, resharding) gets MOVED / ASK for its
   * writes; ROLE and WAIT (keyless) are answered there all the same, so ioredis does not redirect the pipeline
   * (it retries one only when every command failed alike or succeeded read-only) and does not learn the new owner.
   * Refresh its slot map, so the next flush goes where the slot is (docs/decisions/029).
   */
  private refreshSlotsAfterRedirect(results: PipelineResults): void {
    const redis = this.deps.redis
    if (!isCluster(redis) || results === null) return
    if (results.some(([err]) => err !== null && /^(MOVED|ASK) /.test(err.message))) redis.refreshSlotsCache()
  }

  /**
   * Commands sent on the connection the flush will use and not yet answered: the standalone connection's queue, or on
   * a cluster that of the master serving the service's slot (as ioredis currently maps it). 0 when unknown (a
   * borrowed client may not expose its queue; a slot not mapped yet).
   */
  private unanswered(): number {
    const redis = this.deps.redis
    let conn: unknown = redis
    if (isCluster(redis)) {
      const nodeKey = redis.slots[this.slot]?.[0]
      conn = nodeKey === undefined ? undefined : redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey)
    }
    return (conn as { commandQueue?: { length: number } } | undefined)?.commandQueue?.length ?? 0
  }

  /**
   * Counts the commands Redis answered with an error reply (each retried or dropped by its owner) in
   * `stats.failedFlushCommands`; a flush with any failed command (reply or connection) is one flush error.
   * @param ignored positions of commands that are not flush writes (ROLE, WAIT: a refusal there is no failure)
   * @returns true when some command failed
   */
  private countRefused(results: PipelineResults, ignored: readonly number[] = []): boolean {
    if (results === null) return false
    let refused = 0
    let first: Error | null = null
    for (const [i, [err]] of results.entries()) {
      if (err === null || (ignored.includes(i) && isReplyError(err))) continue
      if (isReplyError(err)) refused++
      first ??= err
    }
    if (first === null) return false
    this.deps.stats.failedFlushCommands += refused
    // A URL of one node of a cluster: that node refuses every slot it does not serve. Say what to do instead.
    if (!isCluster(this.deps.redis) && first.message.startsWith('MOVED ')) {
      first = new Error(`${first.message}: this Redis is a node of a Redis Cluster; pass { cluster: 'host:port,…' } or an ioredis Cluster as the redis option`)
    }
    this.flushFailed(first)
    return true
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
    if (this.replicaAcks) {
      stats.unreplicatedFlushes = this.replicaAcks.unreplicatedFlushes
      stats.unacknowledgedFlushes = this.replicaAcks.unacknowledgedFlushes
    }
  }
}
