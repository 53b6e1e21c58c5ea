/**
 * A host process for the fault scenarios (server/sdk/faultScenarios.test.ts): a Node process that embeds the SDK
 * the way services do, generates a steady, fully counted load through the public API, and answers the test over
 * IPC. It runs two collectors side by side, one per way a host connects them (`TENANTS`):
 *   `owned`     `createCollector({ redis: url })`: the SDK opens and configures its own connection;
 *   `borrowed`  `createCollector({ redis: new Redis(url) })`: the host's own ioredis client, ioredis defaults
 *               (offline queue, 20 retries per request, no command timeout), as a host typically builds it.
 * Each has its own service, `<FAULT_SERVICE>-<tenant>`, so every check below is per collector.
 * Run as `node --import tsx server/testing/faultHost.ts` with an IPC channel and these variables:
 *   FAULT_REDIS_URL  redis:// URL both connect to (the fault link);
 *   FAULT_SERVICE, FAULT_INSTANCE, FAULT_PREFIX  service stem, instance name and key prefix.
 *
 * Load, every `TICK_MS` (10 ms), into each collector: `REQUESTS_PER_TICK` requests via `recordRequest` (every 20th a
 * 503, so it goes to the request log), one `hits` cache event of cache `catalog` and, every third tick, one `misses`.
 * Every second breaker `flappy` is opened or closed by hand (one transition event each). Breaker `target` is left to
 * operator commands. Everything recorded is counted here, so the test can compare Redis with it exactly.
 *
 * Observed here as well, per collector: every distinct flush (the timer calls `collector.flush` through the
 * instance, so wrapping it sees them all) with how many are in flight at once, the SDK's errors, and the moment
 * `target` applies a new command generation (pushed to the test at once); for the process: RSS (sampled every
 * 250 ms) and unhandled rejections.
 *
 * IPC, test → host: `{ type: 'status' }`, `{ type: 'markBaseline' }` (RSS baseline = now, peak reset),
 * `{ type: 'stopTraffic' }`, `{ type: 'close' }` (close both collectors and the borrowed client, then exit).
 * Host → test: `{ type: 'ready' }` once a flush of each collector has landed, `{ type: 'status', status: HostStatus }`
 * for each request, and `{ type: 'applied', tenant, generation, atMs }` whenever a `target` applied a newer
 * generation.
 */
import { Redis } from 'ioredis'
import { z } from 'zod'
import { exitWithParent } from '../bootstrap/children.mjs'
import { createCollector, type Collector, type CollectorStats } from '../sdk/index'

/** The two ways a host hands the SDK its Redis (see the module comment). */
export const TENANTS = ['owned', 'borrowed'] as const
/** One of `TENANTS`. */
export type Tenant = (typeof TENANTS)[number]

/** What the host counted for one collector, and that collector's behaviour it observed. */
export interface TenantStatus {
  /** The collector's service name (`<FAULT_SERVICE>-<tenant>`). */
  service: string
  /** Requests passed to `recordRequest`, and how many of them were 503s (request-log candidates). */
  requests: number
  failedRequests: number
  /** Cache events counted, by kind. */
  cacheHits: number
  cacheMisses: number
  /** Transitions of breaker `flappy` made by hand (each one event). */
  flappyTransitions: number
  /** Distinct flushes started, the most in flight at once, and the longest one (ms). */
  flushes: number
  maxFlushesInFlight: number
  maxFlushMs: number
  /** Errors the SDK reported to onError, by where (count, first message). */
  errorsByWhere: Record<string, { count: number; first: string }>
  /** Generation applied by breaker `target` (0 = none). */
  targetGeneration: number
  stats: CollectorStats
}

/** What the host reports: per collector, and for the whole process. */
export interface HostStatus {
  tenants: Record<Tenant, TenantStatus>
  /** RSS at the baseline mark, its peak since, and now, in bytes (the whole process: both collectors). */
  baselineRssBytes: number
  peakRssBytes: number
  rssBytes: number
  unhandledRejections: string[]
}

/** Messages the test sends. */
const Command = z.object({ type: z.enum(['status', 'markBaseline', 'stopTraffic', 'close']) })

const TICK_MS = 10
const REQUESTS_PER_TICK = 5

const env = z
  .object({
    FAULT_REDIS_URL: z.string().regex(/^redis:\/\//),
    FAULT_SERVICE: z.string(),
    FAULT_INSTANCE: z.string(),
    FAULT_PREFIX: z.string(),
  })
  .parse(process.env)

const unhandledRejections: string[] = []
process.on('unhandledRejection', (reason) => {
  if (unhandledRejections.length < 20) unhandledRejections.push(String(reason instanceof Error ? reason.stack : reason))
})

/** One collector, its breakers and everything counted about it. */
class Counted {
  readonly collector: Collector
  readonly status: Omit<TenantStatus, 'stats' | 'targetGeneration'>
  private readonly flappy
  private readonly target
  private inFlight = 0
  private ticks = 0
  private reportedGeneration = 0

  constructor(
    readonly tenant: Tenant,
    redis: Redis | string,
  ) {
    const service = `${env.FAULT_SERVICE}-${tenant}`
    const errorsByWhere: TenantStatus['errorsByWhere'] = {}
    this.status = { service, requests: 0, failedRequests: 0, cacheHits: 0, cacheMisses: 0, flappyTransitions: 0, flushes: 0, maxFlushesInFlight: 0, maxFlushMs: 0, errorsByWhere }
    this.collector = createCollector({
      redis,
      service,
      instance: env.FAULT_INSTANCE,
      prefix: env.FAULT_PREFIX,
      onError: (e, where) => {
        const seen = (errorsByWhere[where] ??= { count: 0, first: e.message })
        seen.count++
      },
    })
    this.flappy = this.collector.breaker('flappy', async () => 'ok', { resetTimeout: 3_600_000 })
    this.target = this.collector.breaker('target', async () => 'ok')
    const seen = new WeakSet<Promise<void>>()
    const originalFlush = this.collector.flush.bind(this.collector)
    this.collector.flush = () => {
      const p = originalFlush()
      if (!seen.has(p)) {
        seen.add(p)
        this.status.flushes++
        this.inFlight++
        this.status.maxFlushesInFlight = Math.max(this.status.maxFlushesInFlight, this.inFlight)
        const startedAt = performance.now()
        void p.finally(() => {
          this.inFlight--
          this.status.maxFlushMs = Math.max(this.status.maxFlushMs, Math.round(performance.now() - startedAt))
        })
      }
      return p
    }
  }

  /** One tick of load (see the module comment). */
  tick(): void {
    const s = this.status
    this.ticks++
    for (let i = 0; i < REQUESTS_PER_TICK; i++) {
      const failed = s.requests % 20 === 19
      this.collector.recordRequest({ method: 'GET', route: `/r${s.requests % 10}/:id`, status: failed ? 503 : 200, durationMs: 2 + (s.requests % 47) })
      s.requests++
      if (failed) s.failedRequests++
    }
    this.collector.recordCacheEvent('catalog', 'hits')
    s.cacheHits++
    if (this.ticks % 3 === 0) {
      this.collector.recordCacheEvent('catalog', 'misses')
      s.cacheMisses++
    }
  }

  /** Opens `flappy` if closed, closes it if open; counts the transition. */
  flap(): void {
    const before = this.flappy.state
    if (before === 'CLOSED') this.flappy.opossum.open()
    else this.flappy.opossum.close()
    if (this.flappy.state !== before) this.status.flappyTransitions++
  }

  /** Tells the test when `target` applied a newer generation. */
  watch(): void {
    if (this.target.appliedGeneration > this.reportedGeneration) {
      this.reportedGeneration = this.target.appliedGeneration
      process.send?.({ type: 'applied', tenant: this.tenant, generation: this.reportedGeneration, atMs: Date.now() })
    }
  }

  snapshot(): TenantStatus {
    return { ...this.status, errorsByWhere: { ...this.status.errorsByWhere }, targetGeneration: this.target.appliedGeneration, stats: { ...this.collector.stats } }
  }
}

const hostClient = new Redis(env.FAULT_REDIS_URL)
let hostClientErrors = 0
hostClient.on('error', () => void hostClientErrors++)
const tenants = { owned: new Counted('owned', env.FAULT_REDIS_URL), borrowed: new Counted('borrowed', hostClient) }
const all = [tenants.owned, tenants.borrowed]

const traffic = setInterval(() => {
  for (const t of all) t.tick()
}, TICK_MS)
const flapping = setInterval(() => {
  for (const t of all) t.flap()
}, 1000)

let baselineRssBytes = process.memoryUsage().rss
let peakRssBytes = baselineRssBytes
const sampling = setInterval(() => {
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)
}, 250)

let announcedReady = false
const watching = setInterval(() => {
  for (const t of all) t.watch()
  if (!announcedReady && all.every((t) => t.collector.stats.flushes > 0)) {
    announcedReady = true
    process.send?.({ type: 'ready' })
  }
}, 20)

function status(): HostStatus {
  const rssBytes = process.memoryUsage().rss
  peakRssBytes = Math.max(peakRssBytes, rssBytes)
  return { tenants: { owned: tenants.owned.snapshot(), borrowed: tenants.borrowed.snapshot() }, baselineRssBytes, peakRssBytes, rssBytes, unhandledRejections }
}

async function closeAll(): Promise<void> {
  clearInterval(traffic)
  clearInterval(flapping)
  await Promise.all(all.map((t) => t.collector.close()))
  hostClient.disconnect()
}

process.on('message', (raw) => {
  const message = Command.safeParse(raw)
  if (!message.success) return
  switch (message.data.type) {
    case 'status':
      process.send?.({ type: 'status', status: status() })
      break
    case 'markBaseline':
      baselineRssBytes = process.memoryUsage().rss
      peakRssBytes = baselineRssBytes
      process.send?.({ type: 'status', status: status() })
      break
    case 'stopTraffic':
      clearInterval(traffic)
      clearInterval(flapping)
      process.send?.({ type: 'status', status: status() })
      break
    case 'close':
      void closeAll().then(() => {
        clearInterval(sampling)
        clearInterval(watching)
        process.send?.({ type: 'status', status: status() }, () => process.exit(0))
      })
      break
  }
})
exitWithParent(closeAll)
