/**
 * Fusebox server entry: `node --import tsx server/app/main.ts`. Reads configuration from the environment
 * (see .env.example; REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster), serves the dashboard and the API, and shuts down gracefully on SIGTERM/SIGINT or when the
 * process that started it goes away.
 */
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { exitWithParent } from '../bootstrap/children.mjs'
import { LOGIN_LINK_TTL_S } from './auth'
import { createDashboard, type Dashboard } from './dashboard'
import { HealthCheckWatch } from './drain'
import { parseEnv, parseTokenFile, redisTarget, transportWarnings, type TokenFile } from './env'

const env = (() => {
  try {
    return parseEnv()
  } catch (e) {
    console.error((e as Error).message)
    process.exit(2)
  }
})()
/** FUSEBOX_BASE_PATH ('' = the root) and FUSEBOX_READ_ONLY (docs/decisions/024, 025). */
const { FUSEBOX_BASE_PATH: basePath, FUSEBOX_READ_ONLY: readOnly } = env

// Tokens from the environment plus FUSEBOX_TOKENS_FILE (read once; a restart applies changes and ends the sessions
// of removed tokens). Bad files, duplicate tokens or names, bad options: exit 2 with the reason, like a bad variable.
const dashboard: Dashboard = (() => {
  try {
    const file: TokenFile = env.FUSEBOX_TOKENS_FILE ? parseTokenFile(readFileSync(env.FUSEBOX_TOKENS_FILE, 'utf8')) : { operator: [], viewer: [] }
    return createDashboard({
      redis: redisTarget(env),
      keyPrefix: env.FUSEBOX_PREFIX,
      operatorTokens: [...env.FUSEBOX_OPERATOR_TOKENS, ...file.operator],
      viewerTokens: [...env.FUSEBOX_VIEWER_TOKENS, ...file.viewer],
      sessionTtlS: env.FUSEBOX_SESSION_TTL_S,
      staticDir: env.FUSEBOX_STATIC_DIR,
      metricsToken: env.FUSEBOX_METRICS_TOKEN,
      metricsFleet: env.FUSEBOX_METRICS_FLEET,
      trustProxy: env.FUSEBOX_TRUST_PROXY,
      publicUrl: env.FUSEBOX_PUBLIC_URL,
      auditRetentionDays: env.FUSEBOX_AUDIT_RETENTION_DAYS,
      basePath,
      readOnly,
      alerts: { webhooks: env.FUSEBOX_ALERT_WEBHOOKS, alertmanagerUrl: env.FUSEBOX_ALERTMANAGER_URL, intervalS: env.FUSEBOX_ALERT_INTERVAL_S },
    })
  } catch (e) {
    console.error(`Invalid configuration: ${(e as Error).message.replace(/^fusebox-dashboard: invalid options: ?/, '')}`)
    process.exit(2)
  }
})()
for (const warning of transportWarnings(env)) console.warn(warning)

/** The command that prints a new login link: set by the packaged bin (cli.ts), else the repo's npm script. */
const LOGIN_LINK_COMMAND = process.env.FUSEBOX_LOGIN_LINK_COMMAND ?? 'npm run login-link'
/**
 * How long start-up waits for Redis before listening anyway (then /healthz answers 503 until it connects): so that
 * "listening" means ready to serve, not a probe racing the Redis handshake.
 */
const REDIS_READY_WAIT_MS = 2000
await within(
  dashboard.redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => dashboard.redis.once('ready', () => resolve())),
  REDIS_READY_WAIT_MS,
)
/** Recent /healthz requests: a stop drains only while something health-checks this server (drain.ts, decision 034). */
const healthChecks = new HealthCheckWatch(env.FUSEBOX_SHUTDOWN_DRAIN_MS)
const HEALTHZ_PATH = `${basePath}/healthz`
/** True from a stop signal while a balancer watches: /healthz answers 503, everything else is still served. */
let draining = false
const server = createServer((req, res) => {
  const isHealthz = (req.url ?? '').split('?', 1)[0] === HEALTHZ_PATH
  if (isHealthz) healthChecks.seen(Date.now())
  if (draining) {
    // Wind keep-alive connections down from our side, after a response: the client knows not to reuse them.
    res.setHeader('Connection', 'close')
    if (isHealthz) {
      res.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(JSON.stringify({ status: 'stopping', redis: dashboard.redis.status }))
      return
    }
  }
  dashboard.app(req, res)
})
server.listen(env.PORT, env.HOST, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : env.PORT
  const base = `${env.FUSEBOX_PUBLIC_URL?.replace(/\/+$/, '') ?? `http://${env.HOST}:${port}`}${basePath}`
  console.log(`[fusebox] server listening on ${base}/${readOnly ? ' (read-only)' : ''}`)
  if (dashboard.acceptsLoginLinks) {
    // Secure default: nothing configured → one-time login links (a hash in Redis, consumed on first use).
    dashboard
      .issueLoginLink()
      .then((token) => {
        console.log(`[fusebox] no access tokens configured: sign in with a one-time login link.`)
        console.log(`[fusebox] one-time login link (keep it private; works once, within ${LOGIN_LINK_TTL_S / 60} min): ${base}/#token=${token}`)
        console.log(`[fusebox] a new link: ${LOGIN_LINK_COMMAND}`)
      })
      .catch((e: unknown) => console.error(`[fusebox] could not issue a login link (is Redis up?): ${(e as Error).message}; run ${LOGIN_LINK_COMMAND}`))
  }
})

server.on('error', (e) => {
  console.error(`[fusebox] cannot listen on ${env.HOST}:${env.PORT}: ${e.message}`)
  process.exit(1)
})

/** In-flight requests get this long after the listener closes before every connection is cut. */
const SHUTDOWN_GRACE_MS = 3000
/** Hard bound on the shutdown after the lame-duck period. */
const SHUTDOWN_LIMIT_MS = 5000

/** Resolves once `promise` settles or `ms` have passed. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  } finally {
    clearTimeout(timer)
  }
}

let stopping = false
/** Ends the lame-duck period early (a second signal). */
let endDrain: (() => void) | undefined
/**
 * Graceful stop. With `drain` and a load balancer health-checking this server (drain.ts): first a lame-duck period of
 * FUSEBOX_SHUTDOWN_DRAIN_MS — /healthz answers 503, live streams end (browsers reconnect through the balancer,
 * which by then sends them elsewhere), every other request is still served with `Connection: close` — so the balancer
 * stops sending before the listener closes. Then, ≤ 5 s: stop accepting; close idle keep-alive connections; end SSE
 * streams; give other requests up to 3 s, then cut every connection; then QUIT Redis (≤ 1 s, else disconnect).
 */
async function shutdown(drain: boolean): Promise<void> {
  if (stopping) {
    endDrain?.()
    return
  }
  stopping = true
  const drainMs = drain ? healthChecks.drainFor(Date.now()) : 0
  if (drainMs > 0) {
    console.log(`[fusebox] shutting down: answering /healthz 503 for ${drainMs} ms so the load balancer stops sending here first (FUSEBOX_SHUTDOWN_DRAIN_MS; a second signal skips it)`)
    draining = true
    dashboard.endLiveStreams()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs)
      endDrain = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
  setTimeout(() => {
    console.error('[fusebox] shutdown took too long; exiting')
    process.exit(1)
  }, SHUTDOWN_LIMIT_MS).unref()
  console.log('[fusebox] shutting down')
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  dashboard.endLiveStreams()
  const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
  await within(closed, SHUTDOWN_GRACE_MS + 500)
  clearTimeout(force)
  await dashboard.close() // the janitor's run in flight (≤ 1 s), then QUIT Redis (≤ 1 s, else disconnect)
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (!stopping) void shutdown(true).then(() => process.exit(0))
    else void shutdown(true)
  })
}
// The process that started this one is gone: nobody to drain for.
exitWithParent(() => shutdown(false))
