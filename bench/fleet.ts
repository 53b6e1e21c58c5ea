/**
 * Topic 9 — the measured fleet (issue #13 Acceptance): INSTANCES simulated instances × ROUTES routes (real collectors,
 * PROCESSES child processes on loopback: bench/fleetChild.ts), SERVICES services of INSTANCES ÷ SERVICES instances
 * each, every collector flushing once a second, first against a single redis-server (the reference, same run), then
 * against a 3-master + 3-replica Redis Cluster (server/bootstrap/redisCluster.mjs). Per topology, over a WINDOW_S s
 * window after a WARMUP_S s warm-up (the window always spans a 1 min roll-up):
 * - flush p50 / p99: wall time of each `await collector.flush()` in its process, every flush of every collector;
 * - per master, from INFO deltas ÷ wall seconds: commands/s (`total_commands_processed`, our INFO calls left out),
 *   CPU % of one core (`used_cpu_sys` + `used_cpu_user`), network in/out (`total_net_input_bytes` / `output`);
 * - per master, memory now (`used_memory`) and at full retention (formula in the table's notes);
 * - `overview.get` p50 / p95 over real HTTP against a dashboard server process (`server/app/main.ts`) on that topology
 *   while the fleet flushes: OVERVIEW_RATE req/s for OVERVIEW_S s, open loop, one keep-alive pool;
 * - a PING to each master every PING_EVERY_MS from its own connection (Redis' queueing seen by an idle client), Redis'
 *   latency monitor (main-thread events ≥ LATENCY_THRESHOLD_MS), and flushes and PINGs split by where in the 10 s
 *   bucket they started (CLOSE_WINDOW_MS: when the whole fleet closes the previous bucket at once);
 * - the machine: CPU busy % of all cores (/proc/stat) and load average, the fleet processes' and the server's CPU.
 * Then, on the same topology, one service's traffic for a simulated hour on a fake clock (as topic 5 does) gives the
 * size of a *closed, folded* bucket of each tier at this fleet's per-service traffic.
 *
 * `FUSEBOX_BENCH_FLEET_TOPOLOGIES=single` (or `cluster`) runs one half only (development; the table then says so).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { findFreePort } from '../server/bootstrap/redis.mjs'
import { startRedisCluster } from '../server/bootstrap/redisCluster.mjs'
import { createCollector, type Collector } from '../server/sdk/index'
import { redisOption, type FleetChildReport, type FleetChildStart, type FleetTarget } from './fleetProtocol'
import { CLOSE_WINDOW_MS, bucketSizes, byPhase, latencyEvents, machineCpu, mean, percentileOf, pingProbe, processCpuS, rates, p99BySecond, readCounters, startLatencyMonitor, type BucketSize, type NodeCounters, type NodeRates } from './fleetMeasure'
import { lognormalMs, seededRandom } from './samples'
import { startServerChild, stopChild } from './serverChild'
import { fmt } from './stats'
import { startBenchRedis } from './redis'
import { verdict, type Table } from './table'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CHILD = join(ROOT, 'bench/fleetChild.ts')
const PREFIX = 'fbfleet'
const TOKEN = 'bench-fleet-operator-token-0123456789'

export const INSTANCES = 200
export const ROUTES = 200
export const SERVICES = 20
const PROCESSES = 4
/** Each route of each instance gets this many requests per 10 s bucket (0.2 req/s): every series written each 10 s. */
const REQUESTS_PER_ROUTE_PER_10S = 2
const FLUSH_EVERY_MS = 1000
const WARMUP_S = 10
const WINDOW_S = 70
const OVERVIEW_AT_S = 30
const OVERVIEW_S = 10
const OVERVIEW_RATE = 20
const OVERVIEW_INPUT = { windowMs: 15 * 60_000 }
const HOUR_SERVICE = 'fleet-hour'
/** Redis main-thread events slower than this are listed (latency monitor). */
const LATENCY_THRESHOLD_MS = 100
/** A PING to each master this often during the window (its round trip: Redis' queueing and the machine's). */
const PING_EVERY_MS = 100

/** Retention per tier (shared/timeBuckets.ts): buckets kept = retention ÷ width. */
const TIERS = [
  { name: '10s', widthMs: 10_000, retentionMs: 65 * 60_000 },
  { name: '1m', widthMs: 60_000, retentionMs: 24 * 3_600_000 },
  { name: '1h', widthMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 },
] as const

const TARGET_FLUSH_P99_MS = 250
const TARGET_OVERVIEW_P95_MS = 200
const TARGET_SPREAD = 0.5

/** A progress line on stderr (the table goes to stdout): which step of which topology, seconds since the bench began. */
const began = performance.now()
function progress(text: string): void {
  process.stderr.write(`[fleet ${((performance.now() - began) / 1000).toFixed(0)} s] ${text}\n`)
}

/** A started topology: how collectors and the server reach it, the masters to measure, and its clean-up. */
interface Topology {
  name: 'single node' | '3-master cluster'
  target: FleetTarget
  /** REDIS_URL for the server child (on a cluster it is removed again by `serverEnv`). */
  redisUrl: string
  /**
   * Variables added to the server child's environment. On a cluster: REDIS_CLUSTER_NODES, and REDIS_URL undefined —
   * env.ts takes exactly one of the two, and Node's spawn leaves a variable whose value is undefined out.
   */
  serverEnv: Record<string, string | undefined>
  masters: { port: number; admin: Redis }[]
  replicas: { port: number; admin: Redis }[]
  stop: () => Promise<void>
}

async function startSingle(): Promise<Topology> {
  const redis = await startBenchRedis({ name: 'fleet-single', adminCommandTimeoutMs: 30_000 })
  return {
    name: 'single node',
    target: { kind: 'single', url: redis.url },
    redisUrl: redis.url,
    serverEnv: {},
    masters: [{ port: redis.port, admin: redis.admin }],
    replicas: [],
    stop: redis.stop,
  }
}

async function startCluster(): Promise<Topology> {
  const dir = await mkdtemp(join(tmpdir(), 'fusebox-bench-fleet-cluster-'))
  try {
    const cluster = await startRedisCluster({ dir, masters: 3, replicasPerMaster: 1 })
    const masterPorts = await cluster.masterPorts()
    const admins = cluster.nodes.map((n) => ({ port: n.port, admin: new Redis({ host: '127.0.0.1', port: n.port, commandTimeout: 30_000 }) }))
    return {
      name: '3-master cluster',
      target: { kind: 'cluster', seeds: cluster.seeds },
      redisUrl: `redis://${cluster.nodes[0]!.address}`,
      serverEnv: { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: undefined },
      masters: admins.filter((a) => masterPorts.includes(a.port)),
      replicas: admins.filter((a) => !masterPorts.includes(a.port)),
      stop: async () => {
        for (const a of admins) a.admin.disconnect()
        await cluster.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** Service of instance i: svc-00 … svc-19, round robin. */
function serviceOf(i: number): string {
  return `svc-${String(i % SERVICES).padStart(2, '0')}`
}

/** A fleet child process and a way to wait for its next message of a type. */
interface FleetProcess {
  child: ChildProcess
  next: <T extends { type: string }>(type: T['type'], timeoutMs: number) => Promise<T>
}

function forkFleetChild(): FleetProcess {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting: { type: string; resolve: (m: unknown) => void; reject: (e: Error) => void }[] = []
  child.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') {
      for (const w of waiting.splice(0)) w.reject(new Error(`fleet child: ${m.message}`))
      return
    }
    const i = waiting.findIndex((w) => w.type === m.type)
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m)
  })
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`fleet child exited ${code} while waiting for ${w.type}`))
  })
  return {
    child,
    next: <T extends { type: string }>(type: T['type'], timeoutMs: number) =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fleet child: no ${type} within ${timeoutMs} ms`)), timeoutMs)
        waiting.push({
          type,
          resolve: (m) => {
            clearTimeout(timer)
            resolve(m as T)
          },
          reject: (e) => {
            clearTimeout(timer)
            reject(e)
          },
        })
      }),
  }
}

/** Latencies (ms) and failures of `overview.get` at a fixed rate (open loop: one request every 1000/rate ms). */
async function overviewLoad(base: string, cookie: string): Promise<{ latencies: number[]; errors: number; services: number }> {
  const url = `${base}/trpc/overview.get?input=${encodeURIComponent(JSON.stringify(OVERVIEW_INPUT))}`
  const headers = { cookie, 'x-fusebox-csrf': '1', 'accept-encoding': 'gzip, deflate, br' }
  const first = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  const body = (await first.json()) as { result?: { data?: { services?: unknown[] } } }
  const services = body.result?.data?.services?.length ?? 0
  const latencies: number[] = []
  let errors = 0
  const inFlight: Promise<void>[] = []
  const t0 = performance.now()
  for (let i = 0; i < OVERVIEW_RATE * OVERVIEW_S; i++) {
    const due = t0 + (i * 1000) / OVERVIEW_RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    inFlight.push(
      (async () => {
        const s = performance.now()
        try {
          const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
          await res.arrayBuffer()
          if (!res.ok) errors++
          else latencies.push(performance.now() - s)
        } catch {
          errors++
        }
      })(),
    )
  }
  await Promise.all(inFlight)
  return { latencies, errors, services }
}

/**
 * One service's per-bucket traffic (INSTANCES ÷ SERVICES instances × ROUTES routes × REQUESTS_PER_ROUTE_PER_10S) for
 * a simulated hour through one collector on a fake clock (in the future, so nothing expires), closed and folded; then
 * the mean size of its closed buckets of each tier (topic 5's method, at this fleet's traffic).
 */
async function simulatedHour(topology: Topology): Promise<Map<string, { bytes: number; buckets: number; reqFields: number }>> {
  const random = seededRandom(13)
  const h0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000
  let fakeNow: number | null = null
  const collector: Collector = createCollector({
    redis: redisOption(topology.target),
    service: HOUR_SERVICE,
    instance: 'all',
    prefix: PREFIX,
    flushIntervalMs: 60_000,
    maxSeries: 5000,
    clock: () => fakeNow ?? Date.now(),
  })
  try {
    const deadline = Date.now() + 20_000
    while (collector.stats.flushes === 0) {
      if (Date.now() > deadline) throw new Error('the simulated-hour collector did not connect within 20 s')
      await collector.flush()
      await sleep(50)
    }
    const perBucket = (INSTANCES / SERVICES) * REQUESTS_PER_ROUTE_PER_10S
    for (let b = 0; b < 360; b++) {
      fakeNow = h0 + b * 10_000 + 5000
      for (let r = 0; r < ROUTES; r++) {
        const route = `/api/v1/r${r}/:id`
        for (let k = 0; k < perBucket; k++) {
          const x = random()
          collector.recordRequest({ method: r % 5 === 0 ? 'POST' : 'GET', route, status: x < 0.96 ? 200 : x < 0.99 ? 404 : 503, durationMs: lognormalMs(random, 15 + (k % 7), 0.8) })
        }
      }
      await collector.flush()
    }
    fakeNow = h0 + 3_600_000 + 10_000
    for (let f = 0; f < 40; f++) await collector.flush()
  } finally {
    await collector.close()
  }
  const out = new Map<string, { bytes: number; buckets: number; reqFields: number }>()
  for (const m of topology.masters) {
    for (const b of await bucketSizes(m.admin, PREFIX, (s) => s === HOUR_SERVICE)) {
      const tier = TIERS.find((t) => t.name === b.tier)
      if (!tier || b.startMs < h0 || b.startMs + tier.widthMs > h0 + 3_600_000) continue
      const t = out.get(b.tier) ?? { bytes: 0, buckets: 0, reqFields: 0 }
      t.bytes += b.bytes
      t.buckets++
      t.reqFields += b.reqFields
      out.set(b.tier, t)
    }
  }
  return out
}

/** Everything measured on one topology (the flush figures summed over the fleet's child reports). */
interface TopologyResult
  extends Pick<FleetChildReport, 'flushMs' | 'sdkFlushMs' | 'flushPhaseMs' | 'overruns' | 'flushErrors' | 'failedFlushCommands' | 'skippedFlushes'> {
  name: string
  error?: string
  masters: {
    port: number
    services: string[]
    rates: NodeRates
    usedMemory: number
    /** Bytes of the live fleet's bucket keys on this master at the end of the window. */
    bucketBytes: number
    fullRetention: number
    clients: number
    /** LATENCY LATEST: main-thread events ≥ LATENCY_THRESHOLD_MS during the window */
    stalls: string[]
    /** PING round trips (ms) from the bench process during the window, and where in the 10 s bucket each was sent */
    pings: number[]
    pingPhases: number[]
  }[]
  /** Fleet processes' event-loop delay: worst p99 and max over the processes, ms (as sampled at 10 ms) */
  fleetLoopP99Ms: number
  fleetLoopMaxMs: number
  replicaCpuPct: number
  errorSamples: string[]
  requestsPerS: number
  fleetCpuPct: number
  overview: { latencies: number[]; errors: number; services: number }
  /** The dashboard server's CPU, % of one core, during the overview load and after it (no request; its own timers) */
  serverCpuPct: number
  serverIdleCpuPct: number
  serverCpuMsPerOverview: number
  machineBusyPct: number
  load: number[]
  /** Closed-bucket sizes per tier (simulated hour) and the live fleet's bucket keys by tier. */
  closed: Map<string, { bytes: number; buckets: number; reqFields: number }>
  live: BucketSize[]
  windowS: number
}

async function runTopology(start: () => Promise<Topology>): Promise<TopologyResult> {
  const topology = await start()
  progress(`${topology.name}: started`)
  let server: ChildProcess | null = null
  const fleet: FleetProcess[] = []
  try {
    // The dashboard server on this topology.
    const port = await findFreePort()
    server = (await startServerChild({ redisUrl: topology.redisUrl, port, env: { FUSEBOX_PREFIX: PREFIX, FUSEBOX_OPERATOR_TOKENS: TOKEN, ...topology.serverEnv } as Record<string, string> })).child
    const base = `http://127.0.0.1:${port}`
    const login = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }, body: JSON.stringify({ token: TOKEN }) })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
    if (!login.ok || !cookie) throw new Error(`login answered ${login.status}: ${await login.text()}`)

    // The fleet: PROCESSES children, instance i in child i % PROCESSES.
    for (let p = 0; p < PROCESSES; p++) fleet.push(forkFleetChild())
    await Promise.all(
      fleet.map((f, p) => {
        const ready = f.next('ready', 120_000)
        const collectors = Array.from({ length: INSTANCES }, (_, i) => i)
          .filter((i) => i % PROCESSES === p)
          .map((i) => ({ service: serviceOf(i), instance: `inst-${String(i).padStart(3, '0')}` }))
        const msg: FleetChildStart = { type: 'start', target: topology.target, prefix: PREFIX, collectors, routes: ROUTES, requestsPerRoutePer10s: REQUESTS_PER_ROUTE_PER_10S, flushEveryMs: FLUSH_EVERY_MS, seed: 100 + p }
        f.child.send(msg)
        return ready
      }),
    )
    progress(`${topology.name}: fleet ready, warming up`)
    await sleep(WARMUP_S * 1000)

    // The window.
    for (const f of fleet) f.child.send({ type: 'measure' })
    const nodes = [...topology.masters, ...topology.replicas]
    await Promise.all(topology.masters.map((m) => startLatencyMonitor(m.admin, LATENCY_THRESHOLD_MS)))
    const before = await Promise.all(nodes.map((n) => readCounters(n.admin)))
    const cpu0 = await machineCpu()
    const fleetCpu0 = await Promise.all(fleet.map((f) => processCpuS(f.child.pid)))
    const probe = pingProbe(topology.masters.map((m) => m.port), PING_EVERY_MS)
    const windowStart = performance.now()
    progress(`${topology.name}: window started`)
    await sleep(OVERVIEW_AT_S * 1000)
    progress(`${topology.name}: overview load`)
    const server0 = await processCpuS(server.pid)
    const overviewStart = performance.now()
    const overview = await overviewLoad(base, cookie)
    const overviewS = (performance.now() - overviewStart) / 1000
    progress(`${topology.name}: overview load done (${overview.latencies.length} answered, ${overview.errors} errors)`)
    const server1 = await processCpuS(server.pid)
    const serverCpuOverview = server1 - server0
    const restStart = performance.now()
    await sleep(Math.max(0, WINDOW_S * 1000 - (performance.now() - windowStart)))
    const serverCpuRest = (await processCpuS(server.pid)) - server1
    const restS = (performance.now() - restStart) / 1000
    const after = await Promise.all(nodes.map((n) => readCounters(n.admin)))
    const cpu1 = await machineCpu()
    const fleetCpu1 = await Promise.all(fleet.map((f) => processCpuS(f.child.pid)))
    const windowS = (performance.now() - windowStart) / 1000
    const load = loadavg()
    const stalls = await Promise.all(topology.masters.map((m) => latencyEvents(m.admin)))
    const pings = await probe.stop()

    progress(`${topology.name}: window done, measuring keys`)
    // Bucket keys of the live fleet per master, before the fleet stops.
    const live: BucketSize[][] = []
    for (const m of topology.masters) live.push(await bucketSizes(m.admin, PREFIX, (s) => s !== HOUR_SERVICE))

    const reports = await Promise.all(
      fleet.map((f) => {
        const r = f.next<FleetChildReport>('report', 60_000)
        f.child.send({ type: 'stop' })
        return r
      }),
    )
    // Each child exits once its collectors are closed; one that does not within 20 s is killed (the figures are in).
    await Promise.all(
      fleet.map(
        (f) =>
          new Promise((r) => {
            if (f.child.exitCode !== null) return r(null)
            const t = setTimeout(() => f.child.kill('SIGKILL'), 20_000)
            f.child.once('exit', () => r(clearTimeout(t)))
          }),
      ),
    )
    fleet.length = 0
    progress(`${topology.name}: fleet stopped, simulated hour`)

    const closed = await simulatedHour(topology)

    const byRates = nodes.map((_, i) => rates(before[i]!, after[i]!))
    const masters = topology.masters.map((m, i) => {
      const mine = live[i]!
      const services = [...new Set(mine.map((b) => b.service))].sort()
      const bucketBytes = mine.reduce((n, b) => n + b.bytes, 0)
      return { port: m.port, services, rates: byRates[i]!, usedMemory: (after[i] as NodeCounters).usedMemory, bucketBytes, fullRetention: Number.NaN, clients: (after[i] as NodeCounters).clients, stalls: stalls[i] ?? [], pings: (pings[i] ?? []).map((p) => p.ms), pingPhases: (pings[i] ?? []).map((p) => p.phaseMs) }
    })
    const result: TopologyResult = {
      name: topology.name,
      masters,
      replicaCpuPct: byRates.slice(topology.masters.length).reduce((n, r) => n + r.cpuPct, 0),
      flushMs: reports.flatMap((r) => r.flushMs),
      sdkFlushMs: reports.flatMap((r) => r.sdkFlushMs),
      flushPhaseMs: reports.flatMap((r) => r.flushPhaseMs),
      overruns: reports.reduce((n, r) => n + r.overruns, 0),
      flushErrors: reports.reduce((n, r) => n + r.flushErrors, 0),
      failedFlushCommands: reports.reduce((n, r) => n + r.failedFlushCommands, 0),
      skippedFlushes: reports.reduce((n, r) => n + r.skippedFlushes, 0),
      errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 3),
      fleetLoopP99Ms: Math.max(...reports.map((r) => r.eventLoopP99Ms)),
      fleetLoopMaxMs: Math.max(...reports.map((r) => r.eventLoopMaxMs)),
      requestsPerS: reports.reduce((n, r) => n + r.requests, 0) / windowS,
      fleetCpuPct: (fleetCpu1.reduce((n, c) => n + c, 0) - fleetCpu0.reduce((n, c) => n + c, 0)) / windowS * 100,
      overview,
      serverCpuPct: (serverCpuOverview / overviewS) * 100,
      serverIdleCpuPct: (serverCpuRest / restS) * 100,
      serverCpuMsPerOverview: (serverCpuOverview * 1000) / Math.max(1, overview.latencies.length + overview.errors),
      machineBusyPct: ((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * 100,
      load,
      closed,
      live: live.flat(),
      windowS,
    }
    for (const m of result.masters) m.fullRetention = fullRetention(m.usedMemory, m.bucketBytes, m.services.length, closed)
    return result
  } finally {
    for (const f of fleet) f.child.kill('SIGKILL')
    await stopChild(server)
    await topology.stop()
  }
}

/**
 * Memory of one master at full retention (bytes):
 * used_memory − live bucket bytes + services × Σ_tier closedBytesPerBucket(tier) × (kept(tier) + instancesPerService),
 * with kept = retention ÷ width (390, 1,440, 720) and the open bucket of each tier counted at worst as one closed-size
 * own field per instance (topic 5's rule).
 */
function fullRetention(usedMemory: number, bucketBytes: number, services: number, closed: TopologyResult['closed']): number {
  let perService = 0
  for (const t of TIERS) {
    const c = closed.get(t.name)
    if (!c) return Number.NaN
    perService += (c.bytes / c.buckets) * (t.retentionMs / t.widthMs + INSTANCES / SERVICES)
  }
  return usedMemory - bucketBytes + services * perService
}

const MiB = 2 ** 20
const kb = (n: number): string => fmt(n / 1024, 0)
const mib = (n: number): string => fmt(n / MiB, 1)

/** Runs the fleet benchmark (see module comment); starts and removes its own redis-servers and processes. */
export async function benchFleet(): Promise<Table> {
  const only = process.env.FUSEBOX_BENCH_FLEET_TOPOLOGIES?.split(',').map((s) => s.trim())
  const results: TopologyResult[] = []
  for (const [key, start] of [
    ['single', startSingle],
    ['cluster', startCluster],
  ] as const) {
    if (only && !only.includes(key)) continue
    try {
      results.push(await runTopology(start))
    } catch (error) {
      results.push({ name: key === 'single' ? 'single node' : '3-master cluster', error: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error) } as TopologyResult)
    }
  }
  return fleetTable(results)
}

function fleetTable(results: TopologyResult[]): Table {
  const single = results.find((r) => r.name === 'single node' && !r.error)
  const cluster = results.find((r) => r.name === '3-master cluster' && !r.error)
  const masterCount = cluster?.masters.length ?? 3
  const header = ['figure', 'single node', ...Array.from({ length: masterCount }, (_, i) => `cluster master ${i + 1}`), 'cluster (all / fleet)', 'busiest ÷ single', 'target', 'result']
  const rows: string[][] = []
  const blank = Array.from({ length: masterCount }, () => '')
  /** A per-master figure: single's value, each master's, the cluster's sum, busiest ÷ single. */
  const perMaster = (name: string, get: (m: TopologyResult['masters'][number]) => number, show: (n: number) => string, target?: string, sumIt = true): void => {
    const s = single ? get(single.masters[0]!) : Number.NaN
    const ms = cluster ? cluster.masters.map(get) : []
    const busiest = ms.length ? Math.max(...ms) : Number.NaN
    const ratio = busiest / s
    rows.push([
      name,
      single ? show(s) : '—',
      ...(cluster ? ms.map(show) : blank.map(() => '—')),
      cluster ? (sumIt ? show(ms.reduce((a, b) => a + b, 0)) : '') : '—',
      Number.isFinite(ratio) ? fmt(ratio, 2) : '—',
      target ?? '',
      target && Number.isFinite(ratio) ? verdict(ratio <= TARGET_SPREAD) : '',
    ])
  }
  /** A fleet-wide figure: single's and the cluster's value, cluster ÷ single. */
  const fleetWide = (name: string, get: (r: TopologyResult) => number, show: (n: number) => string, target?: { text: string; ok: (r: TopologyResult) => boolean }): void => {
    const s = single ? get(single) : Number.NaN
    const c = cluster ? get(cluster) : Number.NaN
    const oks = target ? [single, cluster].filter((r): r is TopologyResult => r !== undefined).map(target.ok) : []
    rows.push([name, single ? show(s) : '—', ...blank, cluster ? show(c) : '—', Number.isFinite(c / s) ? fmt(c / s, 2) : '—', target?.text ?? '', target && oks.length ? verdict(oks.every(Boolean)) : ''])
  }

  perMaster('services (instances) on the node', (m) => m.services.length, (n) => `${n} (${n * (INSTANCES / SERVICES)})`, undefined)
  fleetWide('flush p50 ms (every flush of every collector)', (r) => percentileOf(r.flushMs, 50), (n) => fmt(n, 1))
  fleetWide('flush p99 ms', (r) => percentileOf(r.flushMs, 99), (n) => fmt(n, 1), {
    text: `p99 ≤ ${TARGET_FLUSH_P99_MS} ms, 0 flush errors`,
    ok: (r) => percentileOf(r.flushMs, 99) <= TARGET_FLUSH_P99_MS && r.flushErrors === 0 && r.flushMs.length > 0,
  })
  const closing = `${CLOSE_WINDOW_MS.start / 1000}–${CLOSE_WINDOW_MS.end / 1000} s`
  fleetWide(`flush p99 ms, flushes started ${closing} into a 10 s bucket (the fleet closes the last one)`, (r) => percentileOf(byPhase(r.flushMs, r.flushPhaseMs).closing, 99), (n) => fmt(n, 1))
  fleetWide('flush p99 ms, flushes started in the other 6 s', (r) => percentileOf(byPhase(r.flushMs, r.flushPhaseMs).rest, 99), (n) => fmt(n, 1))
  fleetWide('SDK lastFlushDurationMs p99 ms', (r) => percentileOf(r.sdkFlushMs, 99), (n) => fmt(n, 1))
  fleetWide('flushes timed (errors / overruns / skipped)', (r) => r.flushMs.length, (n) => fmt(n, 0))
  rows[rows.length - 1]![1] = single ? `${single.flushMs.length} (${single.flushErrors} / ${single.overruns} / ${single.skippedFlushes})` : '—'
  rows[rows.length - 1]![2 + masterCount] = cluster ? `${cluster.flushMs.length} (${cluster.flushErrors} / ${cluster.overruns} / ${cluster.skippedFlushes})` : '—'
  perMaster(`PING round trip p50 ms (every ${PING_EVERY_MS} ms)`, (m) => percentileOf(m.pings, 50), (n) => fmt(n, 2), undefined, false)
  perMaster('PING round trip p99 ms', (m) => percentileOf(m.pings, 99), (n) => fmt(n, 1), undefined, false)
  perMaster(`PING p99 ms, sent ${closing} into a 10 s bucket`, (m) => percentileOf(byPhase(m.pings, m.pingPhases).closing, 99), (n) => fmt(n, 1), undefined, false)
  perMaster('PING p99 ms, sent in the other 6 s', (m) => percentileOf(byPhase(m.pings, m.pingPhases).rest, 99), (n) => fmt(n, 1), undefined, false)
  perMaster('Redis commands/s', (m) => m.rates.commandsPerS, (n) => fmt(n, 0), `busiest ≤ ${TARGET_SPREAD} × single`)
  perMaster('Redis CPU, % of one core', (m) => m.rates.cpuPct, (n) => fmt(n, 1), `busiest ≤ ${TARGET_SPREAD} × single`)
  perMaster('network in, KB/s', (m) => m.rates.netInBytesPerS, kb)
  perMaster('network out, KB/s (replication included)', (m) => m.rates.netOutBytesPerS, kb)
  perMaster('clients connected', (m) => m.clients, (n) => fmt(n, 0))
  perMaster('used_memory now, MiB', (m) => m.usedMemory, mib)
  perMaster('memory at full retention, MiB', (m) => m.fullRetention, mib, `busiest ≤ ${TARGET_SPREAD} × single`)
  fleetWide(`overview.get p50 ms (${OVERVIEW_RATE} req/s for ${OVERVIEW_S} s)`, (r) => percentileOf(r.overview.latencies, 50), (n) => fmt(n, 1))
  fleetWide('overview.get p95 ms', (r) => percentileOf(r.overview.latencies, 95), (n) => fmt(n, 1), {
    text: `p95 ≤ ${TARGET_OVERVIEW_P95_MS} ms, 0 errors, all ${SERVICES} services`,
    ok: (r) => percentileOf(r.overview.latencies, 95) <= TARGET_OVERVIEW_P95_MS && r.overview.errors === 0 && r.overview.services >= SERVICES,
  })
  fleetWide('overview.get errors / services shown', (r) => r.overview.errors, (n) => fmt(n, 0))
  rows[rows.length - 1]![1] = single ? `${single.overview.errors} / ${single.overview.services}` : '—'
  rows[rows.length - 1]![2 + masterCount] = cluster ? `${cluster.overview.errors} / ${cluster.overview.services}` : '—'
  fleetWide(`dashboard server CPU, % of one core, during the overview load`, (r) => r.serverCpuPct, (n) => fmt(n, 1))
  fleetWide('dashboard server CPU, % of one core, without requests (after the load)', (r) => r.serverIdleCpuPct, (n) => fmt(n, 1))
  fleetWide('dashboard server CPU ms per overview.get', (r) => r.serverCpuMsPerOverview, (n) => fmt(n, 1))
  fleetWide(`fleet processes' CPU, % of one core (${PROCESSES} processes)`, (r) => r.fleetCpuPct, (n) => fmt(n, 0))
  fleetWide('fleet processes\u2019 event-loop delay p99 / max ms (worst process, as sampled)', (r) => r.fleetLoopP99Ms, (n) => fmt(n, 0))
  rows[rows.length - 1]![1] = single ? `${fmt(single.fleetLoopP99Ms, 0)} / ${fmt(single.fleetLoopMaxMs, 0)}` : '—'
  rows[rows.length - 1]![2 + masterCount] = cluster ? `${fmt(cluster.fleetLoopP99Ms, 0)} / ${fmt(cluster.fleetLoopMaxMs, 0)}` : '—'
  perMaster('AOF rewrites (forks) in the window (delayed fsyncs: notes)', (m) => m.rates.forks, (n) => fmt(n, 0), undefined, false)
  fleetWide('replicas\u2019 CPU, % of one core (all)', (r) => r.replicaCpuPct, (n) => fmt(n, 1))
  fleetWide('machine CPU busy, % of all cores', (r) => r.machineBusyPct, (n) => fmt(n, 0))
  fleetWide('requests recorded /s (fleet)', (r) => r.requestsPerS, (n) => fmt(n, 0))

  const notes: string[] = []
  for (const r of results) {
    if (r.error) {
      notes.push(`${r.name}: ERROR — ${r.error}`)
      continue
    }
    const tierText = TIERS.map((t) => {
      const c = r.closed.get(t.name)
      const live = r.live.filter((b) => b.tier === t.name)
      return `${t.name} closed ${c ? `${fmt(c.bytes / c.buckets / 1024, 1)} KiB/bucket (${c.buckets} buckets, ${fmt(c.reqFields / c.buckets, 0)} fields)` : 'n/a'}, live ${fmt(mean(live.map((b) => b.bytes)) / 1024, 1)} KiB/bucket (max ${fmt(Math.max(...live.map((b) => b.reqFields)), 0)} fields)`
    }).join('; ')
    notes.push(
      `${r.name}: window ${fmt(r.windowS, 1)} s; load average ${r.load.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min) at its end; bucket sizes per service (req + tot + cov keys): ${tierText}`,
    )
    const seconds = (xs: number[]): string => xs.map((x, i) => `${i}: ${fmt(x, 0)}`).join(', ')
    const busiest = r.masters.reduce((a, m) => (m.services.length > a.services.length ? m : a))
    notes.push(`${r.name}: flush p99 ms by second of the 10 s bucket — ${seconds(p99BySecond(r.flushMs, r.flushPhaseMs))}; PING p99 ms by second, busiest master — ${seconds(p99BySecond(busiest.pings, busiest.pingPhases))}`)
    notes.push(`${r.name}: services per master — ${r.masters.map((m, i) => `${i + 1} (port ${m.port}): ${m.services.join(' ')}`).join('; ')}`)
    notes.push(`${r.name}: top commands per master — ${r.masters.map((m, i) => `${i + 1}: ${m.rates.top.slice(0, 6).map(([c, n]) => `${c} ${fmt(n / r.windowS, 0)}/s`).join(', ')}`).join('; ')}`)
    notes.push(`${r.name}: Redis main-thread events ≥ ${LATENCY_THRESHOLD_MS} ms (LATENCY LATEST) — ${r.masters.map((m, i) => `${i + 1}: ${m.stalls.length ? m.stalls.join(', ') : 'none'}; delayed fsyncs ${m.rates.delayedFsync}`).join('; ')}`)
    if (r.errorSamples.length > 0) notes.push(`${r.name}: collector errors — ${r.errorSamples.join(' | ')}`)
  }
  notes.push(
    `fleet: ${INSTANCES} instances (${SERVICES} services × ${INSTANCES / SERVICES}) × ${ROUTES} routes in ${PROCESSES} processes, ${REQUESTS_PER_ROUTE_PER_10S} requests per route per 10 s per instance, each collector flushing every ${FLUSH_EVERY_MS} ms at its own phase; warm-up ${WARMUP_S} s, window ${WINDOW_S} s (spans a 1 min roll-up)`,
    'flush: wall time of `await collector.flush()` in its process (call → resolution); the SDK\u2019s `lastFlushDurationMs` (pipeline start → answer) beside it; an overrun = a tick skipped because that collector\u2019s previous flush had not resolved',
    'per master: INFO deltas over the window ÷ wall s; CPU = used_cpu_sys + used_cpu_user; network out includes the replication stream to the replica',
    `full retention = used_memory − live bucket-key bytes + services × Σ_tier closed bytes per bucket × (kept + ${INSTANCES / SERVICES} open own fields), kept = 390 (10 s, 65 min), 1,440 (1 min, 24 h), 720 (1 h, 30 d); closed bucket sizes from one service\u2019s traffic for a simulated hour on the same topology (MEMORY USAGE … SAMPLES 0 of its req, tot and cov keys)`,
    `overview.get: real HTTP to a dashboard server process on the topology, ${OVERVIEW_RATE} req/s open loop for ${OVERVIEW_S} s starting ${OVERVIEW_AT_S} s into the window, one keep-alive pool, request sent → body read`,
  )
  const title = `9. The measured fleet: ${INSTANCES} instances × ${ROUTES} routes flushing every second, 3-master cluster vs single node`
  return { title, header, rows, notes }
}
