/**
 * Fusebox server entry: `node --import tsx server/app/main.ts`. Reads configuration from the environment
 * (see .env.example), serves the dashboard and the API, and shuts down gracefully on SIGTERM/SIGINT or when the
 * process that started it goes away.
 */
import { Redis } from 'ioredis'
import { createKeySpace } from '../../shared/keys'
import { exitWithParent } from '../bootstrap/children.mjs'
import { Auth } from './auth'
import { parseEnv } from './env'
import { createHttpApp } from './http'

const env = (() => {
  try {
    return parseEnv()
  } catch (e) {
    console.error((e as Error).message)
    process.exit(2)
  }
})()

const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, commandTimeout: 5000, connectionName: 'fusebox-server' })
redis.on('error', (e: Error) => console.error(`[fusebox] redis: ${e.message}`))
const keys = createKeySpace(env.FUSEBOX_PREFIX)
const auth = new Auth(redis, keys, env.FUSEBOX_OPERATOR_TOKENS, env.FUSEBOX_VIEWER_TOKENS, env.FUSEBOX_SESSION_TTL_S)
const tls = env.FUSEBOX_PUBLIC_URL?.startsWith('https://') ?? false
const app = createHttpApp({ redis, keys, auth, tls }, { staticDir: env.FUSEBOX_STATIC_DIR })

const server = app.listen(env.PORT, env.HOST, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : env.PORT
  const base = env.FUSEBOX_PUBLIC_URL ?? `http://${env.HOST}:${port}`
  console.log(`[fusebox] server listening on ${base}/`)
  if (auth.isEmpty) {
    // Secure default: nothing configured → a random operator token, shown once as a login link.
    const token = auth.generateOperatorToken()
    console.log(`[fusebox] no access tokens configured; generated an operator token for this run.`)
    console.log(`[fusebox] one-time login link (keep it private): ${base}/#token=${token}`)
  }
})
server.on('error', (e) => {
  console.error(`[fusebox] cannot listen on ${env.HOST}:${env.PORT}: ${e.message}`)
  process.exit(1)
})

let stopping = false
async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  // Stop accepting, end idle keep-alives, give open requests (and SSE streams) a moment, then force.
  server.close()
  server.closeIdleConnections()
  const force = setTimeout(() => server.closeAllConnections(), 3000)
  force.unref()
  await redis.quit().catch(() => redis.disconnect())
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void shutdown().then(() => process.exit(0))
  })
}
exitWithParent(shutdown)
