/**
 * The demo fleet behind `npm start`: three flaky upstreams (in this process), the storefront service as two
 * instances (child processes, instrumented with the SDK), and a rate-capped load generator (autocannon, in this
 * process) sending traffic to both instances on loopback only, bounded in rate and time.
 *
 * Ports: with FUSEBOX_DEMO_PORT_BASE=B, upstreams listen on B, B+1, B+2 and the storefront instances on B+10,
 * B+11 (tests rely on this); without it, every port is ephemeral.
 * Env: REDIS_URL or REDIS_CLUSTER_NODES (one of them), FUSEBOX_DEMO_PORT_BASE, FUSEBOX_DEMO_RATE (req/s per instance, default 15),
 * FUSEBOX_DEMO_DURATION_S (load duration, default 8 h), FUSEBOX_DEMO_RESTART_EVERY_S (restart storefront-2 gracefully
 * this often, like a deploy would, so instance up/down and a collector's final flush show; default 180, 0 = never).
 * While it restarts, requests to its port fail briefly: the load generator keeps going.
 */
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { z } from 'zod'
import { exitWithParent, spawnChild, stopAll } from '../bootstrap/children.mjs'
import { UPSTREAMS } from './timeline'
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

const INSTANCES = ['storefront-1', 'storefront-2']
/** The instance restarted every FUSEBOX_DEMO_RESTART_EVERY_S. */
const RESTARTED_INSTANCE = 'storefront-2'
/** Product ids 1 … HOT_PRODUCTS get most reads and every price update; the catalog goes up to ALL_PRODUCTS. */
const HOT_PRODUCTS = 50
const ALL_PRODUCTS = 500
const HOT_READ_SHARE = 0.8
const STOREFRONT = fileURLToPath(new URL('./storefront.ts', import.meta.url))

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
const upstreamServers = await Promise.all(
  UPSTREAMS.map(async (name, i) => startUpstream(name, base ? base + i : 0, startedAtMs)),
)
const upstreamUrl = (i: number) => {
  const a = upstreamServers[i]?.address()
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`
}

const storefrontPorts = await Promise.all(INSTANCES.map((_, i) => (base ? Promise.resolve(base + 10 + i) : freePort())))
const storefrontEnv = (i: number): NodeJS.ProcessEnv => ({
  ...process.env,
  PORT: String(storefrontPorts[i]),
  FUSEBOX_INSTANCE: INSTANCES[i],
  UPSTREAM_PAYMENTS_URL: upstreamUrl(0),
  UPSTREAM_INVENTORY_URL: upstreamUrl(1),
  UPSTREAM_RECOMMENDATIONS_URL: upstreamUrl(2),
  FUSEBOX_DEMO_STARTED_AT_MS: String(startedAtMs),
})
const spawnStorefront = (i: number) =>
  spawnChild(INSTANCES[i] ?? `storefront-${i + 1}`, process.execPath, ['--import', 'tsx', STOREFRONT], { env: storefrontEnv(i) })
const storefronts = INSTANCES.map((_, i) => spawnStorefront(i))
await Promise.all(storefrontPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/healthz`, 30_000)))
console.log(`demo fleet up: storefront on ports ${storefrontPorts.join(', ')}; upstreams ${UPSTREAMS.map((n, i) => `${n} ${upstreamUrl(i)}`).join(', ')}`)

/** A product id: HOT_READ_SHARE of reads go to the hot set, so the catalog cache's hit ratio is neither 0 nor 1. */
function productId(hotOnly: boolean): number {
  const n = hotOnly || Math.random() < HOT_READ_SHARE ? HOT_PRODUCTS : ALL_PRODUCTS
  return 1 + Math.floor(Math.random() * n)
}

// Load: a fixed rate per instance, a realistic mix of routes, for a bounded time. autocannon cycles through the list
// in order, so each entry is 1/10 of the traffic: product reads 30 %, price updates (invalidations) 10 %.
const productRead = {
  method: 'GET' as const,
  path: '/products/1',
  setupRequest: (req: autocannon.Request) => ({ ...req, path: `/products/${productId(false)}` }),
}
const loads = storefrontPorts.map((port) =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 4,
    overallRate: env.FUSEBOX_DEMO_RATE,
    duration: env.FUSEBOX_DEMO_DURATION_S,
    requests: [
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
    ],
  }, (err) => {
    if (err) console.error(`load generator stopped: ${err.message}`)
  }),
)

// Rolling restart of one instance: graceful stop (its collector flushes on SIGTERM), then the same command again.
let shuttingDown = false
let restartTimer: NodeJS.Timeout | undefined
let restarting: Promise<void> | undefined
const restartIndex = INSTANCES.indexOf(RESTARTED_INSTANCE)
function scheduleRestart(): void {
  if (env.FUSEBOX_DEMO_RESTART_EVERY_S === 0 || shuttingDown) return
  restartTimer = setTimeout(() => {
    restarting = restartStorefront().finally(() => {
      restarting = undefined
      scheduleRestart()
    })
  }, env.FUSEBOX_DEMO_RESTART_EVERY_S * 1000)
  restartTimer.unref()
}
async function restartStorefront(): Promise<void> {
  const old = storefronts[restartIndex]
  if (!old) return
  const startedMs = Date.now()
  const exit = await old.stop('SIGTERM', 5000)
  if (shuttingDown) return
  storefronts[restartIndex] = spawnStorefront(restartIndex)
  console.log(`restarted ${RESTARTED_INSTANCE} (stopped with ${exit.signal ?? `code ${exit.code}`} after ${Date.now() - startedMs} ms; next in ${env.FUSEBOX_DEMO_RESTART_EVERY_S} s)`)
}
scheduleRestart()

async function shutdown(): Promise<void> {
  shuttingDown = true
  clearTimeout(restartTimer)
  for (const l of loads) l.stop()
  await restarting
  await stopAll('SIGTERM', 5000)
  await Promise.all(upstreamServers.map((s) => new Promise((r) => s.close(r))))
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
