// @ts-check
/**
 * Child processes that never outlive us.
 *
 * Parent side: `spawnChild` runs every command under guard.mjs (its own process group, an IPC channel back
 * to us). If this process dies in any way — even SIGKILL — the guard sees the channel close and stops the
 * command's whole process group. `stopChild`/`stopAll` stop children gracefully, bounded, then SIGKILL.
 * Child side: `exitWithParent` makes a Node child exit (after its cleanup) when its parent goes away.
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const GUARD_PATH = fileURLToPath(new URL('./guard.mjs', import.meta.url))
const RECENT_LINES = 40
const CLEANUP_TIMEOUT_MS = 5000

/** @typedef {{ code: number | null, signal: NodeJS.Signals | null }} ChildExit */

/**
 * @typedef {object} ChildHandle
 * @property {string} name  label used as the `[name] ` output prefix
 * @property {number} pid  pid of the guard process
 * @property {() => number | undefined} commandPid  pid of the real command once it has started
 * @property {Promise<ChildExit>} exited  settles when the guard exits (the command's code, or 128+signal)
 * @property {() => boolean} isRunning
 * @property {() => string} recentOutput  the last lines the command printed (for error messages)
 * @property {boolean} stopping  true once `stop` was called: an exit after that is expected
 * @property {(signal?: NodeJS.Signals, graceMs?: number) => Promise<ChildExit>} stop
 *   sends `signal` (default SIGTERM), waits up to `graceMs` (default 5000), then SIGKILLs the process group
 */

/** @type {Set<ChildHandle>} */
const live = new Set()

/**
 * Spawns `command args…` under the orphan guard, prefixing each stdout/stderr line with `[name] ` and keeping
 * the last lines for error messages. The child is tracked until it exits (see `stopAll`).
 * @param {string} name  short label, e.g. 'redis', 'server', 'demo'
 * @param {string} command  executable name or path (looked up in PATH)
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, quiet?: boolean, hideLine?: (line: string) => boolean, inheritOutput?: boolean }} [options]
 *   env: the complete environment (default: ours); quiet: keep output only for `recentOutput`, print nothing;
 *   hideLine: lines not worth printing (still kept for `recentOutput`);
 *   inheritOutput: write straight to our stdout/stderr (keeps colours and progress bars; no prefix, no
 *   `recentOutput`)
 * @returns {ChildHandle}
 * @throws {Error} when the guard process cannot be spawned at all
 */
export function spawnChild(name, command, args, options = {}) {
  // detached: the guard gets its own process group, so a terminal Ctrl-C reaches only us and we stop
  // children in order (demo → server → Redis) instead of all at once.
  const guard = spawn(process.execPath, [GUARD_PATH, command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.inheritOutput ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  })
  if (guard.pid === undefined) throw new Error(`cannot start ${name} (${command})`)
  const guardPid = guard.pid

  /** @type {string[]} */
  const recent = []
  /** @type {number | undefined} */
  let commandPid
  let running = true

  /**
   * @param {import('node:stream').Readable} stream
   * @param {NodeJS.WriteStream} out
   */
  const pipeLines = (stream, out) => {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      recent.push(line)
      if (recent.length > RECENT_LINES) recent.shift()
      if (!options.quiet && !options.hideLine?.(line)) out.write(`[${name}] ${line}\n`)
    })
  }
  if (guard.stdout) pipeLines(guard.stdout, process.stdout)
  if (guard.stderr) pipeLines(guard.stderr, process.stderr)

  guard.on('message', (message) => {
    const m = /** @type {{ type?: string, pid?: number }} */ (message)
    if (m && m.type === 'spawned' && typeof m.pid === 'number') commandPid = m.pid
  })

  /** @type {Promise<ChildExit>} */
  const exited = new Promise((resolve) => {
    guard.on('exit', (code, signal) => {
      running = false
      live.delete(handle)
      resolve({ code, signal })
    })
  })

  /** @type {ChildHandle} */
  const handle = {
    name,
    pid: guardPid,
    commandPid: () => commandPid,
    exited,
    isRunning: () => running,
    recentOutput: () => recent.join('\n'),
    stopping: false,
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      handle.stopping = true
      if (!running) return exited
      // A SIGKILLed guard cannot pass the signal on, and the command lives in its own process group: kill that
      // group directly, or the command would outlive its guard.
      if (signal === 'SIGKILL' && commandPid !== undefined) {
        try { process.kill(-commandPid, 'SIGKILL') } catch { /* gone */ }
      }
      try { process.kill(guardPid, signal) } catch { /* already gone */ }
      /** @type {NodeJS.Timeout | undefined} */
      let timer
      const late = await Promise.race([
        exited.then(() => false),
        new Promise((resolve) => { timer = setTimeout(() => resolve(true), graceMs) }),
      ])
      clearTimeout(timer)
      if (late) {
        process.stderr.write(`${name} did not stop within ${graceMs} ms: killing it\n`)
        if (commandPid !== undefined) {
          try { process.kill(-commandPid, 'SIGKILL') } catch { /* gone */ }
        }
        try { process.kill(guardPid, 'SIGKILL') } catch { /* gone */ }
      }
      return exited
    },
  }
  live.add(handle)
  return handle
}

/**
 * Stops every child still running, all at once: `signal` (default SIGTERM), then SIGKILL after `graceMs`
 * (default 5000). Resolves when all have exited; never rejects.
 * @param {NodeJS.Signals} [signal]
 * @param {number} [graceMs]
 * @returns {Promise<void>}
 */
export async function stopAll(signal = 'SIGTERM', graceMs = 5000) {
  await Promise.all([...live].map((child) => child.stop(signal, graceMs)))
}

/** @type {Array<() => Promise<void> | void>} */
const cleanups = []
let watchingParent = false

/**
 * For Node children (server, demo): when the IPC channel to the parent closes — the parent or its guard
 * died — run the registered cleanups (last registered first, bounded by 5 s in total) and exit.
 * Does nothing but register the cleanup when the process was not started with an IPC channel.
 * The channel is unref'd, so it never keeps the process alive by itself.
 * @param {() => Promise<void> | void} [cleanup]  e.g. close the HTTP server and the Redis connection
 * @returns {boolean} whether this process has a parent to watch
 */
export function exitWithParent(cleanup) {
  if (cleanup) cleanups.push(cleanup)
  if (!process.send || !process.connected) return false
  if (!watchingParent) {
    watchingParent = true
    process.once('disconnect', () => { void runCleanupsAndExit() })
    process.channel?.unref()
  }
  return true
}

async function runCleanupsAndExit() {
  setTimeout(() => process.exit(1), CLEANUP_TIMEOUT_MS).unref()
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup()
    } catch (error) {
      process.stderr.write(`cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`)
    }
  }
  process.exit(0)
}
