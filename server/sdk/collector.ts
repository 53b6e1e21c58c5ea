/**
 * The collector: embedded in a service instance, it aggregates requests and breaker state in process and flushes
 * them to Redis once per `flushIntervalMs` in one pipeline (one hash slot: its service's); it listens for breaker
 * commands and applies them. Runs on one standalone Redis or a Redis Cluster alike (docs/decisions/027).
 *
 * This module is the facade: options, connection set-up, lifecycle and the public methods. The work is done by
 * parts, each handed its collaborators as a typed deps object (none imports this module): `httpAdapters.ts`
 * (middleware, Fastify plugin), `breakerControl.ts` (breakers and commands), `requestLogSampler.ts`,
 * `processHealth.ts` (the heartbeat) and `flushPipeline.ts`; request series live in `requestMetrics.ts` and
 * `seriesWriter.ts`, caches in `cache.ts`, counters in `collectorStats.ts`.
 *
 * Guest rules (docs/PRODUCT.md "Collector SDK"): it never throws into the host's request path, never awaits Redis there,
 * keeps memory bounded, `unref()`s its timers, never closes a connection it did not open, and reports its own
 * errors to `onError` and to `stats`.
 */
import { createSpanProcessor, type FuseboxSpanProcessor } from './otelSpans'
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type CircuitBreaker from 'opossum'
import { z } from 'zod'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { Name } from '../../shared/schemas'
import type { Clock } from '../../shared/timeBuckets'
import { NOT_NAME_CHAR, PREFIX_PATTERN, type CacheEventKind } from '../../shared/vocabulary'
import type { FuseboxBreaker } from './breaker'
import { BreakerControl } from './breakerControl'
import { FuseboxCache, type CacheOptions } from './cache'
import { createCollectorStats, type CollectorStats } from './collectorStats'
import { openClusterConnection, openCommandConnection, releaseConnection } from './connections'
import { FlushPipeline } from './flushPipeline'
import { HttpAdapters, type ExpressErrorHandler, type FastifyPluginLike, type HttpMiddleware, type HttpMiddlewareOptions } from './httpAdapters'
import { ProcessHealth } from './processHealth'
import { QueueWatcher, type WatchableQueue, type WatchQueueOptions } from './queueWatch'
import { MAX_CLUSTER_SEEDS, isCluster, parseClusterSeeds, withClusterCause, type ClusterSeed, type ClusterSeeds, type RedisClient } from './redisTopology'
import { MAX_PENDING_REQUEST_LOG, RequestLogSampler } from './requestLogSampler'
import { checkedRequest, RequestMetrics, normalizeMethod, type FinishedRequest } from './requestMetrics'
import { SeriesWriter } from './seriesWriter'

/**
 * Where the collector writes (docs/decisions/027):
 * - a `redis://` / `rediss://` URL: one standalone Redis; the collector opens the connection and closes it;
 * - an ioredis `Redis` or `Cluster` client: borrowed, never closed, its options never changed (the collector opens
 *   its own subscriber beside it: a `duplicate()`, or on a Cluster a Cluster of its own with sharded subscribers);
 * - `{ cluster }`: the seeds of a Redis Cluster — `'host:port,host:port'` (also `[ipv6]:port` and
 *   `redis[s]://user:pass@host:port` seeds, redisTopology.ts `parseClusterSeeds`) or `[{ host, port }]`, at most
 *   64; the collector opens an ioredis Cluster with the same guest settings as its own standalone connection and
 *   closes it.
 * A URL of one node of a cluster is a standalone connection to that node: only the services whose hash slot that
 * node serves can be written (the others get MOVED on every flush, reported and counted as failed commands).
 */
export type RedisOption = string | RedisClient | { cluster: string | ClusterSeed[] }

/** Options of `createCollector`. Durations in ms. */
export interface CollectorOptions {
  /** Where to write: a URL or cluster seeds (connection owned) or an ioredis `Redis` / `Cluster` (borrowed); see `RedisOption`. */
  redis: RedisOption
  /** Service name, 1–64 of `A-Z a-z 0-9 . _ -`. */
  service: string
  /** Instance name, same alphabet; default `<hostname>-<pid>`. */
  instance?: string
  /** Redis key prefix, 1–32 of the same alphabet; default `fusebox`. */
  prefix?: string
  /** Flush cadence, 100 … 60,000; default 1000 (docs/PRODUCT.md "Collector SDK"). */
  flushIntervalMs?: number
  /**
   * A flush that has not completed after this long is abandoned (its batch kept for the next one, resent without
   * double effects: docs/decisions/015); default 2000. On a connection the collector opens (a URL, cluster seeds),
   * also its `commandTimeout` and `socketTimeout` (no byte from Redis for this long while commands wait: reconnect)
   * and, on a cluster, its slot-refresh timeout.
   */
  flushTimeoutMs?: number
  /** Periodic breaker reconcile, ≥ 500; default 10000 (issue #3). */
  reconcileIntervalMs?: number
  /** How long a breaker's first `fire()` waits for the start-up reconcile before going ahead; default 1000. */
  startupReconcileWaitMs?: number
  /** Version string reported in the heartbeat; default `process.env.npm_package_version` or `unknown`. */
  version?: string
  /** Receives every internal error with where it happened; default: ignore. Must not throw (it is guarded). */
  onError?: (error: Error, where: string) => void
  /** Per-bucket series cap (see RequestMetrics); default 1000. */
  maxSeries?: number
  /** Requests slower than this (ms) go to the sampled request log, as do failures; default 500. */
  slowRequestThresholdMs?: number
  /** Request-log entries kept per flush at most (0 … 1000), sampled uniformly from all slow/failed requests; default 100. */
  requestLogPerFlush?: number
  /** Time buckets (per tier, the open one included; a bucket's routes and total together) kept in memory while Redis
   * is unreachable, oldest dropped beyond and counted in `stats.droppedBuckets`; default 60 (10 min of the 10 s tier). */
  maxBufferedBuckets?: number
  /**
   * The time source of everything the collector stamps with wall time, epoch ms UTC: the 10 s bucket of each
   * recorded request, each flush's time (bucket closing and roll-up, the heartbeat's `lastSeenMs`, the instances
   * score and its pruning, breaker reports' `updatedAtMs`, cache counters' buckets), `startedAtMs`, and breaker event
   * and transition times. Default `Date.now` (read at each call, so test fake timers apply). Timers (flush,
   * reconcile) stay real, and so do measured durations (`performance.now`): a test can move this clock by days
   * between two `flush()` calls. Must be cheap and must not throw: it is called once per recorded request.
   */
  clock?: Clock
}

/** What `createCollector` says of a `redis` option it cannot use. */
const REDIS_OPTION_ERROR = 'redis must be a Redis URL (redis://host:port) or an ioredis client (Redis or Cluster), or { cluster: "host:port,…" | [{ host, port }] }'

/** The `redis` option, classified: what to open (a URL, cluster seeds) or the client to borrow. */
type RedisTarget = { kind: 'url'; url: string } | { kind: 'seeds'; seeds: ClusterSeeds } | { kind: 'client'; client: RedisClient }

const SeedList = z
  .array(z.strictObject({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65_535) }))
  .min(1)
  .max(MAX_CLUSTER_SEEDS)

const isClient = (v: object) => typeof (v as { pipeline?: unknown }).pipeline === 'function' && typeof (v as { options?: unknown }).options === 'object'

/**
 * The `redis` option checked at the edge. A plain-JS host may pass `process.env.REDIS_URL` unset, or seeds with a
 * typo: say so, naming the bad seed, instead of a TypeError (or an endless reconnect) deep inside.
 */
const RedisOptionSchema = z.unknown().transform((v, ctx): RedisTarget => {
  if (typeof v === 'string' && v.length > 0) return { kind: 'url', url: v }
  if (typeof v === 'object' && v !== null) {
    if (isClient(v)) return { kind: 'client', client: v as RedisClient }
    if ('cluster' in v) {
      const seeds = (v as { cluster: unknown }).cluster
      let detail = 'give "host:port,host:port" or [{ host, port }]'
      if (typeof seeds === 'string') {
        try {
          return { kind: 'seeds', seeds: parseClusterSeeds(seeds) }
        } catch (e) {
          detail = e instanceof Error ? e.message : String(e)
        }
      } else {
        const list = SeedList.safeParse(seeds)
        if (list.success) return { kind: 'seeds', seeds: { nodes: list.data, redisOptions: {} } }
        if (Array.isArray(seeds)) detail = `a seed list holds 1–${MAX_CLUSTER_SEEDS} { host, port } (port 1–65535): ${list.error.issues[0]?.message ?? ''}`
      }
      ctx.addIssue({ code: 'custom', message: `redis.cluster must be Redis Cluster seeds: ${detail}` })
      return z.NEVER
    }
  }
  ctx.addIssue({ code: 'custom', message: REDIS_OPTION_ERROR })
  return z.NEVER
})

const OptionsSchema = z.object({
  redis: RedisOptionSchema,
  service: Name,
  instance: Name.optional(),
  prefix: z.string().regex(PREFIX_PATTERN).optional(),
  flushIntervalMs: z.number().int().min(100).max(60_000).optional(),
  flushTimeoutMs: z.number().int().min(50).max(60_000).optional(),
  reconcileIntervalMs: z.number().int().min(500).optional(),
  startupReconcileWaitMs: z.number().int().min(0).max(30_000).optional(),
  maxSeries: z.number().int().min(1).max(100_000).optional(),
  slowRequestThresholdMs: z.number().min(0).optional(),
  requestLogPerFlush: z.number().int().min(0).max(MAX_PENDING_REQUEST_LOG).optional(),
  maxBufferedBuckets: z.number().int().min(1).max(10_000).optional(),
  clock: z.custom<Clock>((v) => typeof v === 'function', 'clock must be a function returning epoch ms').optional(),
})

/** See the module comment. Create with `createCollector`. */
export class Collector {
  /** Service name (validated). */
  readonly service: string
  /** Instance name (validated): the given one, or `<hostname>-<pid>`. */
  readonly instance: string
  /** The Redis key builder of this collector's prefix (shared/keys.ts). */
  readonly keys: KeySpace
  /** The collector's own health counters (see `CollectorStats`); a plain object, updated in place. */
  readonly stats: CollectorStats = createCollectorStats()
  private readonly redis: RedisClient
  private readonly ownsRedis: boolean
  private readonly requests: RequestMetrics
  private readonly requestLog: RequestLogSampler
  private readonly writer: SeriesWriter
  private readonly health: ProcessHealth
  private readonly breakerControl: BreakerControl
  private readonly pipeline: FlushPipeline
  private readonly http: HttpAdapters
  private readonly timers: NodeJS.Timeout[] = []
  private readonly queueWatchers: QueueWatcher[] = []
  private closed = false
  private readonly flushTimeoutMs: number
  private readonly onError: (error: Error, where: string) => void
  private readonly clock: Clock

  constructor(options: CollectorOptions) {
    const o = OptionsSchema.parse(options)
    const clock: Clock = o.clock ?? (() => Date.now())
    this.clock = clock
    const startedAtMs = clock()
    this.service = o.service
    this.instance = o.instance ?? `${hostname().replace(NOT_NAME_CHAR, '-').slice(0, 40)}-${process.pid}`
    this.keys = createKeySpace(o.prefix)
    const flushIntervalMs = o.flushIntervalMs ?? 1000
    this.flushTimeoutMs = o.flushTimeoutMs ?? 2000
    this.onError = options.onError ?? (() => {})
    const reportError = (e: unknown, where: string) => this.reportError(e, where)
    const { service, instance, keys, stats } = this
    this.requests = new RequestMetrics({ maxSeries: o.maxSeries })
    this.requestLog = new RequestLogSampler({
      instance,
      slowRequestThresholdMs: o.slowRequestThresholdMs ?? 500,
      perFlush: o.requestLogPerFlush ?? 100,
      stats,
    })
    // Boot id: start time plus a random part, so two lives never share own fields (nor flush sequences, decision 015)
    // even on a test's clock.
    const ownTag = `${instance}#${startedAtMs.toString(36)}${randomBytes(3).toString('hex')}`
    this.writer = new SeriesWriter({
      recorder: this.requests,
      keys,
      service,
      ownTag,
      maxBufferedBuckets: o.maxBufferedBuckets,
      flushIntervalMs,
      stats,
      // A borrowed client with a keyPrefix must prefix every key itself: no prebuilt frames then.
      prebuiltFrames: o.redis.kind !== 'client' || !hasKeyPrefix(o.redis.client),
    })
    const connectionName = `fusebox:${service}:${instance}`
    const target = o.redis
    if (target.kind === 'url') this.redis = openCommandConnection(target.url, this.flushTimeoutMs, connectionName)
    else if (target.kind === 'seeds') this.redis = openClusterConnection(target.seeds, this.flushTimeoutMs, connectionName)
    else this.redis = target.client
    this.ownsRedis = target.kind !== 'client'
    this.redis.on('error', (e: Error) => this.reportError(withClusterCause(e), 'redis'))
    const redis = this.redis
    this.breakerControl = new BreakerControl({
      redis,
      subscriberName: `fusebox-sub:${service}:${instance}`,
      keys,
      service,
      instance,
      startupReconcileWaitMs: o.startupReconcileWaitMs ?? 1000,
      timeoutMs: this.flushTimeoutMs,
      clock,
      stats,
      onEvent: (e) => this.pipeline.addEvent(e),
      requestFlush: () => void this.flush(),
      countOutcome: (breaker, outcome) => this.pipeline.counters.countBreakerOutcome(breaker, outcome),
      reportError,
    })
    this.health = new ProcessHealth({
      version: options.version ?? process.env.npm_package_version ?? 'unknown',
      startedAtMs,
      heartbeatIntervalMs: flushIntervalMs,
    })
    this.pipeline = new FlushPipeline({
      redis,
      keys,
      service,
      instance,
      ownTag,
      writer: this.writer,
      requests: this.requests,
      requestLog: this.requestLog,
      breakers: this.breakerControl.breakers,
      heartbeat: (nowMs) => this.health.sample(nowMs),
      clock,
      flushTimeoutMs: this.flushTimeoutMs,
      stats,
      reportError,
    })
    this.http = new HttpAdapters({ recordRequest: (r) => this.recordRequest(r), reportError })
    this.every(flushIntervalMs, () => void this.flush())
    this.every(o.reconcileIntervalMs ?? 10_000, () => this.breakerControl.reconcileAll())
  }

  /**
   * Records one finished HTTP request (duration in ms) into this bucket's series, and into the sampled request log
   * when it is slow or failed (5xx, or `error: true`). Never throws; never touches Redis. Input is checked
   * (`checkedRequest`): numeric strings are coerced; a request with no finite duration or whole status is dropped
   * and counted in `stats.droppedInvalidRequests`.
   */
  recordRequest(request: FinishedRequest): void {
    try {
      // The host may be plain JavaScript: a value that cannot be recorded truthfully is dropped and counted.
      const r = checkedRequest(request, this.stats)
      if (r === null) {
        this.stats.droppedInvalidRequests++
        return
      }
      const isError = r.error === true || r.status >= 500
      const nowMs = this.clock()
      const method = normalizeMethod(r.method)
      const agg = this.requests.record(method, r.route, r.status, r.durationMs, isError, nowMs)
      // Fleet counters (counterTotals.ts): the series aggregate keeps its route's counters while they are current.
      const counters = this.pipeline.counters
      let slot = agg.counterSlot
      if (slot === null || !counters.isCurrent(slot) || agg.route !== r.route) {
        slot = counters.routeCounters(method, r.route)
        if (agg.route === r.route) agg.counterSlot = slot
      }
      counters.recordAt(slot, r.status, r.urlScheme ?? 'http', isError, r.errorType, Math.round(r.durationMs * 1000))
      this.requestLog.offer(r, method, isError, nowMs)
    } catch (e) {
      this.reportError(e, 'recordRequest')
    }
  }

  /**
   * Counts a cache event (`n` of `kind`, default 1) for cache `cache`; flushed as a time series per tier.
   * Never throws. Events of caches beyond 100 distinct ones per flush interval are dropped and counted in
   * `stats.droppedCacheEvents` (bounded memory).
   */
  recordCacheEvent(cache: string, kind: CacheEventKind, n = 1): void {
    this.pipeline.countCacheEvent(cache, kind, n)
  }

  /** Middleware for node:http and Express: records method, route template, status and duration on finish. */
  httpMiddleware(options: HttpMiddlewareOptions = {}): HttpMiddleware {
    return this.http.httpMiddleware(options)
  }

  /**
   * Fastify plugin: `await app.register(collector.fastifyPlugin())`. Records every response with Fastify's route
   * template (`/users/:id`), method, status and `reply.elapsedTime`; errors thrown by handlers are recorded with
   * their class as `error.type`. Unmatched routes are recorded as `(unmatched)`.
   */
  fastifyPlugin(): FastifyPluginLike {
    return this.http.fastifyPlugin()
  }

  /**
   * Express error middleware: notes the error's class (OpenTelemetry `error.type`) for the request log, then
   * passes the error on unchanged. Mount it before your own error handler.
   */
  expressErrorHandler(): ExpressErrorHandler {
    return this.http.expressErrorHandler()
  }

  /**
   * Creates a breaker on opossum with Fusebox control (sticky force open/closed, remote commands).
   * `options` are opossum's; `name` is validated like a service name.
   * @throws ZodError on an invalid name; Error when a breaker of that name exists (at set-up, never in the request path).
   */
  breaker<TArgs extends unknown[], TResult>(
    name: string,
    action: (...args: TArgs) => Promise<TResult>,
    options: CircuitBreaker.Options<TArgs> = {},
  ): FuseboxBreaker<TArgs, TResult> {
    return this.breakerControl.create(name, action, options)
  }

  /**
   * Adopts a breaker the host already built with opossum: its transitions are reported and it obeys commands.
   * @throws ZodError when its name is not a valid Fusebox name; Error when a breaker of that name exists.
   */
  adopt<TArgs extends unknown[], TResult>(opossum: CircuitBreaker<TArgs, TResult>): FuseboxBreaker<TArgs, TResult> {
    return this.breakerControl.adopt(opossum)
  }

  /**
   * Watches a BullMQ queue (bullmq ≥ 5, an optional peer dependency; server/sdk/queueWatch.ts): job counts by state
   * and the oldest waiting job's age every `sampleIntervalMs` (default 1 s), and, given this instance's `worker`, the
   * jobs it completed and failed, into the time tiers; shown on the dashboard's Queues page.
   * @throws ZodError on an invalid name; TypeError when `queue` is not a BullMQ queue; Error when a queue of that name
   *   is watched already (at set-up, never in the request path)
   */
  watchQueue(queue: WatchableQueue, options: WatchQueueOptions = {}): QueueWatcher {
    const name = options.name ?? queue?.name
    if (this.queueWatchers.some((w) => w.name === name)) throw new Error(`watchQueue: queue ${String(name)} is watched already`)
    const watcher = new QueueWatcher(queue, options, {
      redis: this.redis,
      keys: this.keys,
      service: this.service,
      instance: this.instance,
      clock: this.clock,
      reportError: (e, where) => this.reportError(e, where),
      countError: () => void this.stats.queueSampleErrors++,
    })
    this.queueWatchers.push(watcher)
    return watcher
  }

  /**
   * A cache-aside cache over this collector's Redis connection (see server/sdk/cache.ts): getOrSet with
   * single-flight per key, get, set, delete, invalidateTag; hits, misses, sets and invalidations are recorded as
   * time series of cache `name`.
   * @throws TypeError on an invalid name or options (a set-up error).
   */
  cache<T>(name: string, options: CacheOptions): FuseboxCache<T> {
    return new FuseboxCache<T>(name, options, {
      redis: this.redis,
      keys: this.keys,
      service: this.service,
      record: (kind, n) => this.recordCacheEvent(name, kind, n),
      onError: (e) => this.reportError(e, `cache:${name}`),
      clock: this.clock,
      onUncacheable: () => void this.stats.uncacheableCacheKeys++,
      onInvalidValue: () => void this.stats.invalidRedisValues++,
    })
  }

  /**
   * An OpenTelemetry JS span processor (2.x `SpanProcessor`, structurally; see otelSpans.ts) that records every ended
   * HTTP SERVER span as a request, instead of the HTTP middleware: register it with the host's tracer provider
   * (`new NodeTracerProvider({ spanProcessors: [collector.otelSpanProcessor()] })`). Labels come from `http.route`
   * only (none: `(unmatched)`). Never throws into the tracer.
   */
  otelSpanProcessor(): FuseboxSpanProcessor {
    return createSpanProcessor({ record: (r) => this.recordRequest(r), flush: () => this.flush(), reportError: (e, where) => this.reportError(e, where) })
  }

  /** The breaker of that name registered on this collector, if any. */
  getBreaker(name: string): FuseboxBreaker<never[], unknown> | undefined {
    return this.breakerControl.breakers.get(name)
  }

  /** All breakers registered on this collector. */
  listBreakers(): FuseboxBreaker<never[], unknown>[] {
    return [...this.breakerControl.breakers.values()]
  }

  /**
   * Flushes everything aggregated so far to Redis in one pipeline. At most one flush is in flight; a call during
   * one returns the same promise. Never rejects: failures go to `onError` and `stats.flushErrors`, and the batch is
   * kept (bounded) for the next flush.
   */
  flush(): Promise<void> {
    return this.pipeline.run(false)
  }

  /** Re-reads the desired state of one breaker from Redis and applies it if newer. Never rejects. */
  reconcile(name: string): Promise<void> {
    return this.breakerControl.reconcile(name)
  }

  /**
   * Stops timers, flushes once more (bounded by flushTimeoutMs), and closes only the connections it opened: its
   * subscriber always, the command connection (standalone or Cluster) only when made from a URL or cluster seeds.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.timers) clearInterval(t)
    this.health.stop()
    this.breakerControl.stop()
    await Promise.all(this.queueWatchers.map((w) => w.close()))
    // Final write of every open bucket, then (once confirmed) the folds; each bounded by flushTimeoutMs.
    await this.flush()
    // Closing order: 10 s buckets write their final values and roll up, the coarse ones follow, then the folds.
    // Effect batches still in doubt (an abandoned flush) are resent too: applied once whichever copy lands.
    for (let i = 0; i < 4 && (this.writer.bucketCount > 0 || this.pipeline.hasPendingEffects) && this.redis.status === 'ready'; i++) {
      await this.pipeline.run(true)
    }
    await this.breakerControl.close()
    if (this.ownsRedis) await releaseConnection(this.redis, this.flushTimeoutMs)
  }

  /** An unref'd interval timer, cleared by `close`. */
  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.push(t)
  }

  /** Hands an internal error to the host's `onError` with where it happened; a throwing hook is swallowed. */
  private reportError(e: unknown, where: string): void {
    try {
      this.onError(e instanceof Error ? e : new Error(String(e)), where)
    } catch {
      // The host's hook threw; a guest swallows it rather than crash the host.
    }
  }
}

/** True when ioredis adds a `keyPrefix` to the keys of `client`'s commands (a Cluster takes it from its redisOptions too). */
function hasKeyPrefix(client: RedisClient): boolean {
  if (client.options.keyPrefix) return true
  return isCluster(client) && Boolean(client.options.redisOptions?.keyPrefix)
}

/**
 * Creates and starts a collector (see `CollectorOptions`).
 * @throws ZodError when options are invalid (a set-up error, reported at start, never in the request path).
 */
export function createCollector(options: CollectorOptions): Collector {
  return new Collector(options)
}
