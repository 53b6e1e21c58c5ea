/**
 * Topic 8 — the overview query under load (issue #11 "Load"): `overview.get` over GET exactly as the dashboard's
 * Overview page sends it (tRPC httpLink: `GET /trpc/overview.get?input={"windowMs":900000}`, the CSRF header, a
 * browser's `accept-encoding`), at 500 req/s for 60 s from 50 connections (autocannon in a child process), against
 * the real server process (`server/app/main.ts`, a child) with Redis holding ≥ 10,000 keys. Targets: p99 < 200 ms,
 * 0 errors (socket errors, timeouts and non-2xx), server event-loop delay p99 < 50 ms.
 *
 * Data: SERVICES services × ROUTES routes, each with breakers and a cache, one simulated hour written by real
 * collectors (the SDK, fake clock), then live: the collectors keep flushing every second during the load, so the
 * overview reads current heartbeats and breaker reports and Redis takes the writes of a small fleet meanwhile; cached
 * values (the SDK's getOrSet) make up the rest of the 10,000 keys.
 * Event-loop delay: `bench/eventLoopProbe.ts` preloaded into the server (monitorEventLoopDelay, 10 ms sampling). Node
 * records the interval between samples, so the delay is that minus the 10 ms (judged); the figure as sampled, which
 * prom-client's `nodejs_eventloop_lag_p99_seconds` reports, is printed beside it.
 * Reference, same run, same rate, connections and duration: `GET /healthz` (no Redis read, no session).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createCollector, type Collector } from '../server/sdk/index'
import { SAMPLING_MS, type EventLoopDelayReport } from './eventLoopProbe'
import { startBenchRedis } from './redis'
import { lognormalMs, seededRandom } from './samples'
import { fmt } from './stats'
import { startServerChild, stopChild } from './serverChild'
import { verdict, type Table } from './table'
import { findFreePort } from '../server/bootstrap/redis.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js')
const PROBE = join(ROOT, 'bench/eventLoopProbe.ts')
const TOKEN = 'bench-overview-operator-token-0123456789'
const PREFIX = 'benchov'
const RATE = 500
const CONNECTIONS = 50
const DURATION_S = 60
const WARMUP_S = 5
const MIN_KEYS = 10_000
const SERVICES = 12
const ROUTES = 20
const BREAKERS = ['payments', 'search', 'inventory']
const HOUR_MS = 3_600_000
/** What the Overview page asks for (client/src/pages/OverviewPage.tsx: the 15 min range). */
const OVERVIEW_INPUT = { windowMs: 15 * 60_000 }
const TARGET_P99_MS = 200
const TARGET_ELD_P99_MS = 50

/** autocannon's `--json` summary, the fields used here. */
interface AutocannonSummary {
  requests: { total: number; average: number }
  latency: { p50: number; p99: number; max: number }
  errors: number
  timeouts: number
  non2xx: number
}


/** Runs autocannon in a child process to completion and returns its JSON summary. */
function autocannon(args: string[]): Promise<AutocannonSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AUTOCANNON, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as AutocannonSummary) : reject(new Error(`autocannon exited ${code}: ${err.slice(-500)}`))))
  })
}

/** The real server (main.ts) with the event-loop probe preloaded, as a child with an IPC channel; waits for /healthz. */
async function startServer(redisUrl: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
  return startServerChild({ redisUrl, port, env: { FUSEBOX_PREFIX: PREFIX, FUSEBOX_OPERATOR_TOKENS: TOKEN }, preload: [PROBE] })
}

/** Asks the server's probe for its event-loop delay since the last reset, and resets it. */
function eventLoopDelay(child: ChildProcess): Promise<EventLoopDelayReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not report its event-loop delay')), 5000)
    const onMessage = (m: EventLoopDelayReport): void => {
      if (m?.type !== 'eventLoopDelay') return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(m)
    }
    child.on('message', onMessage)
    child.send({ type: 'eventLoopDelay', reset: true })
  })
}

/**
 * Seeds one simulated hour for SERVICES services (ROUTES routes, 3 breakers, a `products` cache each) with real
 * collectors on a fake clock, then switches them to the real clock and leaves them flushing every second. Then fills
 * the caches (`getOrSet` of product records, the SDK's cache-aside path) until Redis holds ≥ MIN_KEYS keys — as a
 * real deployment's keyspace is mostly cached values next to the series.
 */
async function seed(redisUrl: string, admin: { dbsize(): Promise<number> }): Promise<{ collectors: Collector[]; keys: number; cachedValues: number }> {
  const collectors: Collector[] = []
  const random = seededRandom(8)
  const t0 = Math.floor(Date.now() / 10_000) * 10_000 - HOUR_MS
  let fakeNow: number | null = t0
  const clock = (): number => fakeNow ?? Date.now()
  for (let i = 0; i < SERVICES; i++) {
    const service = `svc-${String(i).padStart(2, '0')}`
    const collector = createCollector({ redis: redisUrl, service, instance: `${service}-1`, prefix: PREFIX, flushIntervalMs: 1000, clock })
    for (const b of BREAKERS) collector.breaker(b, async () => 1)
    collectors.push(collector)
  }
  for (let b = 0; b <= HOUR_MS / 10_000; b++) {
    fakeNow = t0 + b * 10_000 + 5000
    for (const [s, collector] of collectors.entries()) {
      for (let r = 0; r < ROUTES; r++) {
        collector.recordRequest({ method: r % 5 === 0 ? 'POST' : 'GET', route: `/api/v1/r${r}/:id`, status: random() < 0.02 ? 503 : 200, durationMs: lognormalMs(random, 15 + s, 0.7) })
      }
      collector.recordCacheEvent('products', 'hits', 8)
      collector.recordCacheEvent('products', 'misses', 2)
    }
    await Promise.all(collectors.map((c) => c.flush()))
  }
  fakeNow = null
  for (let f = 0; f < 3; f++) await Promise.all(collectors.map((c) => c.flush())) // fold what closed; heartbeat current
  const caches = collectors.map((c) => c.cache<{ sku: string; priceCents: number; name: string }>('products', { ttlSeconds: 3600 }))
  let cachedValues = 0
  for (let missing = MIN_KEYS - (await admin.dbsize()); missing > 0; missing = MIN_KEYS - (await admin.dbsize())) {
    const chunk = Array.from({ length: Math.min(missing, 500) }, () => cachedValues++)
    await Promise.all(chunk.map((n) => caches[n % caches.length]!.getOrSet(`sku-${n}`, async () => ({ sku: `sku-${n}`, priceCents: 100 + (n % 9000), name: `Product ${n}` }))))
  }
  return { collectors, keys: await admin.dbsize(), cachedValues }
}

/** Runs the overview load benchmark (see module comment); starts and removes its own redis-server. */
export async function benchOverviewLoad(): Promise<Table> {
  const redis = await startBenchRedis()
  let server: ChildProcess | null = null
  let collectors: Collector[] = []
  let traffic: NodeJS.Timeout | undefined
  try {
    const seeded = await seed(redis.url, redis.admin)
    collectors = seeded.collectors
    // Live traffic during the load: each service records a little every 100 ms (flushed every second).
    const random = seededRandom(9)
    traffic = setInterval(() => {
      for (const c of collectors) for (let r = 0; r < ROUTES; r += 4) c.recordRequest({ method: 'GET', route: `/api/v1/r${r}/:id`, status: 200, durationMs: lognormalMs(random, 15, 0.7) })
    }, 100)

    const port = await findFreePort()
    const started = await startServer(redis.url, port)
    server = started.child
    const base = `http://127.0.0.1:${port}`
    const login = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }, body: JSON.stringify({ token: TOKEN }) })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    if (!login.ok || !cookie) throw new Error(`login answered ${login.status}: ${await login.text()}`)
    const overviewUrl = `${base}/trpc/overview.get?input=${encodeURIComponent(JSON.stringify(OVERVIEW_INPUT))}`
    const check = await fetch(overviewUrl, { headers: { cookie, 'x-fusebox-csrf': '1' } })
    const body = (await check.json()) as { result?: { data?: { services?: unknown[]; breakers?: unknown[] } } }
    const services = body.result?.data?.services?.length ?? 0
    const breakers = body.result?.data?.breakers?.length ?? 0
    if (!check.ok || services < SERVICES) throw new Error(`overview.get answered ${check.status} with ${services} services`)

    // The dashboard's headers: the session cookie, the CSRF header every non-subscription call carries, and what a
    // browser accepts (so the server compresses, as it does for real clients).
    const headers = ['-H', `cookie=${cookie}`, '-H', 'x-fusebox-csrf=1', '-H', 'accept-encoding=gzip, deflate, br', '-H', 'accept=*/*']
    const load = (url: string, seconds: number, withSession: boolean): Promise<AutocannonSummary> =>
      autocannon(['-R', String(RATE), '-c', String(CONNECTIONS), '-d', String(seconds), ...(withSession ? headers : []), url])

    // Warm-up (JIT, pools), discarded; then the reference, then the overview.
    await load(overviewUrl, WARMUP_S, true)
    await eventLoopDelay(server)
    const reference = await load(`${base}/healthz`, DURATION_S, false)
    const referenceEld = await eventLoopDelay(server)
    const overview = await load(overviewUrl, DURATION_S, true)
    const overviewEld = await eventLoopDelay(server)

    const errors = (s: AutocannonSummary): number => s.errors + s.timeouts + s.non2xx
    const row = (name: string, s: AutocannonSummary, eld: EventLoopDelayReport, judged: boolean): string[] => [
      name,
      String(s.requests.total),
      fmt(s.requests.average, 0),
      fmt(s.latency.p50, 1),
      fmt(s.latency.p99, 1),
      String(errors(s)),
      `${fmt(eld.p99Ms - SAMPLING_MS, 1)} (${fmt(eld.p99Ms, 1)})`,
      fmt(eld.cpuMs / Math.max(1, s.requests.total), 2),
      judged ? `p99 < ${TARGET_P99_MS} ms, 0 errors, event-loop p99 < ${TARGET_ELD_P99_MS} ms` : 'reference',
      judged ? verdict(s.latency.p99 < TARGET_P99_MS && errors(s) === 0 && eld.p99Ms - SAMPLING_MS < TARGET_ELD_P99_MS && s.requests.total >= RATE * DURATION_S * 0.95) : '—',
    ]
    return {
      title: `8. Overview under load (real server process, ${RATE} req/s for ${DURATION_S} s from ${CONNECTIONS} connections, Redis holding ${seeded.keys.toLocaleString('en-US')} keys)`,
      header: ['request', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server event-loop delay p99 ms (as sampled)', 'server CPU ms / request', 'target', 'result'],
      rows: [
        row(`GET /trpc/overview.get (15 min window, ${services} services, ${breakers} breakers)`, overview, overviewEld, true),
        row('GET /healthz (no Redis read, no session)', reference, referenceEld, false),
      ],
      notes: [
        `data: ${collectors.length} services × ${ROUTES} routes, ${BREAKERS.length} breakers and a cache each; one simulated hour written by real collectors, then live (every collector flushing each second during the load); ${seeded.cachedValues.toLocaleString('en-US')} cached values (getOrSet) bring the keyspace to ${seeded.keys.toLocaleString('en-US')} keys`,
        `latency: autocannon (a child process, ${CONNECTIONS} connections, fixed overall rate ${RATE} req/s, after a ${WARMUP_S} s warm-up), request sent → response received; errors = socket errors + timeouts + non-2xx`,
        `event-loop delay: monitorEventLoopDelay in the server process (bench/eventLoopProbe.ts), ${SAMPLING_MS} ms sampling, reset at each phase start; the delay is the sampled interval minus the ${SAMPLING_MS} ms it was scheduled for (an idle loop samples ≈ ${SAMPLING_MS}.1 ms), in brackets as sampled, which is what prom-client's nodejs_eventloop_lag_p99_seconds reports (max as sampled: overview ${fmt(overviewEld.maxMs, 1)} ms, reference ${fmt(referenceEld.maxMs, 1)} ms)`,
      ],
    }
  } finally {
    clearInterval(traffic)
    await stopChild(server)
    await Promise.all(collectors.map((c) => c.close().catch(() => undefined)))
    await redis.stop()
  }
}
