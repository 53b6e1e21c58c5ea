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
import { BUCKET_COUNT } from '../../shared/histogram'
import { createKeySpace, requestField, type KeySpace } from '../../shared/keys'
import { ControlNudge, DesiredBreakerState, Name } from '../../shared/schemas'
import { TIER_10S, bucketExpiresAt } from '../../shared/timeBuckets'
import { FuseboxBreaker, type BreakerEvent } from './breaker'
import { RequestMetrics, UNMATCHED_ROUTE, normalizeMethod, type RequestBatch } from './requestMetrics'

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
}

/** Counters describing the collector's own health. */
export interface CollectorStats {
  flushes: number
  flushErrors: number
  lastFlushDurationMs: number
  droppedBuckets: number
  overflowedRequests: number
  droppedEvents: number
  commandsApplied: number
}

/** Options of the HTTP middleware. */
export interface HttpMiddlewareOptions {
  /**
   * Route template of a request (e.g. `/products/:id`), for plain node:http servers. Express routes are detected
   * from `req.route` automatically. Unknown routes are recorded as `(unmatched)`, never as raw URLs.
   */
  routeTemplate?: (req: IncomingMessage) => string | undefined
}

/** A node:http / Express-compatible middleware: `(req, res, next?) => void`. */
export type HttpMiddleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

const MAX_PENDING_EVENTS = 1000
const EVENTS_MAXLEN = 10_000
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
})

/** Rejects with `Error('timed out after Nms')` unless `p` settles first; the timer is unref'd. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    t.unref()
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}

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
    commandsApplied: 0,
  }
  private readonly redis: Redis
  private readonly ownsRedis: boolean
  private readonly subscriber: Redis
  private readonly requests: RequestMetrics
  private readonly breakers = new Map<string, FuseboxBreaker<never[], unknown>>()
  private readonly reconciles = new Map<string, Promise<void>>()
  private pendingEvents: BreakerEvent[] = []
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
    if (typeof options.redis === 'string') {
      // Owned connection, set up as a guest: no unbounded offline queue, fail fast, bounded command time.
      this.redis = new Redis(options.redis, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: this.flushTimeoutMs,
        connectionName: `fusebox:${this.service}:${this.instance}`,
      })
      this.ownsRedis = true
    } else {
      this.redis = options.redis
      this.ownsRedis = false
    }
    // SUBSCRIBE needs its own connection; we opened it, so we close it.
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined })
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
  recordRequest(r: { method: string; route: string; status: number; durationMs: number; error?: boolean }): void {
    try {
      const isError = r.error === true || r.status >= 500
      this.requests.record(normalizeMethod(r.method), r.route, r.status, r.durationMs, isError, Date.now())
    } catch (e) {
      this.report(e, 'recordRequest')
    }
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
          this.recordRequest({ method: req.method ?? '', route: this.routeOf(req, options), status, durationMs })
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
    if (this.flushing) return this.flushing
    this.flushing = this.doFlush().finally(() => {
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
    await this.flush()
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
      const raw = await withTimeout(this.redis.hgetall(this.keys.breakerDesired(this.service, name)), this.flushTimeoutMs, 'reconcile')
      if (Object.keys(raw).length === 0) return
      const desired = DesiredBreakerState.safeParse(raw)
      if (!desired.success) {
        this.report(new Error(`invalid desired state for breaker ${name}`), 'reconcile')
        return
      }
      if (b.applyDesired(desired.data)) {
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

  private async doFlush(): Promise<void> {
    const started = performance.now()
    const nowMs = Date.now()
    const batch = this.requests.drain()
    const events = this.pendingEvents
    this.pendingEvents = []
    if (this.redis.status !== 'ready') {
      // Not connected: keep everything (bounded) for the next flush instead of queueing commands.
      this.keep(batch, events)
      this.syncCounters()
      return
    }
    const p = this.redis.pipeline()
    const k = this.keys
    const svc = this.service
    p.sadd(k.services(), svc)
    this.writeRequests(p, batch)
    p.zadd(k.instances(svc), nowMs, this.instance)
    p.zremrangebyscore(k.instances(svc), 0, nowMs - INSTANCE_FORGET_MS)
    p.hset(k.instanceInfo(svc, this.instance), this.health(nowMs))
    p.pexpire(k.instanceInfo(svc, this.instance), INSTANCE_INFO_TTL_MS)
    for (const b of this.breakers.values()) {
      p.sadd(k.breakers(svc), b.name)
      p.hset(k.breakerState(svc, b.name), this.instance, JSON.stringify(b.report(nowMs)))
    }
    for (const e of events) {
      p.xadd(k.events(svc), 'MAXLEN', '~', EVENTS_MAXLEN, '*',
        'type', e.type, 'breaker', e.breaker, 'instance', this.instance, 'from', e.from, 'to', e.to,
        'reason', e.reason, 'generation', String(e.generation ?? ''), 'atMs', String(e.atMs))
    }
    try {
      const results = await withTimeout(p.exec(), this.flushTimeoutMs, 'flush')
      const failed = results?.find(([err]) => err)
      if (failed?.[0]) this.report(failed[0], 'flush')
      this.stats.flushes++
    } catch (e) {
      // Sent but unanswered: keep the batch (at-least-once; a reply lost after Redis applied it double-counts).
      this.keep(batch, events)
      this.report(e, 'flush')
    }
    this.stats.lastFlushDurationMs = performance.now() - started
    this.syncCounters()
  }

  private writeRequests(p: ReturnType<Redis['pipeline']>, batch: RequestBatch): void {
    for (const [start, series] of batch) {
      const key = this.keys.requestBucket(this.service, TIER_10S.name, start)
      for (const agg of series.values()) {
        p.hincrby(key, requestField('c', agg), agg.count)
        if (agg.errors > 0) p.hincrby(key, requestField('e', agg), agg.errors)
        if (agg.sumUs > 0) p.hincrby(key, requestField('s', agg), agg.sumUs)
        const counts = agg.histogram.counts
        for (let i = 0; i < BUCKET_COUNT; i++) {
          const c = counts[i] ?? 0
          if (c !== 0) p.hincrby(key, requestField(`h${i}`, agg), c)
        }
      }
      p.pexpireat(key, bucketExpiresAt(start, TIER_10S))
    }
  }

  private keep(batch: RequestBatch, events: BreakerEvent[]): void {
    this.requests.restore(batch)
    const room = MAX_PENDING_EVENTS - this.pendingEvents.length
    const kept = events.slice(Math.max(0, events.length - room))
    this.stats.droppedEvents += events.length - kept.length
    this.pendingEvents = kept.concat(this.pendingEvents)
  }

  private syncCounters(): void {
    this.stats.droppedBuckets = this.requests.droppedBuckets
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
