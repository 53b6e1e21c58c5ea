/**
 * The real Fusebox server (`server/app/main.ts` through tsx) as a child process for the benches that drive it over
 * HTTP (client, overviewLoad): environment cleaned of the caller's FUSEBOX_*, REDIS_URL and PORT, an IPC channel (the
 * child exits with the bench), the last 4,000 characters of its output kept for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * Starts the server on 127.0.0.1:`port` against `redisUrl` with `env` added (e.g. FUSEBOX_OPERATOR_TOKENS) and
 * `preload` modules passed as `--import`, and waits until /healthz answers 200.
 * @throws Error when it exits first or does not answer within 30 s (with its output)
 */
export async function startServerChild(opts: {
  redisUrl: string
  port: number
  env: Record<string, string>
  preload?: string[]
}): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FUSEBOX_') && k !== 'REDIS_URL' && k !== 'PORT') env[k] = v
  Object.assign(env, { REDIS_URL: opts.redisUrl, PORT: String(opts.port), HOST: '127.0.0.1', ...opts.env })
  const imports = ['tsx', ...(opts.preload ?? [])].flatMap((m) => ['--import', m])
  const child = spawn(process.execPath, [...imports, join(ROOT, 'server/app/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let log = ''
  child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${log}`)
    try {
      const res = await fetch(`http://127.0.0.1:${opts.port}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return { child, output: () => log }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`server did not answer /healthz within 30 s: ${log}`)
    await sleep(200)
  }
}

/** SIGTERM, then SIGKILL after 7 s; resolves once the child has exited. A child already gone, or none: no-op. */
export async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 7000)
  await exited
  clearTimeout(t)
}
