/**
 * Fault injection against a real redis-server and the real demo storefront process (issue: "Faults, real
 * `redis-server`, under load from the demo storefront"):
 *   (a) Redis SIGKILLed for 30 s under 500 req/s (issue #11): zero failed host requests, host p99 within 20% + 2 ms
 *       of its baseline, metrics resume within 2 s of restart, no unhandled rejection, and every request the load
 *       generator counted is in the route and total series of every tier;
 *   (b) a TCP listener that accepts and never answers in place of Redis: every flush ends within its timeout, at
 *       most one in flight, memory bounded;
 *   (c) Redis down when the service starts: it starts and serves.
 *
 * The link faults of issue #11 (latency, resets, DEBUG SLEEP, a silent half-open link) are in faultScenarios.test.ts.
 * Only the SDK's public API is used (createCollector, recordRequest, flush, stats, close) plus the heartbeat key
 * from shared/keys.ts. Bounds are generous where the machine's load decides (process start-up) and tight where
 * the promise is the point (flush timeout, p99 band, resume time); each bound says why in a comment.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import { decodePacked } from '../../shared/seriesCodec'
import { TIERS } from '../../shared/timeBuckets'
import { findFreePort, startEmbeddedRedis } from '../bootstrap/redis.mjs'
import { testRedisUrl } from '../testing/redis'
import { startBlackHole, startTcpProxy } from '../testing/tcpProxy'
import { watchUnhandledRejections } from '../testing/unhandledRejections'
import { createCollector, type Collector } from './index'

type EmbeddedRedis = Awaited<ReturnType<typeof startEmbeddedRedis>>

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const HEARTBEAT_KEY = createKeySpace().instances('storefront')
/** Latency of the upstream stand-ins: stable, so the host's p99 moves only if the SDK moves it. */
const UPSTREAM_DELAY_MS = 15
/** Heartbeat poll period; the resume bound adds one period for the poll's own granularity. */
const POLL_MS = 50
/** The 30 s outage's load, req/s: GET /products (measured) and GET /products/1 (cached route, failures only); 500 in all. */
const OUTAGE_MAIN_RATE = 450
const OUTAGE_SIDE_RATE = 50

/** Everything a test started, stopped in reverse order after it even when it fails. */
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch {
      // Best effort: one failed cleanup must not leave the others undone.
    }
  }
})

/** Unhandled rejections seen during the current test (the SDK must never leave one behind). */
const unhandled = watchUnhandledRejections()

/** A redis-server of our own in a temp folder, on a fixed port so it can be restarted on the same one. */
async function ownRedis(port?: number): Promise<{ current: () => EmbeddedRedis; restart: () => Promise<void>; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'fusebox-faults-redis-'))
  let redis = await startEmbeddedRedis({ dir, port: port ?? (await findFreePort()), quiet: true })
  cleanups.push(async () => {
    await redis.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return {
    current: () => redis,
    stop: () => redis.stop(),
    restart: async () => {
      redis = await startEmbeddedRedis({ dir, port: redis.port, quiet: true })
    },
  }
}

/** One node:http server standing in for all three upstreams: 200 + JSON after UPSTREAM_DELAY_MS. */
async function startUpstreamStandIn(): Promise<string> {
  const server: Server = createHttpServer((req, res) => {
    const t = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: true, path: req.url }))
    }, UPSTREAM_DELAY_MS)
    res.on('close', () => clearTimeout(t))
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('upstream stand-in has no port')
  return `http://127.0.0.1:${address.port}`
}

interface Storefront {
  url: string
  instance: string
  /** ms from spawn until it printed its listening line */
  startupMs: number
  output: () => string
  /** Whether the process has ended (by itself: a crash, or an unhandled rejection under Node's default mode). */
  exited: () => boolean
  /** SIGTERM (the storefront closes its collector: final flush) and wait for the exit, SIGKILL after 10 s. */
  stop: () => Promise<void>
}

/** Spawns the real server/demo/storefront.ts (`node --import tsx`) and waits for its listening line. */
async function startStorefront(redisUrl: string, upstreamUrl: string, instance: string): Promise<Storefront> {
  const port = await findFreePort()
  const spawnedAt = performance.now()
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/demo/storefront.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      PORT: String(port),
      FUSEBOX_INSTANCE: instance,
      UPSTREAM_PAYMENTS_URL: `${upstreamUrl}/payments`,
      UPSTREAM_INVENTORY_URL: `${upstreamUrl}/inventory`,
      UPSTREAM_RECOMMENDATIONS_URL: `${upstreamUrl}/recommendations`,
    },
    // An IPC channel: the storefront's exitWithParent stops it if this worker dies.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const lines: string[] = []
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const late = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)])
    if (late) child.kill('SIGKILL')
  })
  let listening!: () => void
  const ready = new Promise<void>((resolve) => (listening = resolve))
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      // Bounded: the SDK logs one line per failed flush while Redis is down.
      if (lines.length < 2000) lines.push(line)
      if (line.includes(`on http://127.0.0.1:${port}`)) listening()
    })
  }
  // Start-up includes tsx compiling the storefront: generous on a loaded 2-core machine; not the promise under test.
  const outcome = await Promise.race([
    ready.then(() => 'ready'),
    exited.then(() => 'exited'),
    sleep(30_000).then(() => 'timeout'),
  ])
  if (outcome !== 'ready') throw new Error(`storefront ${outcome} before listening:\n${lines.join('\n')}`)
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    if (await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)])) child.kill('SIGKILL')
  }
  const exitedNow = () => child.exitCode !== null || child.signalCode !== null
  return { url: `http://127.0.0.1:${port}`, instance, startupMs: performance.now() - spawnedAt, output: () => lines.join('\n'), exited: exitedNow, stop }
}

interface LoadResult {
  p50Ms: number
  p99Ms: number
  maxMs: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
}

/** Rank-floor(q·(n−1)) value of a sorted sample (the definition shared/histogram.ts uses). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN
}

/** Options of `load`. */
interface LoadOptions {
  /** Concurrent connections; default 10. */
  connections?: number
  /** Send exactly rate × duration requests and wait for every answer (autocannon `amount`), instead of stopping at
   * the end of the duration with requests possibly in flight; default false. */
  exact?: boolean
  /** Called on every response (the load generator's own counter). */
  onResponse?: () => void
}

/**
 * Loopback load at a fixed overall rate for a bounded duration (autocannon, programmatic).
 *
 * Latency percentiles come from each response's own time (autocannon's 'response' event), not from
 * `result.latency`: with a rate set, autocannon corrects for coordinated omission with an expected interval of
 * `ceil(1/rate)` = 1 ms, which back-fills synthetic samples below the real latency (about 16 per request at
 * 10 req/s per connection) and drags every percentile down — a 15 ms server shows p50 ≈ 9 ms there.
 */
async function load(url: string, durationS: number, ratePerS = 100, options: LoadOptions = {}): Promise<LoadResult> {
  const latenciesMs: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const length = options.exact ? { amount: Math.round(ratePerS * durationS) } : { duration: durationS }
    const instance = autocannon({ url, connections: options.connections ?? 10, overallRate: ratePerS, ...length, timeout: 5 }, (error, r) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(r),
    )
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
      latenciesMs.push(responseTimeMs)
      options.onResponse?.()
    })
  })
  latenciesMs.sort((a, b) => a - b)
  const round = (ms: number) => Math.round(ms * 100) / 100
  return {
    p50Ms: round(quantile(latenciesMs, 0.5)),
    p99Ms: round(quantile(latenciesMs, 0.99)),
    maxMs: round(latenciesMs.at(-1) ?? Number.NaN),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }
}

/**
 * Polls until the storefront instance's heartbeat is at least `sinceMs`. Resolves with the ms that took
 * (`landedMs`, Infinity after `timeoutMs`) and, for diagnosis, when the SDK's own connection (named
 * `fusebox:storefront:<instance>`) first showed up in CLIENT LIST (`reconnectedMs`).
 */
async function heartbeatAfter(redisUrl: string, instance: string, sinceMs: number, timeoutMs: number): Promise<{ landedMs: number; reconnectedMs: number }> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  let reconnectedMs = Number.POSITIVE_INFINITY
  try {
    await client.connect()
    while (Date.now() - sinceMs < timeoutMs) {
      if (reconnectedMs === Number.POSITIVE_INFINITY) {
        const clients = (await client.call('CLIENT', 'LIST')) as string
        if (clients.includes(`name=fusebox:storefront:${instance} `)) reconnectedMs = Date.now() - sinceMs
      }
      const score = await client.zscore(HEARTBEAT_KEY, instance)
      if (score !== null && Number(score) >= sinceMs) return { landedMs: Date.now() - sinceMs, reconnectedMs }
      await sleep(POLL_MS)
    }
    return { landedMs: Number.POSITIVE_INFINITY, reconnectedMs }
  } finally {
    client.disconnect()
  }
}

/**
 * Requests stored for `service`, per tier: in the totals hashes (`total`) and per series (`<METHOD> <route>`), own
 * and shared fields summed (decodePacked's count).
 */
async function storedRequests(redisUrl: string, service: string): Promise<Record<string, Record<string, number>>> {
  const client = new Redis(redisUrl)
  try {
    const keys = createKeySpace()
    const out: Record<string, Record<string, number>> = {}
    for (const tier of TIERS) {
      const sums: Record<string, number> = { total: 0 }
      for (const kind of ['tot', 'req'] as const) {
        for (const key of await client.keys(`${keys.prefix}:{${service}}:${kind}:${tier.name}:*`)) {
          for (const [field, value] of Object.entries(await client.hgetallBuffer(key))) {
            const count = decodePacked(value)[1] ?? 0
            const series = parseSeriesField(field)
            const name = kind === 'tot' ? 'total' : series ? `${series.method} ${series.route}` : `(unparsed) ${field}`
            sums[name] = (sums[name] ?? 0) + count
          }
        }
      }
      out[tier.name] = sums
    }
    return out
  } finally {
    client.disconnect()
  }
}

/** Explicit GC (vitest workers run without --expose-gc), so heap figures are live objects, not garbage. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

/**
 * JS heap plus ArrayBuffer backing stores, after GC. `heapUsed` alone misses typed-array contents (histogram
 * counts live in Float64Arrays, stored outside the V8 heap), so it would under-report the SDK's buffer.
 */
function memoryAfterGc(gc: () => void): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/**
 * Wraps `collector.flush` (the periodic timer calls it through the instance too) to time every distinct flush
 * and count how many are in flight at once. A call during a flush returns the same promise, so a new promise
 * means a new flush.
 */
function observeFlushes(c: Collector): { durationsMs: number[]; maxInFlight: () => number; settled: () => Promise<void> } {
  const original = c.flush.bind(c)
  const seen = new WeakSet<Promise<void>>()
  const durationsMs: number[] = []
  const pending = new Set<Promise<void>>()
  let inFlight = 0
  let maxInFlight = 0
  c.flush = () => {
    const p = original()
    if (!seen.has(p)) {
      seen.add(p)
      const startedAt = performance.now()
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      const tracked = p.then(() => {
        inFlight--
        durationsMs.push(performance.now() - startedAt)
      })
      pending.add(tracked)
      void tracked.finally(() => pending.delete(tracked))
    }
    return p
  }
  return { durationsMs, maxInFlight: () => maxInFlight, settled: async () => void (await Promise.all([...pending])) }
}

function closeLater(c: Collector): Collector {
  cleanups.push(() => c.close())
  return c
}

const ROUTES = Array.from({ length: 50 }, (_, i) => `/r${i}/:id`)

describe('faults: Redis killed under load', () => {
  // One retry: each attempt measures its own baseline and outage phase, but a shared 2-core VM can still stall one
  // phase and not the other (p99 swung 38 ↔ 57 ms between identical runs here). npm test runs this file alone.
  it('When Redis is SIGKILLed for 30 s under 500 req/s, the storefront fails no request, keeps its p99 within 20% + 2 ms, resumes within 2 s of the restart, and no request is missing from the totals or the routes of any tier', { timeout: 240_000, retry: 1 }, async () => {
    const redis = await ownRedis()
    const upstream = await startUpstreamStandIn()
    const storefront = await startStorefront(redis.current().url, upstream, 'faults-a')
    // p99 is measured on GET /products (middleware + breaker + upstream, no cache): the SDK's cost on the host
    // path. GET /products/1 also goes through the Redis-backed `catalog` cache, whose hit rate changes when Redis
    // goes away (a different latency mix by design), so that route is driven alongside for failures only.
    // 450 + 50 = 500 req/s. Each phase sends an exact amount (autocannon waits for every response), so the load
    // generator's counts are exactly what the storefront served.
    const answered = { main: 0, side: 0 }
    const phase = async (durationS: number) => {
      const [main, side] = await Promise.all([
        load(`${storefront.url}/products`, durationS, OUTAGE_MAIN_RATE, { connections: 20, exact: true, onResponse: () => void answered.main++ }),
        load(`${storefront.url}/products/1`, durationS, OUTAGE_SIDE_RATE, { connections: 5, exact: true, onResponse: () => void answered.side++ }),
      ])
      return { main, side }
    }

    // Warm-up (JIT, connection pools, the SDK's first flushes) is not measured for latency.
    const warm = await phase(3)
    const baseline = await phase(10)

    await redis.current().process.stop('SIGKILL', 1000)
    const downAtMs = Date.now()
    const during = await phase(30)
    const downForMs = Date.now() - downAtMs
    await redis.restart()
    const restartedAtMs = Date.now()
    const resume = await heartbeatAfter(redis.current().url, storefront.instance, restartedAtMs, 10_000)
    const after = await phase(5)

    // The storefront's final flush (on SIGTERM) writes every open bucket of every tier. It must still be running:
    // an unhandled rejection would have ended it (Node's default), and so would any crash.
    const exitedEarly = storefront.exited()
    await storefront.stop()
    const stored = await storedRequests(redis.current().url, 'storefront')
    const phases = [warm, baseline, during, after]
    const sent = { main: phases.reduce((n, p) => n + p.main.requests, 0), side: phases.reduce((n, p) => n + p.side.requests, 0) }
    const figures = { baseline, during, after, downForMs, resume, answered, sent, stored, storefrontStartupMs: Math.round(storefront.startupMs) }
    console.log(`[faults a] ${JSON.stringify(figures)}`)

    const failures = (r: LoadResult) => ({ non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts })
    const none = { non2xx: 0, errors: 0, timeouts: 0 }
    for (const p of phases) {
      expect(failures(p.main)).toEqual(none)
      expect(failures(p.side)).toEqual(none)
    }
    expect(exitedEarly, `the storefront ended during the test:\n${storefront.output()}`).toBe(false)
    expect(storefront.output()).not.toMatch(/unhandled|UnhandledPromiseRejection/i)
    expect(unhandled).toEqual([])
    expect(downForMs).toBeGreaterThanOrEqual(30_000)
    // 20% band plus 2 ms of absolute slack: at ~20 ms latencies the band is ~4 ms, and loopback scheduling noise
    // between three processes on 2 cores is ~1–2 ms at p99.
    expect(during.main.p99Ms).toBeLessThanOrEqual(1.2 * baseline.main.p99Ms + 2)
    // 2 s promise, plus one poll period of measurement granularity.
    expect(resume.landedMs).toBeLessThanOrEqual(2000 + POLL_MS)
    // The load generator's counter is the truth: every request answered is in every tier, by route and in total.
    expect(answered).toEqual(sent)
    for (const tier of TIERS) {
      expect(stored[tier.name], tier.name).toEqual({ total: sent.main + sent.side, 'GET /products': sent.main, 'GET /products/:id': sent.side })
    }
  })
})

describe('faults: a Redis that accepts and never answers', () => {
  it('When Redis accepts connections and never answers, every flush ends within its timeout, never two at once, and no rejection escapes', async () => {
    const hole = await startBlackHole()
    cleanups.push(() => hole.close())
    const port = hole.port
    const errors: string[] = []
    const c = closeLater(
      createCollector({
        redis: `redis://127.0.0.1:${port}`,
        service: 'faults-b',
        instance: 'b1',
        flushIntervalMs: 100,
        flushTimeoutMs: 300,
        onError: (e, where) => void (errors.length < 100 && errors.push(`${where}: ${e.message}`)),
      }),
    )
    const flushes = observeFlushes(c)

    // Two concurrent calls share one flush.
    const first = c.flush()
    expect(c.flush()).toBe(first)

    // ~3 s of traffic, with the host also asking for flushes far more often than the timer does.
    const until = Date.now() + 3000
    let recorded = 0
    while (Date.now() < until) {
      for (let i = 0; i < 200; i++) {
        c.recordRequest({ method: 'GET', route: ROUTES[i % ROUTES.length]!, status: i % 20 === 0 ? 503 : 200, durationMs: 5 + (i % 37) })
        recorded++
      }
      void c.flush()
      await sleep(10)
    }
    await flushes.settled()

    console.log(`[faults b1] ${JSON.stringify({ recorded, flushes: flushes.durationsMs.length, maxFlushMs: Math.max(...flushes.durationsMs), stats: c.stats, firstErrors: errors.slice(0, 3) })}`)
    expect(flushes.durationsMs.length).toBeGreaterThan(10)
    // flushTimeoutMs (300) + 100 ms for timer and event-loop slack on a loaded machine.
    expect(Math.max(...flushes.durationsMs)).toBeLessThanOrEqual(400)
    expect(flushes.maxInFlight()).toBe(1)
    expect(unhandled).toEqual([])
  })

  it('When a connected Redis stops answering, a flush is abandoned at its timeout and counted as an error, and every later one ends within its timeout', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port))
    cleanups.push(() => proxy.close())
    const c = closeLater(
      createCollector({
        redis: `redis://127.0.0.1:${proxy.port}`,
        service: 'faults-b',
        instance: 'b2',
        prefix: `faults${process.pid}`,
        flushIntervalMs: 100,
        flushTimeoutMs: 300,
      }),
    )
    // Connected first: one flush lands through the proxy.
    const connectedBy = Date.now() + 10_000
    while (c.stats.flushes === 0 && Date.now() < connectedBy) {
      c.recordRequest({ method: 'GET', route: '/warm', status: 200, durationMs: 3 })
      await c.flush()
      await sleep(20)
    }
    expect(c.stats.flushes).toBeGreaterThan(0)
    const errorsBefore = c.stats.flushErrors

    proxy.silence()
    const flushes = observeFlushes(c)
    const until = Date.now() + 3000
    while (Date.now() < until) {
      for (let i = 0; i < 200; i++) c.recordRequest({ method: 'GET', route: ROUTES[i % ROUTES.length]!, status: 200, durationMs: 5 + (i % 37) })
      void c.flush()
      await sleep(10)
    }
    await flushes.settled()

    console.log(`[faults b2] ${JSON.stringify({ flushes: flushes.durationsMs.length, maxFlushMs: Math.max(...flushes.durationsMs), stats: c.stats })}`)
    // 3 s of back-to-back flushes. The first is abandoned at ~300 ms and counted as an error; the owned connection's
    // socket timeout (docs/decisions/015) may then drop the silent socket, and flushes while it reconnects through the
    // still-silent link keep their batch without a round trip — so at least one error, not one per flush.
    expect(flushes.durationsMs.length).toBeGreaterThanOrEqual(5)
    expect(c.stats.flushErrors - errorsBefore).toBeGreaterThanOrEqual(1)
    expect(Math.max(...flushes.durationsMs)).toBeLessThanOrEqual(400)
    expect(flushes.maxInFlight()).toBe(1)
    expect(unhandled).toEqual([])
  })

  it('While Redis never answers, buffered metrics stop growing: time buckets beyond the cap are dropped and counted', async () => {
    const hole = await startBlackHole()
    cleanups.push(() => hole.close())
    const port = hole.port
    const cap = 10
    const c = closeLater(
      createCollector({
        redis: `redis://127.0.0.1:${port}`,
        service: 'faults-b',
        instance: 'b3',
        flushIntervalMs: 60_000,
        flushTimeoutMs: 300,
        maxBufferedBuckets: cap,
      }),
    )
    const gc = gcFunction()
    // Only Date is faked (timers stay real), so 10-second time buckets pass without waiting for them.
    vi.useFakeTimers({ toFake: ['Date'] })
    cleanups.push(() => void vi.useRealTimers())
    const t0 = Math.ceil(Date.now() / 10_000) * 10_000
    const bucketsPerPhase = 20
    let simulatedBucket = 0
    /** 20 simulated 10 s buckets (twice the cap), 100,000 requests over 50 routes, a flush attempt per bucket. */
    const phase = async () => {
      for (let b = 0; b < bucketsPerPhase; b++, simulatedBucket++) {
        vi.setSystemTime(t0 + simulatedBucket * 10_000)
        for (let i = 0; i < 5000; i++) {
          c.recordRequest({ method: 'GET', route: ROUTES[i % ROUTES.length]!, status: i % 50 === 0 ? 503 : 200, durationMs: 1 + ((i * 7919) % 997) / 7 })
        }
        await c.flush()
      }
    }
    const memoryBefore = memoryAfterGc(gc)
    await phase()
    const memoryAfterFirst = memoryAfterGc(gc)
    await phase()
    const memoryAfterSecond = memoryAfterGc(gc)
    const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10
    console.log(`[faults b3] ${JSON.stringify({ growthMb: mb(memoryAfterSecond - memoryBefore), secondPhaseMb: mb(memoryAfterSecond - memoryAfterFirst), stats: c.stats })}`)

    // 200,000 requests over 50 routes while Redis is unreachable.
    expect(memoryAfterSecond - memoryBefore).toBeLessThan(50 * 2 ** 20)
    // Bounded means a plateau: another 20 buckets add (almost) nothing once the buffer is full.
    expect(memoryAfterSecond - memoryAfterFirst).toBeLessThan(5 * 2 ** 20)
    // Every bucket beyond the cap is dropped (oldest first) and counted: 40 buckets seen, 10 kept.
    expect(c.stats.droppedBuckets).toBe(2 * bucketsPerPhase - cap)
    expect(unhandled).toEqual([])
  })
})

describe('faults: Redis down at start-up', () => {
  it('When Redis is down at start-up, the storefront starts and serves, and its metrics land within 3 s of Redis coming up', { timeout: 60_000 }, async () => {
    const port = await findFreePort()
    const upstream = await startUpstreamStandIn()
    const storefront = await startStorefront(`redis://127.0.0.1:${port}`, upstream, 'faults-c')

    const listeningAt = performance.now()
    const statuses: number[] = []
    for (const path of ['/products/1', '/products', '/recommendations', '/healthz']) {
      const res = await fetch(storefront.url + path, { signal: AbortSignal.timeout(5000) })
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    const servedMs = performance.now() - listeningAt

    const redis = await ownRedis(port)
    const upAtMs = Date.now()
    const landed = await heartbeatAfter(redis.current().url, storefront.instance, upAtMs, 10_000)
    console.log(`[faults c] ${JSON.stringify({ startupMs: Math.round(storefront.startupMs), servedMs: Math.round(servedMs), statuses, landed })}`)

    expect(statuses).toEqual([200, 200, 200, 200])
    // The first breaker call waits at most startupReconcileWaitMs (1 s) for a Redis that is not there.
    expect(servedMs).toBeLessThanOrEqual(2000)
    // ~3 s: reconnect back-off (ioredis, a few hundred ms this early) + one flush interval (1 s) + poll granularity.
    expect(landed.landedMs).toBeLessThanOrEqual(3000 + POLL_MS)
  })
})
