/**
 * Fusebox server entry: `node --import tsx server/app/main.ts`. Reads configuration from the environment
 * (see .env.example), serves the dashboard and the API, and shuts down gracefully on SIGTERM/SIGINT or when the
 * process that started it goes away.
 */
import { Redis } from 'ioredis'
import { createKeySpace } from '../../shared/keys'
import { STREAM_CAPS } from '../../shared/vocabulary'
import { exitWithParent } from '../bootstrap/children.mjs'
import { readFileSync } from 'node:fs'
import { Auth, issueLoginLink, LOGIN_LINK_TTL_S } from './auth'
import { parseEnv, parseTokenFile, transportWarnings, type TokenFile } from './env'
import { closeLiveStreams, createHttpApp } from './http'
import { Janitor } from './janitor'
import { countPruned } from './metrics'
import { createOverviewHub } from './readModel'

const env = (() => {
  try {
    return parseEnv()
  } catch (e) {
    console.error((e as Error).message)
    process.exit(2)
  }
})()

/**
 * Fail fast while Redis is away, so the dashboard hears "503 Redis is unreachable" within ~2 s — before its own
 * timeouts (the service worker waits 3 s, the session check 5 s) give up and call it offline. ioredis 6's default
 * reconnect delay grows to 5 s and a queued command waits for `maxRetriesPerRequest + 1` failed attempts (up to ~15 s
 * with 2); here attempts are at most 1 s apart and a command waits for at most 2 of them, or 2 s on a hung server.
 */
const redis = new Redis(env.REDIS_URL, {
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  retryStrategy: (times) => Math.min(2 ** (times - 1) * 50, 1000),
  connectionName: 'fusebox-server',
})
redis.on('error', (e: Error) => console.error(`[fusebox] redis: ${e.message}`))
const keys = createKeySpace(env.FUSEBOX_PREFIX)
// Tokens from the environment plus FUSEBOX_TOKENS_FILE (read once; a restart applies changes and ends the sessions
// of removed tokens). Bad files, duplicate tokens or names: exit 2 with the reason, like a bad variable.
const auth = (() => {
  try {
    const file: TokenFile = env.FUSEBOX_TOKENS_FILE ? parseTokenFile(readFileSync(env.FUSEBOX_TOKENS_FILE, 'utf8')) : { operator: [], viewer: [] }
    return new Auth(
      redis,
      keys,
      [...env.FUSEBOX_OPERATOR_TOKENS, ...file.operator],
      [...env.FUSEBOX_VIEWER_TOKENS, ...file.viewer],
      env.FUSEBOX_SESSION_TTL_S,
    )
  } catch (e) {
    console.error(`Invalid configuration: ${(e as Error).message}`)
    process.exit(2)
  }
})()
for (const warning of transportWarnings(env)) console.warn(warning)
const tls = env.FUSEBOX_PUBLIC_URL?.startsWith('https://') ?? false
const hub = createOverviewHub(redis, keys)
const app = createHttpApp(
  { redis, keys, auth, tls, hub, auditRetention: { retentionMs: env.FUSEBOX_AUDIT_RETENTION_DAYS * 86_400_000, maxEntries: STREAM_CAPS.audit } },
  {
    staticDir: env.FUSEBOX_STATIC_DIR,
    metricsToken: env.FUSEBOX_METRICS_TOKEN,
    trustProxy: env.FUSEBOX_TRUST_PROXY,
    publicUrl: env.FUSEBOX_PUBLIC_URL,
  },
)

/** The command that prints a new login link: set by the packaged bin (cli.ts), else the repo's npm script. */
const LOGIN_LINK_COMMAND = process.env.FUSEBOX_LOGIN_LINK_COMMAND ?? 'npm run login-link'
const server = app.listen(env.PORT, env.HOST, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : env.PORT
  const base = env.FUSEBOX_PUBLIC_URL ?? `http://${env.HOST}:${port}`
  console.log(`[fusebox] server listening on ${base}/`)
  if (auth.acceptsLoginLinks) {
    // Secure default: nothing configured → one-time login links (a hash in Redis, consumed on first use).
    issueLoginLink(redis, keys)
      .then((token) => {
        console.log(`[fusebox] no access tokens configured: sign in with a one-time login link.`)
        console.log(`[fusebox] one-time login link (keep it private; works once, within ${LOGIN_LINK_TTL_S / 60} min): ${base}/#token=${token}`)
        console.log(`[fusebox] a new link: ${LOGIN_LINK_COMMAND}`)
      })
      .catch((e: unknown) => console.error(`[fusebox] could not issue a login link (is Redis up?): ${(e as Error).message}; run ${LOGIN_LINK_COMMAND}`))
  }
})
// Prunes what gone instances and services leave in Redis (janitor.ts, docs/decisions/018); every server runs one.
const janitor = new Janitor({ redis, keys, clock: Date.now, onPruned: countPruned, auditRetentionMs: env.FUSEBOX_AUDIT_RETENTION_DAYS * 86_400_000 })
janitor.start()

server.on('error', (e) => {
  console.error(`[fusebox] cannot listen on ${env.HOST}:${env.PORT}: ${e.message}`)
  process.exit(1)
})

/** In-flight requests get this long after a stop signal before every connection is cut. */
const SHUTDOWN_GRACE_MS = 3000
/** Redis QUIT waits at most this long, then the connection is dropped. */
const REDIS_QUIT_MS = 1000
/** Hard bound on the whole shutdown. */
const SHUTDOWN_LIMIT_MS = 5000

/** `promise`'s value, or undefined once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

let stopping = false
/**
 * Graceful stop, ≤ 5 s: stop accepting; close idle keep-alive connections; end SSE streams at once (they never end
 * by themselves; subscriptions see their `signal` abort, browsers reconnect elsewhere); give other requests up to
 * 3 s, then cut every connection; then QUIT Redis (≤ 1 s, else disconnect).
 */
async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  setTimeout(() => {
    console.error('[fusebox] shutdown took too long; exiting')
    process.exit(1)
  }, SHUTDOWN_LIMIT_MS).unref()
  console.log('[fusebox] shutting down')
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  closeLiveStreams(app)
  hub.close()
  const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
  await within(closed, SHUTDOWN_GRACE_MS + 500)
  clearTimeout(force)
  await within(janitor.stop(), REDIS_QUIT_MS) // a run in flight ends before Redis is closed (≤ 1 s)
  try {
    const quit = await within(redis.quit(), REDIS_QUIT_MS)
    if (quit === undefined) redis.disconnect()
  } catch {
    redis.disconnect()
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void shutdown().then(() => process.exit(0))
  })
}
exitWithParent(shutdown)
