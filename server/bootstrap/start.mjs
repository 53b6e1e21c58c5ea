// @ts-check
/**
 * `npm start`: everything on one machine from a fresh clone.
 * npm deps → Redis (REDIS_URL, or the embedded redis-server) → dashboard build → Fusebox server → demo fleet.
 * Ctrl-C / SIGTERM / SIGHUP stops demo → server → Redis (each bounded) and exits 0; if the server or Redis
 * dies on its own, everything is stopped and it exits 1. Every child runs under guard.mjs, so even a
 * SIGKILL of this process leaves nothing behind.
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnChild, stopAll } from './children.mjs'
import { ensureDebianBinary } from './debian.mjs'
import { ensureDependencies } from './deps.mjs'
import { loadDotEnv } from './env.mjs'
import { findFreePort, startEmbeddedRedis } from './redis.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const HEALTH_TIMEOUT_MS = 60_000
const CHILD_STOP_GRACE_MS = 5000
const DEFAULT_PORT = 3000
const VITE_DEV_PORT = 5173
/** What `npm run login-link` (server/app/loginLinkCli.ts) reads to find this stack: embedded Redis and dashboard URL. */
const RUN_FILE = join(ROOT, '.fusebox', 'run.json')

const USAGE = `usage: npm start -- [options]
  --port <n>            dashboard port (default: $PORT or ${DEFAULT_PORT}; 0 or a busy port: a free one)
  --host <addr>         address to listen on (default 127.0.0.1)
  --no-demo             run only the dashboard, no demo fleet
  --demo-port-base <n>  first port of the demo fleet (default: ephemeral ports)
  --dev                 run the Vite dev server (hot reload) in front of the server instead of the build
env: read from the environment and from .env in the repo root when present (the environment wins; see .env.example)
     REDIS_URL (use this Redis instead of the embedded one), REDIS_CLUSTER_NODES (host:port,… seeds of a Redis Cluster
     to use instead), FUSEBOX_REDIS_DIR (embedded Redis data folder,
     relative to the repo; default .fusebox/redis), PORT, FUSEBOX_* (passed on to the server and the demo)`

const OPTIONS = /** @type {const} */ ({
  port: { type: 'string' },
  host: { type: 'string' },
  'no-demo': { type: 'boolean' },
  'demo-port-base': { type: 'string' },
  dev: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
})

/** Parses argv; prints the usage and exits 2 on an unknown flag. */
function parseFlags() {
  try {
    return parseArgs({ options: OPTIONS }).values
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`)
    return process.exit(2)
  }
}

/** @param {string} message */
const say = (message) => process.stdout.write(`${message}\n`)

/**
 * @param {string | undefined} text
 * @param {string} what
 * @returns {number | undefined}
 */
function parsePort(text, what) {
  if (text === undefined || text === '') return undefined
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what} must be a port number, got "${text}"`)
  return port
}

/**
 * @param {string} host
 * @param {number} port
 * @returns {Promise<boolean>} whether something can listen on host:port right now
 */
function canListen(host, port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, host, () => server.close(() => resolve(true)))
  })
}

/**
 * @param {string} path  file or folder
 * @returns {number} newest modification time (epoch ms) of the file or any file under the folder; 0 if missing
 */
function newestMtimeMs(path) {
  let stat
  try {
    stat = statSync(path)
  } catch {
    return 0
  }
  if (!stat.isDirectory()) return stat.mtimeMs
  let newestMs = stat.mtimeMs
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue
    newestMs = Math.max(newestMs, newestMtimeMs(join(path, entry)))
  }
  return newestMs
}

/** @returns {boolean} whether dist/ is missing or older than the dashboard's sources */
function dashboardBuildIsStale() {
  const builtMs = newestMtimeMs(join(ROOT, 'dist', 'index.html'))
  if (builtMs === 0) return true
  const sourcesMs = Math.max(...['client', 'shared', 'vite.config.ts'].map((p) => newestMtimeMs(join(ROOT, p))))
  return sourcesMs > builtMs
}

/**
 * @param {string} url
 * @returns {string} the URL with any password replaced by ***
 */
function redactUrl(url) {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable REDIS_URL)'
  }
}

/**
 * REDIS_CLUSTER_NODES for a log line: `host:port` seeds as they are, `redis[s]://` seeds without their password.
 * @param {string} seeds
 */
const redactSeeds = (seeds) => seeds.split(',').map((s) => (s.includes('://') ? redactUrl(s.trim()) : s.trim())).filter(Boolean).join(', ')

/** @param {string} host */
const urlHost = (host) => (host.includes(':') ? `[${host}]` : host)

/** @type {import('./children.mjs').ChildHandle | undefined} */
let server
/** @type {import('./children.mjs').ChildHandle | undefined} */
let demo
/** @type {import('./children.mjs').ChildHandle | undefined} */
let viteDev
/** @type {import('./redis.mjs').EmbeddedRedis | undefined} */
let redis
let shuttingDown = false

/**
 * Stops demo → dev server → server → Redis, each bounded, then anything else still running, and exits.
 * @param {number} exitCode
 * @param {string} [reason]
 * @returns {Promise<never>}
 */
async function shutdown(exitCode, reason) {
  if (shuttingDown) return new Promise(() => {})
  shuttingDown = true
  if (reason) say(reason)
  for (const child of [demo, viteDev, server]) {
    if (child?.isRunning()) await child.stop('SIGTERM', CHILD_STOP_GRACE_MS)
  }
  if (redis) await redis.stop()
  await stopAll('SIGTERM', CHILD_STOP_GRACE_MS)
  rmSync(RUN_FILE, { force: true })
  say('Fusebox stopped.')
  process.exit(exitCode)
}

/**
 * Exits (via shutdown) with 1 when an essential child exits on its own.
 * @param {import('./children.mjs').ChildHandle} child
 * @param {string} what
 */
function essential(child, what) {
  void child.exited.then(({ code, signal }) => {
    if (!shuttingDown && !child.stopping) void shutdown(1, `${what} exited unexpectedly (${signal ?? `code ${code}`}): stopping everything.`)
  })
}

/**
 * Polls GET <url> until it answers 200.
 * @param {string} url
 * @param {import('./children.mjs').ChildHandle} child  gives up early when it exits
 * @param {number} timeoutMs
 * @returns {Promise<boolean>}
 */
async function waitForHealthy(url, child, timeoutMs) {
  const deadlineMs = Date.now() + timeoutMs
  while (Date.now() < deadlineMs && child.isRunning() && !shuttingDown) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.body?.cancel()
      if (response.status === 200) return true
    } catch {
      // not listening yet
    }
    await sleep(250)
  }
  return false
}

async function main() {
  const flags = parseFlags()
  if (flags.help) {
    say(USAGE)
    return
  }
  const dotEnv = loadDotEnv(ROOT)
  if (dotEnv) {
    const kept = dotEnv.kept.length > 0 ? `; already set in the environment, kept: ${dotEnv.kept.join(', ')}` : ''
    say(`.env: loaded ${dotEnv.loaded.length ? dotEnv.loaded.join(', ') : 'nothing'}${kept}`)
  }
  const host = flags.host ?? '127.0.0.1'
  const probeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  let port = parsePort(flags.port, '--port') ?? parsePort(process.env.PORT, 'PORT') ?? DEFAULT_PORT
  const demoPortBase = parsePort(flags['demo-port-base'], '--demo-port-base')

  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => void shutdown(0, `\n${signal}: stopping Fusebox…`))
  }

  ensureDependencies(ROOT)

  let redisUrl = process.env.REDIS_URL
  const clusterNodes = process.env.REDIS_CLUSTER_NODES?.trim() || undefined
  if (clusterNodes && redisUrl) {
    await shutdown(1, 'set only one of REDIS_URL and REDIS_CLUSTER_NODES')
    return
  }
  if (clusterNodes) {
    // A Redis Cluster of the user's: no embedded Redis; the server, the CLI and the demo read the seeds themselves.
    say(`Redis Cluster: ${redactSeeds(clusterNodes)} (from REDIS_CLUSTER_NODES)`)
  } else if (redisUrl) {
    say(`Redis: ${redactUrl(redisUrl)} (from REDIS_URL)`)
  } else {
    const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
    const dir = resolve(ROOT, process.env.FUSEBOX_REDIS_DIR || join('.fusebox', 'redis'))
    redis = await startEmbeddedRedis({ dir, binary })
    if (shuttingDown) return
    redisUrl = redis.url
    essential(redis.process, 'redis-server')
    const shownDir = relative(ROOT, dir).startsWith('..') ? dir : relative(ROOT, dir)
    say(`embedded Redis on ${redis.url} (AOF on, data in ${shownDir})`)
  }

  if (port === 0) {
    port = await findFreePort(host)
  } else if (!(await canListen(host, port))) {
    const freePort = await findFreePort(host)
    say(`port ${port} on ${host} is busy: using ${freePort} instead`)
    port = freePort
  }

  if (!flags.dev && dashboardBuildIsStale()) {
    say('building the dashboard (vite build)…')
    const build = spawnChild('build', 'npx', ['--no-install', 'vite', 'build'], { cwd: ROOT })
    const { code, signal } = await build.exited
    if (shuttingDown) return
    if (code !== 0) await shutdown(1, `dashboard build failed (${signal ?? `exit ${code}`})`)
  }

  /** @type {NodeJS.ProcessEnv} */
  const baseEnv = clusterNodes ? { ...process.env } : { ...process.env, REDIS_URL: redisUrl }
  server = spawnChild('server', process.execPath, ['--import', 'tsx', 'server/app/main.ts'], {
    cwd: ROOT,
    env: { ...baseEnv, PORT: String(port), HOST: host },
  })
  essential(server, 'the Fusebox server')
  const dashboardUrl = `http://${urlHost(probeHost)}:${port}/`
  if (!(await waitForHealthy(new URL('/healthz', dashboardUrl).toString(), server, HEALTH_TIMEOUT_MS))) {
    if (shuttingDown) return
    await shutdown(1, `the Fusebox server did not answer ${dashboardUrl}healthz within ${HEALTH_TIMEOUT_MS / 1000} s`)
  }
  if (shuttingDown) return

  // The embedded Redis URL carries no password (REDIS_URL, which may, is never written: the CLI reads it from the env).
  mkdirSync(join(ROOT, '.fusebox'), { recursive: true })
  writeFileSync(RUN_FILE, `${JSON.stringify({ redisUrl: redis ? redis.url : undefined, dashboardUrl })}\n`, { mode: 0o600 })

  let shownUrl = dashboardUrl
  if (flags.dev) {
    const vitePort = (await canListen(host, VITE_DEV_PORT)) ? VITE_DEV_PORT : await findFreePort(host)
    if (port !== DEFAULT_PORT) say(`note: vite.config.ts proxies the API to port ${DEFAULT_PORT}, the server is on ${port}`)
    viteDev = spawnChild('vite', 'npx', ['--no-install', 'vite', '--host', host, '--port', String(vitePort), '--strictPort'], { cwd: ROOT })
    essential(viteDev, 'the Vite dev server')
    shownUrl = `http://${urlHost(probeHost)}:${vitePort}/`
  }

  if (!flags['no-demo']) {
    /** @type {NodeJS.ProcessEnv} */
    const demoEnv = { ...baseEnv }
    if (demoPortBase !== undefined) demoEnv.FUSEBOX_DEMO_PORT_BASE = String(demoPortBase)
    demo = spawnChild('demo', process.execPath, ['--import', 'tsx', 'server/demo/fleet.ts'], { cwd: ROOT, env: demoEnv })
    void demo.exited.then(({ code, signal }) => {
      if (!shuttingDown && !demo?.stopping) say(`the demo fleet exited (${signal ?? `code ${code}`}); the dashboard keeps running`)
    })
  }

  say(
    [
      '',
      `Fusebox is up: ${shownUrl}`,
      `  Redis: ${redis ? `${redis.url} (embedded)` : clusterNodes ? `Redis Cluster ${redactSeeds(clusterNodes)}` : redactUrl(redisUrl ?? "")}`,
      ...(flags.dev ? [`  dev: Vite with hot reload in front of the server on port ${port}; use the login link with this URL`] : []),
      `  demo fleet: ${flags['no-demo'] ? 'off (--no-demo)' : 'starting — panels fill within a minute'}`,
      ...(process.env.FUSEBOX_OPERATOR_TOKENS || process.env.FUSEBOX_VIEWER_TOKENS || process.env.FUSEBOX_TOKENS_FILE ? [] : ['  sign in: the one-time link above (a new one: npm run login-link)']),
      '  stop: Ctrl-C',
      '',
    ].join('\n'),
  )
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  void shutdown(1)
})
