/**
 * The oracle test of docs/METRICS.md: a seeded generator drives 3 collectors over 30 simulated days (with two Redis
 * outages and one instance restart inside them) into the real test Redis, keeping every request it made; then, for
 * every range the dashboard offers and for random absolute windows, the API's figures — service totals, every route,
 * the sum of the routes — must equal what the oracle computes from its own exact counts and sorted samples.
 *
 * On the cluster topology (FUSEBOX_TEST_TOPOLOGY=cluster) the collectors write to the Redis Cluster directly and the
 * two outages are left out: they are cut by a TCP proxy in front of the one standalone node, and a cluster client
 * learns every node's own address from CLUSTER SLOTS, past any proxy. The restart and every check stay the same.
 *
 * The oracle restates the definitions independently (tier choice, covered span, rank of a percentile) instead of
 * calling the code under test.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RANGE_PRESETS_MS } from '../../shared/figures'
import { createKeySpace } from '../../shared/keys'
import { seededRandom, standardNormal } from '../../shared/random'
import { TIERS, bucketStart, type Tier } from '../../shared/timeBuckets'
import { createCollector, type Collector } from '../sdk/index'
import { deletePrefix, openTestRedis, singleNodeUrl, testRedisTarget, testTopology } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { startTcpProxy, type TcpProxy } from '../testing/tcpProxy'
import { Auth } from './auth'
import { createOverviewHub } from './readModel'
import { appRouter } from './router'
import { createCallerFactory, type Context } from './trpc'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const SERVICE = 'oracle'
const INSTANCES = ['a', 'b', 'c'] as const

/** Routes with their latency model (ms) and error probability: lognormal and bimodal distributions. */
const ROUTES = [
  { method: 'GET', route: '/products/:id', errorP: 0.01, ms: (r: () => number) => Math.exp(Math.log(20) + 0.8 * standardNormal(r)) },
  { method: 'POST', route: '/checkout', errorP: 0.2, ms: (r: () => number) => Math.exp(Math.log(120) + 0.5 * standardNormal(r)) },
  {
    method: 'GET',
    route: '/search',
    errorP: 0.05,
    ms: (r: () => number) => (r() < 0.8 ? Math.exp(Math.log(5) + 0.3 * standardNormal(r)) : Math.exp(Math.log(300) + 0.3 * standardNormal(r))),
  },
  { method: 'DELETE', route: '/cart/:item', errorP: 0, ms: (r: () => number) => Math.exp(Math.log(2) + 1.2 * standardNormal(r)) },
] as const

/** One request the generator made: when (epoch ms), which route (index), how long (ms), and whether it failed. */
interface Sent {
  atMs: number
  route: number
  durationMs: number
  error: boolean
}

/** The end of the simulation: the read path's "now". Aligned to a 10 s bucket. */
const T0 = bucketStart(Date.now(), 10 * SECOND)

/**
 * Step times (10 s bucket starts) at which the collectors record and flush. Each tier's oldest region is left empty
 * for a while, so real-time Redis expiry during the test (keys expire on the real clock) never touches data a
 * window reads: 30 days every 3 h (from day 29 on), the last day every 10 min, the last hour every 30 s.
 */
function stepTimes(): number[] {
  const out: number[] = []
  for (let t = T0 - 29 * DAY; t < T0 - DAY; t += 3 * HOUR + 10 * SECOND) out.push(bucketStart(t, 10 * SECOND))
  for (let t = T0 - 23 * HOUR - 50 * MINUTE; t < T0 - HOUR; t += 10 * MINUTE) out.push(bucketStart(t, 10 * SECOND))
  for (let t = T0 - 50 * MINUTE; t < T0 - 30 * SECOND; t += 30 * SECOND) out.push(bucketStart(t, 10 * SECOND))
  return out
}

let redis: RedisClient
/** The outage switch in front of the standalone node; none on a cluster (see the file's comment). */
let proxy: TcpProxy | undefined
/** The simulated Redis outages: single node only. */
const OUTAGES = testTopology() === 'single'
const prefix = `o${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
const sent: Sent[] = []
/** Times at which some collector flushed (each marks its 10 s bucket as covered). */
const flushTimes: number[] = []
let now = T0 - 30 * DAY

/**
 * A collector on the simulated clock, through the proxy (so outages can be cut; on a cluster, to the cluster directly). Its timer flushes every 100 ms of
 * real time besides the test's own flushes; every flush call is recorded with its simulated time, since each one
 * marks the 10 s bucket it runs in as covered. The shortest interval also keeps the SDK from back-filling coverage
 * between flushes (it does so only for flushes ≤ 2 intervals apart), so coverage is exactly the flushed buckets.
 */
function makeCollector(instance: string): Collector {
  const c = createCollector({
    redis: proxy ? `redis://127.0.0.1:${proxy.port}` : testRedisTarget(),
    service: SERVICE,
    instance,
    prefix,
    flushIntervalMs: 100,
    reconcileIntervalMs: 600_000,
    clock: () => now,
  })
  const flush = c.flush.bind(c)
  c.flush = () => {
    flushTimes.push(now)
    return flush()
  }
  return c
}

/** Waits (real time) until every collector has had a flush answered by Redis: connected. */
async function connected(collectors: Collector[]): Promise<void> {
  const deadline = Date.now() + 10_000
  while (collectors.some((c) => c.stats.flushes === 0)) {
    if (Date.now() > deadline) throw new Error('collectors did not connect within 10 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Flushes every collector at the simulated time `at`, one after the other. */
async function flushAll(collectors: Collector[], at: number): Promise<void> {
  now = at
  for (const c of collectors) await c.flush()
}

async function simulate(): Promise<void> {
  const random = seededRandom(20261201)
  const steps = stepTimes()
  const outages = OUTAGES ? [Math.floor(steps.length * 0.3), Math.floor(steps.length * 0.8)] : []
  const restartAt = Math.floor(steps.length * 0.55)
  const collectors = INSTANCES.map(makeCollector)
  await connected(collectors)
  for (let s = 0; s < steps.length; s++) {
    const t = steps[s] as number
    if (outages.includes(s)) proxy!.cut()
    if (outages.some((o) => s === o + 6)) {
      proxy!.restore()
      // Let every collector reconnect (real time) before it flushes again; the buffered buckets go out then.
      await new Promise((r) => setTimeout(r, 1500))
    }
    if (s === restartAt) {
      now = t
      await collectors[1]?.close()
      collectors[1] = makeCollector('b')
      await connected(collectors)
    }
    collectors.forEach((c) => {
      const n = Math.floor(random() * 40)
      for (let i = 0; i < n; i++) {
        now = t + Math.floor(random() * 9 * SECOND)
        const route = Math.floor(random() * ROUTES.length)
        const spec = ROUTES[route] as (typeof ROUTES)[number]
        const durationMs = spec.ms(random)
        const error = random() < spec.errorP
        c.recordRequest({ method: spec.method, route: spec.route, status: error ? 503 : 200, durationMs })
        sent.push({ atMs: now, route, durationMs, error })
      }
    })
    // Two flushes: the first closes and writes what the clock passed, the second folds it.
    await flushAll(collectors, t + 9_500)
    await flushAll(collectors, t + 9_600)
  }
  now = T0
  for (const c of collectors) await c.close()
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle: the definitions of docs/METRICS.md, restated.
// ---------------------------------------------------------------------------------------------------------------

/** The tier a window is read from: the finest that still holds its start and gives at most 1,000 buckets. */
function oracleTier(startMs: number, windowMs: number): Tier {
  return TIERS.find((t) => T0 - startMs <= t.retentionMs && windowMs / t.bucketMs <= 1000) ?? (TIERS.at(-1) as Tier)
}

/** Exact figures of requests matching `keep` in the window `[untilMs - windowMs, untilMs]`. */
function oracle(windowMs: number, untilMs: number, keep: (s: Sent) => boolean) {
  const end = Math.min(untilMs, T0)
  const tier = oracleTier(end - windowMs, windowMs)
  // Every bucket of the tier overlapping the window, the partial last one included (whole).
  const first = bucketStart(end - windowMs, tier.bucketMs)
  const inWindow = (ms: number) => {
    const b = bucketStart(ms, tier.bucketMs)
    return b >= first && (end === T0 ? b <= end : b < end)
  }
  // Coverage at 10 s resolution: every 10 s bucket some instance flushed in (or recorded a request in), counted when
  // its tier bucket is in the window; the one still open at T0 by its elapsed part.
  const covered10 = new Set<number>()
  for (const f of flushTimes) if (inWindow(f)) covered10.add(bucketStart(f, 10 * SECOND))
  const picked = sent.filter((s) => inWindow(s.atMs) && keep(s))
  for (const s of sent) if (inWindow(s.atMs)) covered10.add(bucketStart(s.atMs, 10 * SECOND))
  // On a coarse tier a 10 s part counts once its data can have been rolled up (15 s after its start), the first one always.
  const parts = [...covered10].sort((x, y) => x - y).filter((b, i) => tier.bucketMs === 10 * SECOND || i === 0 || b + 15 * SECOND <= T0)
  let coveredMs = 0
  for (const b of parts) coveredMs += T0 > b ? Math.max(1, Math.min(10 * SECOND, T0 - b)) : 0
  const sorted = picked.map((s) => s.durationMs).sort((x, y) => x - y)
  const rank = (p: number) => (sorted.length === 0 ? null : (sorted[Math.floor((p / 100) * (sorted.length - 1))] as number))
  const errors = picked.filter((s) => s.error).length
  return {
    tier: tier.name,
    requests: picked.length,
    errors,
    throughputRps: coveredMs > 0 ? picked.length / (coveredMs / 1000) : null,
    errorRate: picked.length > 0 ? errors / picked.length : null,
    p50Ms: rank(50),
    p95Ms: rank(95),
    p99Ms: rank(99),
    p999Ms: rank(99.9),
  }
}

type Figures = ReturnType<typeof oracle>
type ApiFigures = Omit<Figures, 'tier'>

/** Worst relative percentile error seen per window label (printed at the end for docs/BENCHMARKS.md). */
const worst = new Map<string, { checks: number; requests: number; rps: number | null; maxPctErr: number }>()

/** Asserts the API's figures against the oracle's: counts exactly, rates within 0.1 %, percentiles within 2 %. */
function expectAgree(api: Partial<ApiFigures>, want: Figures, what: string): void {
  const label = what.split(' ')[0] === 'absolute' ? what.split(' (')[0] as string : (what.split(' ')[0] as string)
  const w = worst.get(label) ?? { checks: 0, requests: 0, rps: null, maxPctErr: 0 }
  if (what.endsWith('series.get')) Object.assign(w, { requests: want.requests, rps: want.throughputRps })
  w.checks++
  for (const p of ['p50Ms', 'p95Ms', 'p99Ms', 'p999Ms'] as const) {
    const exact = want[p]
    if (exact !== null && api[p] != null) w.maxPctErr = Math.max(w.maxPctErr, Math.abs((api[p] as number) / exact - 1))
  }
  worst.set(label, w)
  expect(api.requests, `${what}: requests`).toBe(want.requests)
  if (want.throughputRps === null) expect(api.throughputRps, `${what}: throughput`).toBeNull()
  else expect(Math.abs((api.throughputRps ?? NaN) / want.throughputRps - 1), `${what}: throughput ${api.throughputRps} vs ${want.throughputRps}`).toBeLessThanOrEqual(0.001)
  if (want.errorRate === null) expect(api.errorRate, `${what}: error rate`).toBeNull()
  else expect(Math.abs((api.errorRate ?? NaN) - want.errorRate), `${what}: error rate`).toBeLessThanOrEqual(0.001 * Math.max(want.errorRate, 1e-9) + 1e-12)
  for (const p of ['p50Ms', 'p95Ms', 'p99Ms', 'p999Ms'] as const) {
    const exact = want[p]
    if (exact === null) expect(api[p], `${what}: ${p}`).toBeNull()
    else expect(Math.abs((api[p] ?? NaN) / exact - 1), `${what}: ${p} ${api[p]} vs ${exact}`).toBeLessThanOrEqual(0.02)
  }
}

function caller() {
  const ctx: Context = {
    req: {} as IncomingMessage,
    res: { setHeader: () => undefined } as unknown as ServerResponse,
    redis,
    keys,
    auth: new Auth(redis, keys, [], [], 60),
    hub: createOverviewHub(redis, keys),
    secure: false,
    now: () => T0,
    session: { id: 'x'.repeat(32), keyId: 'k'.repeat(64), tokenId: 'oracle-token', role: 'viewer', actor: 'oracle', createdAtMs: T0 },
  }
  return createCallerFactory(appRouter)(ctx)
}

beforeAll(async () => {
  redis = openTestRedis()
  if (OUTAGES) proxy = await startTcpProxy(Number(new URL(singleNodeUrl()).port))
  await simulate()
}, 180_000)

afterAll(async () => {
  const rows = [...worst].map(([label, w]) => `${label.padEnd(14)} ${String(w.requests).padStart(7)} req  ${w.rps === null ? '—' : w.rps.toFixed(4)} req/s  ${w.checks} checks  max percentile error ${(w.maxPctErr * 100).toFixed(2)} %`)
  console.log(`[oracle] ${sent.length} requests over 30 simulated days, 3 instances, ${OUTAGES ? 2 : 0} outages, 1 restart (${testTopology()})\n${rows.join('\n')}`)
  await deletePrefix(redis, prefix)
  await proxy?.close()
  await redis.quit()
})

/** Every range the dashboard offers, ending now, and five seeded absolute windows within the 30 days. */
function windows(): { label: string; windowMs: number; untilMs?: number }[] {
  const out: { label: string; windowMs: number; untilMs?: number }[] = Object.entries(RANGE_PRESETS_MS).map(([label, windowMs]) => ({ label, windowMs }))
  const random = seededRandom(7)
  const lengths = Object.values(RANGE_PRESETS_MS)
  for (let i = 0; i < 5; i++) {
    const windowMs = lengths[Math.floor(random() * lengths.length)] as number
    const untilMs = T0 - Math.floor(random() * (29 * DAY - windowMs))
    out.push({ label: `absolute #${i + 1} (${windowMs / MINUTE} min until T0−${Math.round((T0 - untilMs) / MINUTE)} min)`, windowMs, untilMs })
  }
  return out
}

describe(`figures against an oracle over 30 simulated days (3 instances, ${OUTAGES ? '2 outages' : 'no outages on a cluster'}, 1 restart)`, () => {
  it('generated traffic in every tier the ranges read', () => {
    expect(sent.length).toBeGreaterThan(20_000)
    for (const w of windows().slice(0, 6)) expect(oracle(w.windowMs, T0, () => true).requests, w.label).toBeGreaterThan(0)
  })

  for (const w of windows()) {
    it(`${w.label}: service totals, every route and the sum of the routes equal the oracle`, async () => {
      const api = caller()
      const until = w.untilMs ?? T0
      const want = oracle(w.windowMs, until, () => true)
      const input = { service: SERVICE, windowMs: w.windowMs, ...(w.untilMs === undefined ? {} : { untilMs: w.untilMs }) }
      const series = await api.series.get(input)
      expect(series.tier).toBe(want.tier)
      expectAgree(series.total, want, `${w.label} series.get`)
      const overview = await api.overview.get({ windowMs: w.windowMs, ...(w.untilMs === undefined ? {} : { untilMs: w.untilMs }) })
      const svc = overview.services.find((s) => s.service === SERVICE)
      expectAgree(svc ?? {}, want, `${w.label} overview.get`)
      const table = await api.endpoints.list({ ...input, limit: 2000 })
      let sumRequests = 0
      let sumRps = 0
      for (const [i, r] of ROUTES.entries()) {
        const wantRoute = oracle(w.windowMs, until, (s) => s.route === i)
        const row = table.rows.find((x) => x.method === r.method && x.route === r.route)
        if (wantRoute.requests === 0) expect(row, `${w.label} ${r.route}: no row without requests`).toBeUndefined()
        else expectAgree(row ?? {}, wantRoute, `${w.label} endpoints ${r.method} ${r.route}`)
        const drill = await api.series.get({ ...input, route: { method: r.method, route: r.route } })
        expectAgree(drill.total, wantRoute, `${w.label} drill-down ${r.method} ${r.route}`)
        sumRequests += row?.requests ?? 0
        sumRps += row?.throughputRps ?? 0
      }
      expect(table.rows).toHaveLength(ROUTES.filter((_, i) => oracle(w.windowMs, until, (s) => s.route === i).requests > 0).length)
      expect(sumRequests, `${w.label}: sum of routes`).toBe(want.requests)
      if (want.throughputRps !== null) expect(Math.abs(sumRps / want.throughputRps - 1)).toBeLessThanOrEqual(0.001)
    })
  }
})
