/**
 * The demo fleet behind `npm start`: three flaky upstreams (in this process), the storefront service as two
 * instances (child processes, instrumented with the SDK), and a rate-capped load generator (autocannon, in this
 * process) sending traffic to both instances on loopback only, bounded in rate and time.
 *
 * Ports: with FUSEBOX_DEMO_PORT_BASE=B, upstreams listen on B, B+1, B+2 and the storefront instances on B+10,
 * B+11 (tests rely on this); without it, every port is ephemeral.
 * Env: REDIS_URL (required), FUSEBOX_DEMO_PORT_BASE, FUSEBOX_DEMO_RATE (req/s per instance, default 15),
 * FUSEBOX_DEMO_DURATION_S (load duration, default 8 h).
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
    REDIS_URL: z.string().regex(/^rediss?:\/\//),
    FUSEBOX_DEMO_PORT_BASE: z.coerce.number().int().min(1024).max(65_000).optional(),
    FUSEBOX_DEMO_RATE: z.coerce.number().int().min(1).max(200).default(15),
    FUSEBOX_DEMO_DURATION_S: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(8 * 3600),
  })
  .parse(process.env)

const INSTANCES = ['storefront-1', 'storefront-2']
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
for (const [i, instance] of INSTANCES.entries()) {
  spawnChild(instance, process.execPath, ['--import', 'tsx', STOREFRONT], {
    env: {
      ...process.env,
      PORT: String(storefrontPorts[i]),
      FUSEBOX_INSTANCE: instance,
      UPSTREAM_PAYMENTS_URL: upstreamUrl(0),
      UPSTREAM_INVENTORY_URL: upstreamUrl(1),
      UPSTREAM_RECOMMENDATIONS_URL: upstreamUrl(2),
    },
  })
}
await Promise.all(storefrontPorts.map((p) => waitForHttp(`http://127.0.0.1:${p}/healthz`, 30_000)))
console.log(`demo fleet up: storefront on ports ${storefrontPorts.join(', ')}; upstreams ${UPSTREAMS.map((n, i) => `${n} ${upstreamUrl(i)}`).join(', ')}`)

// Load: a fixed rate per instance, a realistic mix of routes, random product ids, for a bounded time.
const loads = storefrontPorts.map((port) =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 4,
    overallRate: env.FUSEBOX_DEMO_RATE,
    duration: env.FUSEBOX_DEMO_DURATION_S,
    requests: [
      { method: 'GET', path: '/products' },
      {
        method: 'GET',
        path: '/products/1',
        setupRequest: (req) => ({ ...req, path: `/products/${1 + Math.floor(Math.random() * 500)}` }),
      },
      { method: 'POST', path: '/checkout', headers: { 'content-type': 'application/json' }, body: '{"cart":[1,2]}' },
      { method: 'GET', path: '/recommendations' },
    ],
  }, (err) => {
    if (err) console.error(`load generator stopped: ${err.message}`)
  }),
)

async function shutdown(): Promise<void> {
  for (const l of loads) l.stop()
  await stopAll('SIGTERM', 5000)
  await Promise.all(upstreamServers.map((s) => new Promise((r) => s.close(r))))
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
