/**
 * Acceptance of issue #12 "Metrics Grafana can use": a real Prometheus (Debian package `prometheus`, 1 s scrapes)
 * scrapes `/metrics` of two real dashboard server processes (server/app/main.ts) on one Redis, while two services
 * record a known, steady traffic through real collectors in their own processes (testing/fleetTrafficChild.ts).
 * Then, through Prometheus' HTTP API and Fusebox's own tRPC API over the same last minute:
 * - `sum by (service_name)(rate(http_server_request_duration_seconds_count[1m]))` equals Fusebox's throughput
 *   (docs/METRICS.md) within 2 %;
 * - `histogram_quantile(0.95, sum by (le, service_name)(rate(…_bucket[1m])))` lies in the OTel bucket holding
 *   Fusebox's p95;
 * - exactly one replica exports the fleet series (the lease), so nothing doubles;
 * - both stay right after one instance is restarted (a new process with a new instance name): no counter reset, no
 *   new series;
 * - `promtool check metrics` on a real scrape of each replica is clean, and every panel query of
 *   docs/grafana/fusebox.json runs.
 * Loopback only; ~95 s of wall time and timing-sensitive, so it runs outside the parallel vitest step, beside the fault
 * scenarios (server/bootstrap/test.mjs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DURATION_BOUNDS_S } from '../../shared/fleetCounters'
import type { OverviewSnapshot } from '../../shared/schemas'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { call, MUTATION_HEADERS, OPERATOR_TOKEN, VIEWER_TOKEN } from './testing/testServer'
import { findFreePort } from '../bootstrap/redis.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TRAFFIC_CHILD = fileURLToPath(new URL('./testing/fleetTrafficChild.ts', import.meta.url))
const DASHBOARD = fileURLToPath(new URL('../../docs/grafana/fusebox.json', import.meta.url))
const PREFIX = `prom${randomBytes(4).toString('hex')}`
/** Services and their steady rates, req/s; checkout runs one instance (restarted), catalog two. */
const RATES = { checkout: 40, catalog: 15 } as const

const children = new Set<ChildProcess>()
let tmp = ''
let redis: Redis
let promBase = ''
const servers: { base: string; port: number; log: () => string }[] = []
let promLog = ''


/** Spawns `node [args]` in the repo, keeps its last output, and kills it in afterAll. */
function start(args: string[], env: Record<string, string>): { child: ChildProcess; log: () => string } {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FUSEBOX_') && k !== 'REDIS_URL' && k !== 'PORT') clean[k] = v
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let log = ''
  const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-6000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  children.add(child)
  child.once('exit', () => children.delete(child))
  return { child, log: () => log }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, log: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms: ${log()}`)
    await sleep(200)
  }
}

/** A real dashboard server process (server/app/main.ts) on a free loopback port, fleet mode default (leader). */
async function startDashboard(): Promise<void> {
  const port = await findFreePort()
  const { child, log } = start(['--import', 'tsx', join(ROOT, 'server/app/main.ts')], {
    REDIS_URL: testRedisUrl(),
    PORT: String(port),
    HOST: '127.0.0.1',
    FUSEBOX_PREFIX: PREFIX,
    FUSEBOX_OPERATOR_TOKENS: OPERATOR_TOKEN,
    FUSEBOX_VIEWER_TOKENS: VIEWER_TOKEN,
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor('dashboard server', async () => (child.exitCode === null && (await fetch(`${base}/healthz`)).ok ? true : undefined), 40_000, log)
  servers.push({ base, port, log })
}

/** One instance of a service (fleetTrafficChild.ts), ready but not yet recording. */
async function startInstance(service: keyof typeof RATES, instance: string, rate: number): Promise<ChildProcess> {
  const { child, log } = start(['--import', 'tsx', TRAFFIC_CHILD], {
    REDIS_URL: testRedisUrl(),
    FUSEBOX_PREFIX: PREFIX,
    SERVICE: service,
    INSTANCE: instance,
    RATE: String(rate),
    FLUSH_MS: '250',
  })
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${instance} not ready: ${log()}`)), 40_000)
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        clearTimeout(t)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`${instance} exited ${code}: ${log()}`)))
  })
  return child
}

interface PromVector {
  metric: Record<string, string>
  value: [number, string]
}
/** An instant query through Prometheus' HTTP API (`time` in epoch s, default now). */
async function query(expr: string, time?: number): Promise<{ status: string; data?: { resultType: string; result: PromVector[] }; error?: string }> {
  const params = new URLSearchParams({ query: expr })
  if (time !== undefined) params.set('time', String(time))
  return (await (await fetch(`${promBase}/api/v1/query?${params.toString()}`)).json()) as never
}
/** `expr`'s value per service_name (each series must carry one). */
async function perService(expr: string, time?: number): Promise<Record<string, number>> {
  const r = await query(expr, time)
  expect(r.status, `${expr}: ${r.error}`).toBe('success')
  return Object.fromEntries((r.data?.result ?? []).map((v) => [v.metric.service_name ?? '', Number(v.value[1])]))
}

/** Fusebox's own overview of the last minute, from the first replica's tRPC API. */
async function fuseboxMinute(cookie: string): Promise<OverviewSnapshot> {
  const res = await call(servers[0]!.base, 'overview.get', 'query', { windowMs: 60_000 }, cookie)
  expect(res.status).toBe(200)
  return (JSON.parse(res.text) as { result: { data: OverviewSnapshot } }).result.data
}

/** The OTel bucket `(lower, upper]` holding `seconds`. */
function bucketOf(seconds: number): [number, number] {
  const i = DURATION_BOUNDS_S.findIndex((b) => seconds <= b)
  return i < 0 ? [DURATION_BOUNDS_S.at(-1)!, Infinity] : [i === 0 ? 0 : DURATION_BOUNDS_S[i - 1]!, DURATION_BOUNDS_S[i]!]
}

const RATE_EXPR = 'sum by (service_name) (rate(http_server_request_duration_seconds_count[1m]))'
const P95_EXPR = 'histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket[1m])))'

/** One comparison of Prometheus with Fusebox over the last minute: the rate error per service, and the checks. */
async function compareOnce(cookie: string, label: string): Promise<Record<string, number>> {
  // Fusebox now; Prometheus at its latest scrape of the fleet (1 s scrapes, ≤ 250 ms flushes), so the rate's window
  // ends on a sample: an end between two scrapes (late under load) would be extrapolated only half an interval.
  const overview = await fuseboxMinute(cookie)
  const at = Object.values(await perService('max(timestamp(http_server_request_duration_seconds_count))'))[0]
  expect(at, `${label}: Prometheus scraped the fleet`).toBeGreaterThan(Date.now() / 1000 - 10)
  const [rates, p95s] = [await perService(RATE_EXPR, at), await perService(P95_EXPR, at)]
  const errors: Record<string, number> = {}
  for (const service of Object.keys(RATES) as (keyof typeof RATES)[]) {
    const mine = overview.services.find((s) => s.service === service)
    expect(mine, `${label}: ${service} in Fusebox's overview`).toBeDefined()
    const fuseboxRps = mine!.throughputRps!
    expect(rates[service], `${label}: Prometheus has a rate for ${service} (${RATE_EXPR})`).toBeTypeOf('number')
    expect(p95s[service], `${label}: Prometheus has a p95 for ${service} (${P95_EXPR})`).toBeTypeOf('number')
    const promRps = rates[service]!
    const [lower, upper] = bucketOf(mine!.p95Ms! / 1000)
    errors[service] = Math.abs(promRps - fuseboxRps) / fuseboxRps
    console.log(`[prometheus.test] ${label} ${service}: Fusebox ${fuseboxRps} req/s p95 ${mine!.p95Ms} ms; Prometheus ${promRps.toFixed(3)} req/s p95 ${(p95s[service]! * 1000).toFixed(2)} ms (bucket (${lower}, ${upper}] s); rate error ${(errors[service] * 100).toFixed(2)} %`)
    expect(Math.abs(fuseboxRps - RATES[service]) / RATES[service], `${label}: ${service} runs at its rate`).toBeLessThan(0.05)
    expect(p95s[service], `${label}: ${service} p95 above the bucket's lower bound ${lower}`).toBeGreaterThan(lower)
    expect(p95s[service], `${label}: ${service} p95 within the bucket's upper bound ${upper}`).toBeLessThanOrEqual(upper)
  }
  return errors
}

/**
 * Compares Prometheus with Fusebox over the last minute, for every service: the rates must agree within 2 % in at
 * least one of up to 4 consecutive scrapes (2 s apart). Each figure reads counters as of the collectors' last flush
 * (≤ 250 ms, but seconds under a loaded CI machine), so one pair can differ by (staleness difference ÷ 60 s) with
 * nothing wrong; an export that is wrong (a service doubled, a series missing, a reset) misses every time.
 */
async function compare(cookie: string, label: string): Promise<void> {
  const seen: Record<string, number>[] = []
  for (let attempt = 1; attempt <= 4; attempt++) {
    const errors = await compareOnce(cookie, `${label} #${attempt}`)
    seen.push(errors)
    if (Object.values(errors).every((e) => e <= 0.02)) return
    await sleep(2000)
  }
  expect(seen, `${label}: Prometheus' rate within 2 % of Fusebox's throughput in one of 4 scrapes`).toEqual([])
}

function promtool(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 })
  if (r.error) throw new Error(`cannot run promtool (Debian package prometheus): ${r.error.message}`)
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() }
}

/** Every `expr` of the dashboard's panels, with Grafana's variables filled in. */
function dashboardExprs(service: string): { panel: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] }
  return dash.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: p.title,
      expr: t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '1m').replaceAll('${service_name:regex}', service).replaceAll('$service_name', service),
    })),
  )
}

beforeAll(async () => {
  redis = new Redis(testRedisUrl())
  tmp = mkdtempSync(join(tmpdir(), 'fusebox-prom-'))
  await Promise.all([startDashboard(), startDashboard()])
  const promPort = await findFreePort()
  promBase = `http://127.0.0.1:${promPort}`
  writeFileSync(
    join(tmp, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: fusebox',
      '    static_configs:',
      `      - targets: [${servers.map((s) => `'127.0.0.1:${s.port}'`).join(', ')}]`,
      '',
    ].join('\n'),
  )
  const p = spawn('prometheus', [
    `--config.file=${join(tmp, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(tmp, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  p.stdout.on('data', (d: Buffer) => void (promLog = (promLog + d.toString()).slice(-6000)))
  p.stderr.on('data', (d: Buffer) => void (promLog = (promLog + d.toString()).slice(-6000)))
  children.add(p)
  p.once('exit', () => children.delete(p))
  await waitFor('prometheus', async () => ((await fetch(`${promBase}/-/ready`)).ok ? true : undefined), 30_000, () => promLog)
}, 90_000)

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGTERM')
  }
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => c.kill('SIGKILL'), 5000)
          c.once('exit', () => {
            clearTimeout(t)
            resolve()
          })
          if (c.exitCode !== null || c.signalCode !== null) resolve()
        }),
    ),
  )
  if (tmp) rmSync(tmp, { recursive: true, force: true })
  await deletePrefix(redis, PREFIX)
  await redis.quit()
}, 30_000)

describe('a real Prometheus scraping two dashboard replicas', () => {
  it('sees Fusebox\'s throughput within 2 % and its p95 bucket, once per service, before and after an instance restart', { timeout: 180_000 }, async () => {
    const login = await fetch(`${servers[0]!.base}/trpc/auth.login`, { method: 'POST', headers: MUTATION_HEADERS, body: JSON.stringify({ token: VIEWER_TOKEN }) })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    expect(login.status).toBe(200)

    const started = await Promise.all([
      startInstance('checkout', 'checkout-a', RATES.checkout),
      startInstance('catalog', 'catalog-a', RATES.catalog / 2),
      startInstance('catalog', 'catalog-b', RATES.catalog / 2),
    ])
    for (const c of started) c.send({ type: 'go' })
    let checkout = started[0]
    // Fusebox's minute (its partial first 10 s bucket included) must start after the traffic did: check 60 s after
    // the first 10 s boundary that follows the start.
    const firstFullBucketMs = Math.ceil((Date.now() + 500) / 10_000) * 10_000
    // rate() sees no increase before a series' first sample (Prometheus extrapolates at most half a scrape interval
    // past it): a 1 min window that starts before Prometheus first scraped both services' counters reads low by the
    // requests before that scrape — the 2–4 % of earlier first comparisons. So the window must start after it too.
    const firstScrapedMs = await waitFor(
      "both services' request counters in Prometheus",
      async () => (Object.keys(await perService('count by (service_name) (http_server_request_duration_seconds_count)')).length === 2 ? Date.now() : undefined),
      30_000,
    )
    await sleep(Math.max(0, firstFullBucketMs + 61_000 - Date.now(), firstScrapedMs + 62_000 - Date.now()))
    await compare(cookie, 'steady')

    // Exactly one of the two targets exports the fleet; its series exist once.
    expect(await perService('sum(fusebox_fleet_exporter)')).toEqual({ '': 1 })
    expect(await perService('count(fusebox_fleet_exporter)')).toEqual({ '': 2 })
    expect(await perService('count(count by (instance) (http_server_request_duration_seconds_count))')).toEqual({ '': 1 })
    const seriesBefore = await perService('count by (service_name) (http_server_request_duration_seconds_count)')
    expect(Object.keys(seriesBefore).sort()).toEqual(['catalog', 'checkout'])
    expect(await perService('count by (service_name) (fusebox_instance_up)')).toEqual({ checkout: 1, catalog: 2 })
    // No label collides with Prometheus' own target labels (no `exported_instance`).
    const exported = await query('count({__name__=~"fusebox_.+|http_server_.+", exported_instance!=""})')
    expect(exported.data?.result ?? []).toEqual([])

    // Restart checkout's instance: a new process with a new name takes the traffic over, the old one is killed.
    const next = await startInstance('checkout', 'checkout-b', RATES.checkout)
    next.send({ type: 'go' })
    checkout.kill('SIGKILL')
    checkout = next
    const restartedAt = Date.now()
    await sleep(Math.max(0, restartedAt + 20_000 - Date.now())) // both windows now span the restart
    await compare(cookie, 'after restart')
    expect(await perService('sum by (service_name) (resets(http_server_request_duration_seconds_count[2m]))')).toEqual({ checkout: 0, catalog: 0 })
    expect(await perService('count by (service_name) (http_server_request_duration_seconds_count)')).toEqual(seriesBefore)
    expect(await perService('count by (service_name) (fusebox_instance_up)')).toEqual({ checkout: 1, catalog: 2 })

    // promtool on a real scrape of each replica (the exporter and the other one).
    for (const s of servers) {
      const text = await (await fetch(`${s.base}/metrics`)).text()
      expect(promtool(text), s.base).toEqual({ code: 0, output: '' })
    }

    // Every panel of the Grafana dashboard runs against this Prometheus; the request panels have data.
    for (const { panel, expr } of dashboardExprs('checkout')) {
      const r = await query(expr)
      expect(r.status, `${panel}: ${expr}: ${r.error}`).toBe('success')
      if (/Throughput|Latency|Error rate|Instances up/.test(panel)) expect((r.data?.result ?? []).length, `${panel}: ${expr}`).toBeGreaterThan(0)
    }
  })
})
