/**
 * Test helper: the real HTTP app in a child process (serverProcess.ts) on an ephemeral loopback port with a fresh
 * key prefix, for tests that measure the server process itself (RSS, prototype, CPU apart from the test's own).
 * Sessions come from real `auth.login` calls over HTTP with the test tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createKeySpace, type KeySpace } from '../../../shared/keys'
import type { Role } from '../../../shared/schemas'
import { SESSION_COOKIE } from '../auth'
import type { ServerProbe } from './serverProcess'
import { MUTATION_HEADERS, OPERATOR_TOKEN, VIEWER_TOKEN } from './testServer'
import { deletePrefix } from '../../testing/redis'
import { Cluster, Redis } from 'ioredis'
import type { RedisClient } from '../../sdk/redisTopology'
import { seedList } from '../../testing/redisCluster'

const ENTRY = fileURLToPath(new URL('./serverProcess.ts', import.meta.url))
const START_TIMEOUT_MS = 30_000
const PROBE_TIMEOUT_MS = 10_000

/** A running server child. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  base: string
  /** Pid of the server process (for /proc reads). */
  pid: number
  /** A client of the same Redis (for sample setup), and the child's key space. */
  redis: RedisClient
  keys: KeySpace
  /** A fresh session cookie (`fusebox_session=<id>`) from `auth.login` with the role's test token. */
  login(role: Role): Promise<string>
  /** Asks the child for its memory and prototype state; `gc: true` runs a full GC first (needs `--expose-gc`). */
  probe(gc?: boolean): Promise<ServerProbe>
  /** Output the child printed (last ~8 KB), for error messages. */
  output(): string
  /** Stops the child (SIGTERM, then SIGKILL after 5 s), deletes its keys and quits the Redis client. */
  close(): Promise<void>
}

/**
 * Starts serverProcess.ts as `node [execArgv] --import tsx serverProcess.ts` against `target`: a `redis://` URL or
 * `{ cluster: 'host:port,…' }` (what `testRedisTarget()` gives, server/testing/redis.ts).
 * @param execArgv extra Node flags, e.g. `['--expose-gc']`
 * @param extraEnv variables added to this process's environment for the child (e.g. glibc malloc tunables)
 * @throws Error when the child exits or does not listen within 30 s
 */
export async function startServerProcess(target: string | { cluster: string }, execArgv: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const keys = createKeySpace('p' + randomBytes(6).toString('hex'))
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, ...(typeof target === 'string' ? { REDIS_URL: target } : { REDIS_CLUSTER_NODES: target.cluster }), FUSEBOX_PREFIX: keys.prefix, FUSEBOX_OPERATOR_TOKENS: OPERATOR_TOKEN, FUSEBOX_VIEWER_TOKENS: VIEWER_TOKEN }
  const child: ChildProcess = spawn(process.execPath, [...execArgv, '--import', 'tsx', ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let log = ''
  const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-8192))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server process did not listen within ${START_TIMEOUT_MS} ms: ${log}`)), START_TIMEOUT_MS)
    child.on('message', (m: { type?: string; base?: string }) => {
      if (m?.type === 'listening' && m.base) {
        clearTimeout(timer)
        resolve(m.base)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server process exited ${code}: ${log}`))
    })
  })
  const redis: RedisClient = typeof target === 'string' ? new Redis(target) : new Cluster(seedList(target.cluster), { scaleReads: 'master' })
  const tokens: Record<Role, string> = { operator: OPERATOR_TOKEN, viewer: VIEWER_TOKEN }
  let probeSerial = 0
  // One listener for every probe answer (many may be in flight), matched by id.
  const pendingProbes = new Map<number, (probe: ServerProbe) => void>()
  child.on('message', (m: ServerProbe & { type?: string; id?: number }) => {
    if (m?.type !== 'probe' || m.id === undefined) return
    pendingProbes.get(m.id)?.(m)
    pendingProbes.delete(m.id)
  })
  return {
    base,
    pid: child.pid!,
    redis,
    keys,
    async login(role) {
      const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: MUTATION_HEADERS, body: JSON.stringify({ token: tokens[role] }) })
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      if (!res.ok || !cookie.startsWith(`${SESSION_COOKIE}=`)) throw new Error(`login as ${role} answered ${res.status}: ${await res.text()}`)
      return cookie
    },
    probe(gc = false) {
      const id = ++probeSerial
      return new Promise<ServerProbe>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingProbes.delete(id)
          reject(new Error('server process did not answer a probe'))
        }, PROBE_TIMEOUT_MS)
        pendingProbes.set(id, (probe) => {
          clearTimeout(timer)
          resolve(probe)
        })
        child.send({ type: 'probe', id, gc })
      })
    },
    output: () => log,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const force = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(force)
      }
      await deletePrefix(redis, keys.prefix)
      await redis.quit()
    },
  }
}
