/**
 * The collector: embedded in a service instance, it aggregates requests and breaker state in process and flushes
 * them to Redis once per `flushIntervalMs` in one pipeline; it listens for breaker commands and applies them.
 *
 * Guest rules (DESIGN.md "Collector SDK"): it never throws into the host's request path, never awaits Redis there,
 * keeps memory bounded, `unref()`s its timers, never closes a connection it did not open, and reports its own
 * errors to `onError` and to `stats`.
 */
import { hostname } from 'node:os'
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Redis } from 'ioredis'
import CircuitBreaker from 'opossum'
import { z } from 'zod'
import { cacheField, createKeySpace, type KeySpace } from '../../shared/keys'
import { ControlNudge, DesiredBreakerState, Name } from '../../shared/schemas'
import { TIERS, bucketExpiresAt, bucketStart } from '../../shared/timeBuckets'
import { FuseboxBreaker, type BreakerEvent } from './breaker'
import { FuseboxCache, type CacheOptions } from './cache'
import { RequestMetrics, UNMATCHED_ROUTE, normalizeMethod } from './requestMetrics'
import { SeriesWriter } from './seriesWriter'
import { withTimeout } from './withTimeout'

/** Options of `createCollector`. Durations in ms. */
export interface CollectorOptions {
  /** An ioredis client to borrow (never closed by the collector) or a redis:// / rediss:// URL to connect to (owned). */
  redis: Redis | string
  /** Service name, 1–64 of `A-Z a-z 0-9 . _ -`. */
  service: string
  /** Instance name, same alphabet; default `<hostname>-<pid>`. */
  instance?: string
  /** Redis key prefix; default `fusebox`. */
  prefix?: string
  /** Flush cadence; default 1000 (DESIGN.md). */
  flushIntervalMs?: number
  /** A flush that has not completed after this long is abandoned (its batch kept for the next one); default 2000. */
  flushTimeoutMs?: number
  /** Periodic breaker reconcile; default 10000 (issue #3). */
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
  /** Request-log entries kept per flush at most, sampled uniformly from all slow/failed requests; default 100. */
  requestLogPerFlush?: number
  /** Time buckets (per tier, the open one included) kept in memory while Redis is unreachable, oldest dropped
   * beyond and counted in `stats.droppedBuckets`; default 60 (10 min of the 10 s tier). */
  maxBufferedBuckets?: number
}

/** Counters describing the collector's own health. */
export interface CollectorStats {
  flushes: number
  flushErrors: number
  lastFlushDurationMs: number
  droppedBuckets: number
  overflowedRequests: number
  droppedEvents: number
  droppedRequestLogEntries: number
  sampledOutRequestLogEntries: number
  commandsApplied: number
}

/** One sampled request (slow or failed) waiting to be flushed to the request log stream. */
interface RequestLogEntry {
  atMs: number
  method: string
  route: string
  status: number
  durationMs: number
  /** OpenTelemetry `error.type`: an exception class, or the status code for a failed response; '' otherwise. */
  errorType: string
  kind: 'slow' | 'error'
}

/** Everything one flush takes besides request series (those stay in the SeriesWriter until confirmed). */
interface PendingFlush {
  events: BreakerEvent[]
  cacheCounts: Map<string, number[]>
  requestLog: RequestLogEntry[]
}

/** Options of the HTTP middleware. */
export interface HttpMiddlewareOptions {
  /**
   * Route template of a request (e.g. `/products/:id`), for plain node:http servers. Express routes are detected
   * from `req.route` automatically. Unknown routes are recorded as `(unmatched)`, never as raw URLs.
   */
  routeTemplate?: (req: IncomingMessage) => string | undefined
}

/** Cache counters recorded per cache and time bucket (DESIGN.md "Caches"). */
export type CacheEventKind = 'hits' | 'misses' | 'sets' | 'invalidations'
/** The kinds, in a fixed order. */
export const CACHE_EVENT_KINDS: readonly CacheEventKind[] = ['hits', 'misses', 'sets', 'invalidations']

/** The parts of a Fastify 4/5 instance the plugin uses (structural, so the SDK does not depend on Fastify). */
export interface FastifyLike {
  addHook(name: 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: () => void) => void): unknown
  addHook(name: 'onError', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, error: unknown, done: () => void) => void): unknown
}
/** Request fields read: method and the matched route template (`routeOptions.url`, Fastify ≥ 4.10). */
export interface FastifyRequestLike {
  method: string
  routeOptions?: { url?: string }
}
/** Reply fields read: status and Fastify's own measured duration (ms). */
export interface FastifyReplyLike {
  statusCode: number
  elapsedTime: number
}
/** A Fastify plugin function, marked to skip encapsulation so its hooks see every route of the app. */
export type FastifyPluginLike = ((instance: FastifyLike, options: unknown, done: (err?: Error) => void) => void) & {
  [key: symbol]: unknown
}

/** A node:http / Express-compatible middleware: `(req, res, next?) => void`. */
export type HttpMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

/** `res.locals` key where `expressErrorHandler` leaves the error class for the middleware. */
const ERROR_TYPE_LOCAL = 'fusebox.error.type'
const MAX_PENDING_EVENTS = 1000
const EVENTS_MAXLEN = 10_000
/** Sampled requests kept between flushes; beyond it they are dropped and counted. */
const MAX_PENDING_REQUEST_LOG = 1000
const REQUEST_LOG_MAXLEN = 100_000
/** Reconnect backoff of the connections the collector owns: 100 ms, 200 ms, … capped at 1 s, so flushing resumes
 * within ~1 s of Redis coming back (ioredis 6's default grows to 5 s). */
const RECONNECT = (times: number): number => Math.min(times * 100, 1000)
const INSTANCE_INFO_TTL_MS = 10 * 60_000
const INSTANCE_FORGET_MS = 60 * 60_000

const OptionsSchema = z.object({
  service: Name,
  instance: Name.optional(),
  prefix: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).optional(),
  flushIntervalMs: z.number().int().min(100).max(60_000).optional(),
  flushTimeoutMs: z.number().int().min(50).max(60_000).optional(),
  reconcileIntervalMs: z.number().int().min(500).optional(),
  startupReconcileWaitMs: z.number().int().min(0).max(30_000).optional(),
  maxSeries: z.number().int().min(1).max(100_000).optional(),
  slowRequestThresholdMs: z.number().min(0).optional(),
  requestLogPerFlush: z.number().int().min(0).max(MAX_PENDING_REQUEST_LOG).optional(),
  maxBufferedBuckets: z.number().int().min(1).max(10_000).optional(),
})

/** See the module comment. Create with `createCollector`. */
export class Collector {
  readonly service: string
  readonly instance: string
  readonly keys: KeySpace
  readonly stats: CollectorStats = {
    flushes: 0,
    flushErrors: 0,
    lastFlushDurationMs: 0,
    droppedBuckets: 0,
    overflowedRequests: 0,
    droppedEvents: 0,
    droppedRequestLogEntries: 0,
    sampledOutRequestLogEntries: 0,
    commandsApplied: 0,
  }
  private readonly redis: Redis
  private readonly ownsRedis: boolean
  private readonly subscriber: Redis
  private readonly requests: RequestMetrics
  private readonly writer: SeriesWriter
  private flushNo = 0
  private readonly breakers = new Map<string, FuseboxBreaker<never[], unknown>>()
  private readonly reconciles = new Map<string, Promise<void>>()
  private pendingEvents: BreakerEvent[] = []
  /** cache name → counts since the last flush, indexed like CACHE_EVENT_KINDS. */
  private cacheCounts = new Map<string, number[]>()
  private pendingRequestLog: RequestLogEntry[] = []
  /** Qualifying requests seen since the last flush (for the reservoir sample). */
  private requestLogSeen = 0
  private readonly requestLogPerFlush: number
  private readonly slowRequestThresholdMs: number
  private flushing: Promise<void> | null = null
  private readonly timers: NodeJS.Timeout[] = []
  private closed = false
  private readonly startedAtMs = Date.now()
  private readonly loopDelay: IntervalHistogram
  private lastCpu = process.cpuUsage()
  private lastCpuAtMs = Date.now()
  private readonly flushIntervalMs: number
  private readonly flushTimeoutMs: number
  private readonly startupReconcileWaitMs: number
  private readonly version: string
  private readonly onError: (error: Error, where: string) => void

  constructor(options: CollectorOptions) {
    const o = OptionsSchema.parse(options)
    this.service = o.service
    this.instance = o.instance ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40)}-${process.pid}`
    this.keys = createKeySpace(o.prefix)
    this.flushIntervalMs = o.flushIntervalMs ?? 1000
    this.flushTimeoutMs = o.flushTimeoutMs ?? 2000
    this.startupReconcileWaitMs = o.startupReconcileWaitMs ?? 1000
    this.version = options.version ?? process.env.npm_package_version ?? 'unknown'
    this.onError = options.onError ?? (() => {})
    this.requests = new RequestMetrics({ maxSeries: o.maxSeries })
    this.writer = new SeriesWriter({
      recorder: this.requests,
      keys: this.keys,
      service: this.service,
      ownTag: `${this.instance}#${this.startedAtMs.toString(36)}`,
      maxClosedBuckets: o.maxBufferedBuckets,
      // A borrowed client with a keyPrefix must prefix every key itself: no prebuilt frames then.
      prebuiltFrames: typeof options.redis === 'string' || !options.redis.options.keyPrefix,
    })
    this.slowRequestThresholdMs = o.slowRequestThresholdMs ?? 500
    this.requestLogPerFlush = o.requestLogPerFlush ?? 100
    if (typeof options.redis === 'string') {
      // Owned connection, set up as a guest: no unbounded offline queue, fail fast, bounded command time.
      this.redis = new Redis(options.redis, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: this.flushTimeoutMs,
        retryStrategy: RECONNECT,
        connectionName: `fusebox:${this.service}:${this.instance}`,
      })
      this.ownsRedis = true
    } else {
      this.redis = options.redis
      this.ownsRedis = false
    }
    // SUBSCRIBE needs its own connection; we opened it, so we close it.
    this.subscriber = this.redis.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      retryStrategy: RECONNECT,
    })
    this.redis.on('error', (e: Error) => this.report(e, 'redis'))
    this.subscriber.on('error', (e: Error) => this.report(e, 'subscriber'))
    this.subscriber.on('message', (_channel: string, message: string) => this.onNudge(message))
    // (Re)connect: ioredis re-subscribes by itself; a command may have been missed meanwhile, so reconcile all.
    this.subscriber.on('ready', () => this.reconcileAll())
    this.redis.on('ready', () => this.reconcileAll())
    this.subscriber.subscribe(this.keys.controlChannel(this.service)).catch((e: unknown) => this.report(e, 'subscribe'))
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 })
    this.loopDelay.enable()
    this.every(this.flushIntervalMs, () => void this.flush())
    this.every(o.reconcileIntervalMs ?? 10_000, () => this.reconcileAll())
  }

  /** Records one finished HTTP request (durations in ms). Never throws. */
  recordRequest(r: { method: string; route: string; status: number; durationMs: number; error?: boolean; errorType?: string }): void {
    try {
      const isError = r.error === true || r.status >= 500
      const nowMs = Date.now()
      const method = normalizeMethod(r.method)
      this.requests.record(method, r.route, r.status, r.durationMs, isError, nowMs)
      if (isError || r.durationMs >= this.slowRequestThresholdMs) {
        // Reservoir sampling (Algorithm R, Vitter 1985): a uniform sample of at most requestLogPerFlush entries
        // over the whole flush interval, however many requests qualify; the rest are counted, not kept.
        const seen = ++this.requestLogSeen
        let slot = this.pendingRequestLog.length
        if (slot >= this.requestLogPerFlush) {
          this.stats.sampledOutRequestLogEntries++
          slot = Math.floor(Math.random() * seen)
          if (slot >= this.requestLogPerFlush) return
        }
        this.pendingRequestLog[slot] = {
          atMs: nowMs,
          method,
          route: r.route,
          status: r.status,
          durationMs: r.durationMs,
          errorType: isError ? (r.errorType ?? String(r.status)) : '',
          kind: isError ? 'error' : 'slow',
        }
      }
    } catch (e) {
      this.report(e, 'recordRequest')
    }
  }

  /**
   * Counts a cache event (`n` of `kind`, default 1) for cache `cache`; flushed as a time series per tier.
   * Never throws. Cache names beyond 100 distinct ones are ignored (bounded memory).
   */
  recordCacheEvent(cache: string, kind: CacheEventKind, n = 1): void {
    let counts = this.cacheCounts.get(cache)
    if (counts === undefined) {
      if (this.cacheCounts.size >= 100) return
      counts = [0, 0, 0, 0]
      this.cacheCounts.set(cache, counts)
    }
    const i = CACHE_EVENT_KINDS.indexOf(kind)
    if (i >= 0) counts[i] = (counts[i] ?? 0) + n
  }

  /** Middleware for node:http and Express: records method, route template, status and duration on finish. */
  httpMiddleware(options: HttpMiddlewareOptions = {}): HttpMiddleware {
    return (req, res, next) => {
      const startMs = performance.now()
      let recorded = false
      const onEnd = () => {
        if (recorded) return
        recorded = true
        try {
          const durationMs = performance.now() - startMs
          // A response closed before it finished was aborted by the client: 499 (nginx's convention), not an error.
          const status = res.writableFinished ? res.statusCode : 499
          const errorType = (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.[ERROR_TYPE_LOCAL]
          this.recordRequest({
            method: req.method ?? '',
            route: this.routeOf(req, options),
            status,
            durationMs,
            ...(typeof errorType === 'string' ? { error: true, errorType } : {}),
          })
        } catch (e) {
          this.report(e, 'httpMiddleware')
        }
      }
      res.once('finish', onEnd)
      res.once('close', onEnd)
      if (next) next()
    }
  }

  /**
   * Fastify plugin: `await app.register(collector.fastifyPlugin())`. Records every response with Fastify's route
   * template (`/users/:id`), method, status and `reply.elapsedTime`; errors thrown by handlers are recorded with
   * their class as `error.type`. Unmatched routes are recorded as `(unmatched)`.
   */
  fastifyPlugin(): FastifyPluginLike {
    const errorTypes = new WeakMap<object, string>()
    const plugin = (instance: FastifyLike, _options: unknown, done: (err?: Error) => void): void => {
      instance.addHook('onError', (request, _reply, error, next) => {
        const code = (error as { code?: unknown } | null)?.code
        errorTypes.set(request, typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error')
        next()
      })
      instance.addHook('onResponse', (request, reply, next) => {
        try {
          const errorType = errorTypes.get(request)
          this.recordRequest({
            method: request.method,
            route: request.routeOptions?.url || UNMATCHED_ROUTE,
            status: reply.statusCode,
            durationMs: reply.elapsedTime,
            ...(errorType === undefined ? {} : { error: true, errorType }),
          })
        } catch (e) {
          this.report(e, 'fastifyPlugin')
        }
        next()
      })
      done()
    }
    // What fastify-plugin does: hooks registered here apply to the whole app, not an encapsulated child context.
    return Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'fusebox' })
  }

  /**
   * Express error middleware: notes the error's class (OpenTelemetry `error.type`) for the request log, then
   * passes the error on unchanged. Mount it before your own error handler.
   */
  expressErrorHandler(): (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
    return (err, _req, res, next) => {
      const locals = (res as ServerResponse & { locals?: Record<string, unknown> }).locals
      if (locals) {
        const code = (err as { code?: unknown } | null)?.code
        locals[ERROR_TYPE_LOCAL] = typeof code === 'string' ? code : err instanceof Error ? err.name : 'Error'
      }
      next(err)
    }
  }

  /**
   * Creates a breaker on opossum with Fusebox control (sticky force open/closed, remote commands).
   * `options` are opossum's; `name` is validated like a service name.
   * @throws ZodError on an invalid name (at set-up, never in the request path).
   */
  breaker<TArgs extends unknown[], TResult>(
    name: string,
    action: (...args: TArgs) => Promise<TResult>,
    options: CircuitBreaker.Options<TArgs> = {},
  ): FuseboxBreaker<TArgs, TResult> {
    Name.parse(name)
    return this.adopt(new CircuitBreaker(action, { ...options, name }))
  }

  /**
   * Adopts a breaker the host already built with opossum: its transitions are reported and it obeys commands.
   * @throws ZodError when its name is not a valid Fusebox name; Error when a breaker of that name exists.
   */
  adopt<TArgs extends unknown[], TResult>(opossum: CircuitBreaker<TArgs, TResult>): FuseboxBreaker<TArgs, TResult> {
    const name = Name.parse(opossum.name)
    if (this.breakers.has(name)) throw new Error(`a breaker named ${name} is already registered`)
    const b = new FuseboxBreaker(opossum, { instance: this.instance, onEvent: (e) => this.onBreakerEvent(e) })
    this.breakers.set(name, b as unknown as FuseboxBreaker<never[], unknown>)
    // Start-up reconcile: the first fire() waits for it (bounded) so an instance restarted under force-open is forced
    // before its first call.
    const wait = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.startupReconcileWaitMs)
      t.unref()
      const go = () =>
        void this.reconcile(name).finally(() => {
          clearTimeout(t)
          resolve()
        })
      // Not connected yet: the reconcile runs on 'ready' (below, and via reconcileAll), still within the wait.
      if (this.redis.status === 'ready') go()
      else this.redis.once('ready', go)
    })
    b.setReady(wait)
    return b
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
      onError: (e) => this.report(e, `cache:${name}`),
    })
  }

  /** The breaker of that name registered on this collector, if any. */
  getBreaker(name: string): FuseboxBreaker<never[], unknown> | undefined {
    return this.breakers.get(name)
  }

  /** All breakers registered on this collector. */
  listBreakers(): FuseboxBreaker<never[], unknown>[] {
    return [...this.breakers.values()]
  }

  /**
   * Flushes everything aggregated so far to Redis in one pipeline. At most one flush is in flight; a call during
   * one returns the same promise. Never rejects: failures go to `onError` and `stats.flushErrors`, and the batch is
   * kept (bounded) for the next flush.
   */
  flush(): Promise<void> {
    return this.runFlush(false)
  }

  private runFlush(final: boolean): Promise<void> {
    if (this.flushing) return this.flushing
    this.flushing = this.doFlush(final).finally(() => {
      this.flushing = null
    })
    return this.flushing
  }

  /** Re-reads the desired state of one breaker from Redis and applies it if newer. Never rejects. */
  reconcile(name: string): Promise<void> {
    // Serialize per breaker; a reconcile requested while one runs starts after it (and sees the newest state).
    const prev = this.reconciles.get(name) ?? Promise.resolve()
    const next = prev.then(() => this.doReconcile(name))
    this.reconciles.set(name, next)
    void next.finally(() => {
      if (this.reconciles.get(name) === next) this.reconciles.delete(name)
    })
    return next
  }

  /** Stops timers, flushes once more (bounded by flushTimeoutMs), and closes only the connections it opened. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.timers) clearInterval(t)
    this.loopDelay.disable()
    // Final write of every open bucket, then (once confirmed) the folds; each bounded by flushTimeoutMs.
    await this.flush()
    // Closing order: 10 s buckets write their final values and roll up, the coarse ones follow, then the folds.
    for (let i = 0; i < 4 && this.writer.bucketCount > 0 && this.redis.status === 'ready'; i++) await this.runFlush(true)
    await this.release(this.subscriber)
    if (this.ownsRedis) await this.release(this.redis)
  }

  /** QUIT (drains) when connected, bounded by flushTimeoutMs; a connection that is down is just dropped. */
  private async release(conn: Redis): Promise<void> {
    if (conn.status !== 'ready') {
      conn.disconnect()
      return
    }
    await withTimeout(conn.quit(), this.flushTimeoutMs, 'quit').catch(() => conn.disconnect())
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.push(t)
  }

  private routeOf(req: IncomingMessage, options: HttpMiddlewareOptions): string {
    const expressReq = req as IncomingMessage & { route?: { path?: unknown }; baseUrl?: string }
    const path = expressReq.route?.path
    if (typeof path === 'string') return (expressReq.baseUrl ?? '') + path
    if (options.routeTemplate) {
      const t = options.routeTemplate(req)
      if (typeof t === 'string' && t.length > 0 && t.length <= 200) return t
    }
    return UNMATCHED_ROUTE
  }

  private reconcileAll(): void {
    for (const name of this.breakers.keys()) void this.reconcile(name)
  }

  private onNudge(message: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      this.report(new Error('unparseable control nudge'), 'control')
      return
    }
    const nudge = ControlNudge.safeParse(parsed)
    if (!nudge.success) {
      this.report(new Error('invalid control nudge'), 'control')
      return
    }
    const b = this.breakers.get(nudge.data.breaker)
    if (b && nudge.data.generation > b.appliedGeneration) void this.reconcile(nudge.data.breaker)
  }

  private async doReconcile(name: string): Promise<void> {
    const b = this.breakers.get(name)
    // Not connected: nothing to ask; the 'ready' handlers reconcile everything once connected.
    if (!b || this.closed || this.redis.status !== 'ready') return
    try {
      // Two records may apply: the one for every instance and the one for this instance. Generations come from
      // one counter per breaker, so the higher generation is the newer command.
      const [forAll, forMe] = await withTimeout(
        Promise.all([
          this.redis.hgetall(this.keys.breakerDesired(this.service, name)),
          this.redis.hgetall(this.keys.breakerDesired(this.service, name, this.instance)),
        ]),
        this.flushTimeoutMs,
        'reconcile',
      )
      let newest: DesiredBreakerState | null = null
      for (const raw of [forAll, forMe]) {
        if (Object.keys(raw).length === 0) continue
        const desired = DesiredBreakerState.safeParse(raw)
        if (!desired.success) {
          this.report(new Error(`invalid desired state for breaker ${name}`), 'reconcile')
          continue
        }
        if (newest === null || desired.data.generation > newest.generation) newest = desired.data
      }
      if (newest !== null && b.applyDesired(newest)) {
        this.stats.commandsApplied++
        void this.flush() // report the applied generation now rather than at the next tick
      }
    } catch (e) {
      this.report(e, 'reconcile')
    }
  }

  private onBreakerEvent(e: BreakerEvent): void {
    if (this.pendingEvents.length >= MAX_PENDING_EVENTS) {
      this.pendingEvents.shift()
      this.stats.droppedEvents++
    }
    this.pendingEvents.push(e)
  }

  private async doFlush(final: boolean): Promise<void> {
    const started = performance.now()
    const nowMs = Date.now()
    this.writer.sync(nowMs, final)
    const pending: PendingFlush = {
      events: this.pendingEvents,
      cacheCounts: this.cacheCounts,
      requestLog: this.pendingRequestLog,
    }
    this.pendingEvents = []
    this.cacheCounts = new Map()
    this.pendingRequestLog = []
    this.requestLogSeen = 0
    if (this.redis.status !== 'ready') {
      // Not connected: keep everything (bounded) for the next flush instead of queueing commands.
      this.keep(pending)
      this.syncCounters()
      return
    }
    const p = this.redis.pipeline()
    const k = this.keys
    const svc = this.service
    p.sadd(k.services(), svc)
    const commit = this.writer.plan(p, nowMs, this.flushNo++, final)
    this.writeCaches(p, pending.cacheCounts, nowMs)
    p.zadd(k.instances(svc), nowMs, this.instance)
    p.zremrangebyscore(k.instances(svc), 0, nowMs - INSTANCE_FORGET_MS)
    p.hset(k.instanceInfo(svc, this.instance), this.health(nowMs))
    p.pexpire(k.instanceInfo(svc, this.instance), INSTANCE_INFO_TTL_MS)
    for (const b of this.breakers.values()) {
      p.sadd(k.breakers(svc), b.name)
      p.hset(k.breakerState(svc, b.name), this.instance, JSON.stringify(b.report(nowMs)))
    }
    for (const e of pending.events) {
      p.xadd(k.events(svc), 'MAXLEN', '~', EVENTS_MAXLEN, '*',
        'type', e.type, 'breaker', e.breaker, 'instance', this.instance, 'from', e.from, 'to', e.to,
        'reason', e.reason, 'generation', String(e.generation ?? ''), 'atMs', String(e.atMs))
    }
    for (const r of pending.requestLog) {
      p.xadd(k.requestLog(svc), 'MAXLEN', '~', REQUEST_LOG_MAXLEN, '*',
        'atMs', String(r.atMs), 'method', r.method, 'route', r.route, 'status', String(r.status),
        'durationMs', r.durationMs.toFixed(3), 'instance', this.instance, 'errorType', r.errorType, 'kind', r.kind)
    }
    try {
      const results = await withTimeout(p.exec(), this.flushTimeoutMs, 'flush')
      const failed = results?.find(([err]) => err)
      if (failed?.[0]) this.report(failed[0], 'flush')
      commit(!failed)
      this.stats.flushes++
    } catch (e) {
      // Sent but unanswered: series writes and folds are idempotent and stay pending in the writer; the rest is
      // kept for the next flush.
      commit(false)
      this.keep(pending)
      this.report(e, 'flush')
    }
    this.stats.lastFlushDurationMs = performance.now() - started
    this.syncCounters()
  }

  /** HINCRBY of each cache counter into every tier's current bucket. */
  private writeCaches(p: ReturnType<Redis['pipeline']>, counts: Map<string, number[]>, nowMs: number): void {
    if (counts.size === 0) return
    p.sadd(this.keys.caches(this.service), ...counts.keys())
    for (const tier of TIERS) {
      const start = bucketStart(nowMs, tier.bucketMs)
      const key = this.keys.cacheBucket(this.service, tier.name, start)
      for (const [cache, c] of counts) {
        CACHE_EVENT_KINDS.forEach((kind, i) => {
          const n = c[i] ?? 0
          if (n !== 0) p.hincrby(key, cacheField(cache, kind), n)
        })
      }
      p.pexpireat(key, bucketExpiresAt(start, tier))
    }
  }

  private keep(pending: PendingFlush): void {
    const room = MAX_PENDING_EVENTS - this.pendingEvents.length
    const kept = pending.events.slice(Math.max(0, pending.events.length - room))
    this.stats.droppedEvents += pending.events.length - kept.length
    this.pendingEvents = kept.concat(this.pendingEvents)
    for (const [cache, c] of pending.cacheCounts) {
      CACHE_EVENT_KINDS.forEach((kind, i) => this.recordCacheEvent(cache, kind, c[i] ?? 0))
    }
    const logRoom = MAX_PENDING_REQUEST_LOG - this.pendingRequestLog.length
    const keptLog = pending.requestLog.slice(Math.max(0, pending.requestLog.length - logRoom))
    this.stats.droppedRequestLogEntries += pending.requestLog.length - keptLog.length
    this.pendingRequestLog = keptLog.concat(this.pendingRequestLog)
  }

  private syncCounters(): void {
    this.stats.droppedBuckets = this.writer.droppedBuckets
    this.stats.overflowedRequests = this.requests.overflowedRequests
  }

  private health(nowMs: number): Record<string, string> {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    const wallMs = Math.max(1, nowMs - this.lastCpuAtMs)
    const cpuPercent = ((cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000 / wallMs) * 100
    this.lastCpu = cpu
    this.lastCpuAtMs = nowMs
    const loopP99Ms = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0
    this.loopDelay.reset()
    return {
      pid: String(process.pid),
      version: this.version,
      startedAtMs: String(this.startedAtMs),
      lastSeenMs: String(nowMs),
      heartbeatIntervalMs: String(this.flushIntervalMs),
      heapUsedBytes: String(mem.heapUsed),
      rssBytes: String(mem.rss),
      cpuPercent: cpuPercent.toFixed(1),
      eventLoopDelayP99Ms: loopP99Ms.toFixed(2),
      uptimeS: String(Math.round(process.uptime())),
    }
  }

  private report(e: unknown, where: string): void {
    if (where === 'flush') this.stats.flushErrors++
    try {
      this.onError(e instanceof Error ? e : new Error(String(e)), where)
    } catch {
      // The host's hook threw; a guest swallows it rather than crash the host.
    }
  }
}

/**
 * Creates and starts a collector (see `CollectorOptions`).
 * @throws ZodError when options are invalid (a set-up error, reported at start, never in the request path).
 */
export function createCollector(options: CollectorOptions): Collector {
  return new Collector(options)
}
