// @ts-check
/**
 * The embedded default Redis: Debian's redis-server on a free loopback port, AOF on, data in a given folder,
 * run under the orphan guard so it never outlives us. Only node: built-ins here.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnChild } from './children.mjs'

const READY_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 10_000
/** Start-up and shutdown chatter redis-server logs even at loglevel warning. */
const ROUTINE_LOG =
  /oO0OoO0OoO0Oo|Redis version=|Configuration loaded|Server initialized|Memory overcommit|scheduling shutdown|User requested shutdown|ready to exit, bye/

/**
 * Asks the kernel for a free TCP port on `host` (listen on port 0, read it, close).
 * @param {string} [host]  default 127.0.0.1
 * @returns {Promise<number>}
 * @throws {Error} when nothing can listen on `host`
 */
export function findFreePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * One inline `PING` over a raw socket.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<boolean>} true when Redis answered +PONG, or -NOAUTH (a password is set) — false while it is
 *   loading or not listening
 */
function ping(port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    /** @param {boolean} ok */
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      // -NOAUTH: up and answering, with a requirepass (a test cluster's nodes); -LOADING is not ready yet.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'))
    })
  })
}

/**
 * @param {number} pid
 * @returns {boolean}
 */
function isRedisServer(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('redis-server')
  } catch {
    return false
  }
}

/**
 * A redis-server left running by an earlier crash would hold the AOF files: stop it (SIGTERM, then SIGKILL
 * after 5 s). Only a live process whose command line names redis-server is touched.
 * @param {string} pidFile
 */
async function stopLeftoverRedis(pidFile) {
  let pid
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
  } catch {
    return
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !isRedisServer(pid)) return
  process.stdout.write(`stopping a redis-server left from an earlier run (pid ${pid})\n`)
  try { process.kill(pid, 'SIGTERM') } catch { return }
  for (let waitedMs = 0; waitedMs < 5000; waitedMs += 100) {
    await sleep(100)
    if (!isRedisServer(pid)) return
  }
  try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  await sleep(100)
}

/**
 * @typedef {object} EmbeddedRedis
 * @property {string} url  redis://127.0.0.1:<port>
 * @property {number} port
 * @property {number} pid  pid of redis-server itself (its guard is its parent)
 * @property {() => Promise<void>} stop  graceful shutdown (AOF flushed), SIGKILL after 10 s; idempotent
 * @property {import('./children.mjs').ChildHandle} process  the guarded child (exit promise, output)
 */

/**
 * Starts redis-server on 127.0.0.1 with AOF on (appendfsync everysec, no RDB snapshots) and its data,
 * AOF and pidfile in `dir` (created if needed). Resolves once it answers PING.
 * @param {{ dir: string, port?: number, binary?: string, quiet?: boolean, extraArgs?: string[] }} options
 *   dir: data folder (relative: to our cwd); port: default a free one; binary: default 'redis-server' from PATH;
 *   quiet: do not print Redis's own output (it is still kept for the error message); extraArgs: more redis-server
 *   options after ours, e.g. `['--enable-debug-command', 'local']` for a fault test's `DEBUG SLEEP` (default none)
 * @returns {Promise<EmbeddedRedis>}
 * @throws {Error} when it exits or does not answer PING within 10 s (the message holds its last output)
 */
export async function startEmbeddedRedis({ dir: givenDir, port, binary = 'redis-server', quiet = false, extraArgs = [] }) {
  // Absolute: redis-server chdirs into --dir before it writes the pidfile.
  const dir = resolve(givenDir)
  mkdirSync(dir, { recursive: true })
  const pidFile = join(dir, 'redis.pid')
  await stopLeftoverRedis(pidFile)
  const redisPort = port ?? (await findFreePort())

  // Each option is its own argv element; `--save ''` (empty argument) disables RDB snapshots.
  const args = [
    '--port', String(redisPort),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--loglevel', 'warning',
    '--pidfile', pidFile,
    ...extraArgs,
  ]
  const child = spawnChild('redis', binary, args, { quiet, hideLine: (line) => ROUTINE_LOG.test(line) })

  const deadlineMs = Date.now() + READY_TIMEOUT_MS
  let ready = false
  while (!ready && child.isRunning() && Date.now() < deadlineMs) {
    ready = await ping(redisPort, 500)
    if (!ready) await sleep(50)
  }
  const pid = child.commandPid()
  if (!ready || pid === undefined) {
    const why = child.isRunning() ? `did not answer PING within ${READY_TIMEOUT_MS} ms` : 'exited'
    await child.stop('SIGKILL', 1000)
    throw new Error(`redis-server on port ${redisPort} ${why}:\n${child.recentOutput() || '(no output)'}`)
  }

  return {
    url: `redis://127.0.0.1:${redisPort}`,
    port: redisPort,
    pid,
    process: child,
    async stop() {
      await child.stop('SIGTERM', STOP_GRACE_MS)
    },
  }
}
