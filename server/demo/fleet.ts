/**
 * The demo fleet behind `npm start`: flaky upstreams (in this process), two services instrumented with the SDK as
 * child processes — the storefront as two instances, the warehouse as one — and a rate-capped load generator
 * (autocannon, in this process) sending traffic to every instance on loopback only, bounded in rate and time.
 *
 * Ports: with FUSEBOX_DEMO_PORT_BASE=B, the storefront's upstreams listen on B, B+1, B+2, the warehouse's on B+3, B+4,
 * the storefront instances on B+10, B+11 (tests rely on this) and the warehouse instance on B+20; without it, every
 * port is ephemeral.
 * Env: REDIS_URL or REDIS_CLUSTER_NODES (one of them), FUSEBOX_DEMO_PORT_BASE, FUSEBOX_DEMO_RATE (req/s per instance, default 15),
 * FUSEBOX_DEMO_DURATION_S (load duration, default 8 h), FUSEBOX_DEMO_RESTART_EVERY_S (restart storefront-2 and
 * warehouse-1 gracefully this often, like a deploy would, so instance up/down and a collector's final flush show;
 * warehouse-1 half a period after storefront-2; default 180, 0 = never).
 * While an instance restarts, requests to its port fail briefly: the load generator keeps going.
 */
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { z } from 'zod'
import { exitWithParent, spawnChild, stopAll } from '../bootstrap/children.mjs'
import { UPSTREAMS, WAREHOUSE_UPSTREAMS } from './timeline'
import { startUpstream } from './upstreams'

const env = z
  .object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//).optional(),
    /** Seeds of a Redis Cluster (host:port,…), instead of REDIS_URL (server/sdk/redisTopology.ts parses them). */
    REDIS_CLUSTER_NODES: z.string().min(1).optional(),
    FUSEBOX_DEMO_PORT_BASE: z.coerce.number().int().min(1024).max(65_000).optional(),
    FUSEBOX_DEMO_RATE: z.coerce.number().int().min(1).max(200).default(15),
    FUSEBOX_DEMO_DURATION_S: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(8 * 3600),
    FUSEBOX_DEMO_RESTART_EVERY_S: z.coerce
      .number()
      .int()
      .refine((s) => s === 0 || (s >= 10 && s <= 24 * 3600), { error: 'use 0 (never) or 10 … 86400 seconds' })
      .default(180),
  })
  .refine((e) => (e.REDIS_URL === undefined) !== (e.REDIS_CLUSTER_NODES === undefined), { error: 'set exactly one of REDIS_URL and REDIS_CLUSTER_NODES' })
  .parse(process.env)

/** Product ids 1 … HOT_PRODUCTS get most reads and every price update; the catalog goes up to ALL_PRODUCTS. */
const HOT_PRODUCTS = 50
const ALL_PRODUCTS = 500
const HOT_READ_SHARE = 0.8
const STOREFRONT = fileURLToPath(new URL('./storefront.ts', import.meta.url))
const WAREHOUSE = fileURLToPath(new URL('./warehouse.ts', import.meta.url))
/** Offsets from FUSEBOX_DEMO_PORT_BASE: each service's first instance; its next instances follow. */
const STOREFRONT_PORT_OFFSET = 10
const WAREHOUSE_PORT_OFFSET = 20

/** A free loopback port (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Server = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const startedAtMs = Date.now()
const base = env.FUSEBOX_DEMO_PORT_BASE
const ALL_UPSTREAMS = [...UPSTREAMS, ...WAREHOUSE_UPSTREAMS]
const upstreamServers = await Promise.all(
  ALL_UPSTREAMS.map(async (name, i) => startUpstream(name, base ? base + i : 0, startedAtMs)),
)
const upstreamUrl = (name: (typeof ALL_UPSTREAMS)[number]) => {
  const a = upstreamServers[ALL_UPSTREAMS.indexOf(name)]?.address()
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
}

/** A product id: HOT_READ_SHARE of reads go to the hot set, so the catalog cache's hit ratio is neither 0 nor 1. */
function productId(hotOnly: boolean): number {
  const n = hotOnly || Math.random() < HOT_READ_SHARE ? HOT_PRODUCTS : ALL_PRODUCTS
  return 1 + Math.floor(Math.random() * n)
}

// The storefront's mix: autocannon cycles through the list in order, so each entry is 1/10 of the traffic: product
// reads 30 %, price updates (invalidations) 10 %.
const productRead = {
  method: 'GET' as const,
  path: '/products/1',
  setupRequest: (req: autocannon.Request) => ({ ...req, path: `/products/${productId(false)}` }),
}
const STOREFRONT_REQUESTS: autocannon.Request[] = [
  { method: 'GET', path: '/products' },
  productRead,
  { method: 'POST', path: '/checkout', headers: { 'content-type': 'application/json' }, body: '{"cart":[1,2]}' },
  { method: 'GET', path: '/recommendations' },
  productRead,
  {
    method: 'PUT',
    path: '/products/1',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => ({
      ...req,
      path: `/products/${productId(true)}`,
      body: JSON.stringify({ price: Math.round(500 + Math.random() * 9500) / 100 }),
    }),
  },
  { method: 'GET', path: '/products' },
  productRead,
  { method: 'POST', path: '/checkout', headers: { 'content-type': 'application/json' }, body: '{"cart":[3]}' },
  { method: 'GET', path: '/recommendations' },
]

// The warehouse's mix (1/8 each): stock reads 3/8, tracking 2/8, shipments (labels) 2/8, pick lists 1/8.
const stockRead = {
  method: 'GET' as const,
  path: '/stock/1',
  setupRequest: (req: autocannon.Request) => ({ ...req, path: `/stock/sku-${productId(false)}` }),
}
const tracking = {
  method: 'GET' as const,
  path: '/shipments/1',
  setupRequest: (req: autocannon.Request) => ({ ...req, path: `/shipments/${1 + Math.floor(Math.random() * 10_000)}` }),
}
const shipment = {
  method: 'POST' as const,
  path: '/shipments',
  headers: { 'content-type': 'application/json' },
  setupRequest: (req: autocannon.Request) => ({
    ...req,
    body: JSON.stringify({ order: Math.floor(Math.random() * 1e6), parcels: 1 + Math.floor(Math.random() * 3) }),
  }),
}
const WAREHOUSE_REQUESTS: autocannon.Request[] = [
  stockRead,
  tracking,
  shipment,
  stockRead,
  { method: 'POST', path: '/picks' },
  tracking,
  stockRead,
  shipment,
]

/** One instance of a demo service: a child process running `script` on `port`, loaded with `requests`. */
interface DemoInstance {
  /** Instance name (the collector's `instance`, and the child's name in logs). */
  name: string
  script: string
  port: number
  /** The child's environment beyond this process's own (PORT and FUSEBOX_INSTANCE are added). */
  env: NodeJS.ProcessEnv
  /** The load generator's request mix for this instance. */
  requests: autocannon.Request[]
  /** Seconds until its first graceful restart (then every FUSEBOX_DEMO_RESTART_EVERY_S); null: never restarted. */
  firstRestartAfterS: number | null
}

const portAt = (offset: number, i: number) => (base ? Promise.resolve(base + offset + i) : freePort())
const every = env.FUSEBOX_DEMO_RESTART_EVERY_S
const storefrontEnv: NodeJS.ProcessEnv = {
  UPSTREAM_PAYMENTS_URL: upstreamUrl('payments'),
  UPSTREAM_INVENTORY_URL: upstreamUrl('inventory'),
  UPSTREAM_RECOMMENDATIONS_URL: upstreamUrl('recommendations'),
  FUSEBOX_DEMO_STARTED_AT_MS: String(startedAtMs),
}
const warehouseEnv: NodeJS.ProcessEnv = { UPSTREAM_CARRIER_URL: upstreamUrl('carrier'), UPSTREAM_ERP_URL: upstreamUrl('erp') }
const instances: DemoInstance[] = [
  { name: 'storefront-1', script: STOREFRONT, port: await portAt(STOREFRONT_PORT_OFFSET, 0), env: storefrontEnv, requests: STOREFRONT_REQUESTS, firstRestartAfterS: null },
  { name: 'storefront-2', script: STOREFRONT, port: await portAt(STOREFRONT_PORT_OFFSET, 1), env: storefrontEnv, requests: STOREFRONT_REQUESTS, firstRestartAfterS: every },
  // Half a period after storefront-2's, so the two restarts never overlap.
  { name: 'warehouse-1', script: WAREHOUSE, port: await portAt(WAREHOUSE_PORT_OFFSET, 0), env: warehouseEnv, requests: WAREHOUSE_REQUESTS, firstRestartAfterS: every / 2 },
]

const spawnInstance = (d: DemoInstance) =>
  spawnChild(d.name, process.execPath, ['--import', 'tsx', d.script], {
    env: { ...process.env, ...d.env, PORT: String(d.port), FUSEBOX_INSTANCE: d.name },
  })
const children = instances.map(spawnInstance)
await Promise.all(instances.map((d) => waitForHttp(`http://127.0.0.1:${d.port}/healthz`, 30_000)))
const portsOf = (prefix: string) => instances.filter((d) => d.name.startsWith(prefix)).map((d) => d.port).join(', ')
console.log(
  `demo fleet up: storefront on ports ${portsOf('storefront-')}; warehouse on port ${portsOf('warehouse-')}; ` +
    `upstreams ${ALL_UPSTREAMS.map((n) => `${n} ${upstreamUrl(n)}`).join(', ')}`,
)

// Load: a fixed rate per instance, its service's mix of routes, for a bounded time.
const loads = instances.map((d) =>
  autocannon({
    url: `http://127.0.0.1:${d.port}`,
    connections: 4,
    overallRate: env.FUSEBOX_DEMO_RATE,
    duration: env.FUSEBOX_DEMO_DURATION_S,
    requests: d.requests,
  }, (err) => {
    if (err) console.error(`load generator of ${d.name} stopped: ${err.message}`)
  }),
)

// Rolling restarts: graceful stop (the collector flushes on SIGTERM), then the same command again.
let shuttingDown = false
const restartTimers = new Set<NodeJS.Timeout>()
const restarting = new Set<Promise<void>>()
function scheduleRestart(index: number, afterS: number): void {
  if (every === 0 || shuttingDown) return
  const timer = setTimeout(() => {
    restartTimers.delete(timer)
    const done: Promise<void> = restartInstance(index).finally(() => {
      restarting.delete(done)
      scheduleRestart(index, every)
    })
    restarting.add(done)
  }, afterS * 1000)
  timer.unref()
  restartTimers.add(timer)
}
async function restartInstance(index: number): Promise<void> {
  const old = children[index]
  const d = instances[index]
  if (!old || !d) return
  const startedMs = Date.now()
  const exit = await old.stop('SIGTERM', 5000)
  if (shuttingDown) return
  children[index] = spawnInstance(d)
  console.log(`restarted ${d.name} (stopped with ${exit.signal ?? `code ${exit.code}`} after ${Date.now() - startedMs} ms; next in ${every} s)`)
}
instances.forEach((d, i) => {
  if (d.firstRestartAfterS !== null) scheduleRestart(i, d.firstRestartAfterS)
})

async function shutdown(): Promise<void> {
  shuttingDown = true
  for (const t of restartTimers) clearTimeout(t)
  for (const l of loads) l.stop()
  await Promise.all(restarting)
  await stopAll('SIGTERM', 5000)
  await Promise.all(upstreamServers.map((s) => new Promise((r) => s.close(r))))
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
