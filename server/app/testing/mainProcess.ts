/**
 * Real dashboard server processes for tests: `node --import tsx server/app/main.ts` (the standalone server, with its
 * signal handling and lame-duck stop) or any other script, on a free loopback port, with the caller's environment
 * on top of the test's own minus Fusebox's and Redis' variables (so a developer's shell settings cannot leak in).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { findFreePort } from '../../bootstrap/redis.mjs'
import { OPERATOR_TOKEN, VIEWER_TOKEN } from './testServer'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** A child process of the test with its last output (for failure messages). */
export interface Proc {
  child: ChildProcess
  /** The last 6,000 characters of its stdout and stderr, interleaved. */
  log: () => string
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>
}

/** Every child started here and not yet exited: an afterAll stops what is left (`killRunning`). */
const running = new Set<ChildProcess>()

/** Spawns `node --import tsx <script>` in the repo with `env` on top of ours minus FUSEBOX_*, REDIS_*, PORT and HOST. */
export function startNode(script: string, env: Record<string, string>): Proc {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FUSEBOX_') && !k.startsWith('REDIS_') && k !== 'PORT' && k !== 'HOST') clean[k] = v
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let log = ''
  const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-6000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  running.add(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => running.delete(child))
  return { child, log: () => log, exited }
}

/**
 * Sends `signal` to every child still running, twice (a second SIGTERM ends a server's lame-duck period: the test's
 * balancer, if any, is gone already), and waits up to `waitMs` for them to exit.
 */
export async function killRunning(signal: NodeJS.Signals = 'SIGTERM', waitMs = 6000): Promise<void> {
  const left = [...running]
  const exits = left.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))))
  for (const c of left) c.kill(signal)
  await sleep(50)
  for (const c of left) c.kill(signal)
  await Promise.race([Promise.all(exits), sleep(waitMs)])
}

/**
 * A dashboard server process (server/app/main.ts) on a free loopback port with the test tokens, trusting a proxy on
 * loopback (as docs/haproxy.cfg says); resolves once `/healthz` answers 200 (≤ 40 s).
 * @param redisEnv REDIS_URL or REDIS_CLUSTER_NODES
 * @param extraEnv more variables (FUSEBOX_SHUTDOWN_DRAIN_MS, …)
 * @throws Error with the server's output when it exits or is not healthy in time
 */
export async function startMainServer(redisEnv: Record<string, string>, prefix: string, extraEnv: Record<string, string> = {}): Promise<Proc & { address: string }> {
  const port = await findFreePort()
  const proc = startNode(join(ROOT, 'server/app/main.ts'), {
    ...redisEnv,
    PORT: String(port),
    HOST: '127.0.0.1',
    FUSEBOX_PREFIX: prefix,
    FUSEBOX_OPERATOR_TOKENS: OPERATOR_TOKEN,
    FUSEBOX_VIEWER_TOKENS: VIEWER_TOKEN,
    FUSEBOX_TRUST_PROXY: 'loopback',
    ...extraEnv,
  })
  const deadline = Date.now() + 40_000
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`dashboard server exited (${proc.child.exitCode}): ${proc.log()}`)
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
    if (ok) return { ...proc, address: `127.0.0.1:${port}` }
    if (Date.now() > deadline) throw new Error(`dashboard server not healthy within 40 s: ${proc.log()}`)
    await sleep(200)
  }
}
