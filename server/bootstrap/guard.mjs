// @ts-check
/**
 * Orphan guard: `node guard.mjs <command> [args…]`, spawned with an IPC channel by children.mjs.
 *
 * It runs <command> in its own process group and
 * - forwards SIGTERM / SIGINT / SIGHUP to that whole group,
 * - when the IPC channel to its parent disconnects (the parent died, even by SIGKILL, which nobody can
 *   trap), sends SIGTERM to the group, then SIGKILL after GRACE_MS, and exits,
 * - exits with the child's exit code (128 + signal number when the child died of a signal).
 *
 * It tells its parent the real child's pid with one IPC message `{ type: 'spawned', pid }`, so the parent
 * can SIGKILL the group itself if the guard ever has to be SIGKILLed.
 * The child gets an IPC channel to the guard too: a Node child that calls `exitWithParent()` also exits
 * if the guard itself is killed.
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

const GRACE_MS = 3000

const [command, ...args] = process.argv.slice(2)
if (!command) {
  process.stderr.write('usage: node guard.mjs <command> [args…]\n')
  process.exit(2)
}

// detached: own process group, so a signal to -pid reaches the child and whatever it spawned, and a
// terminal Ctrl-C (sent to the foreground group) does not reach it behind the orchestrator's back.
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true })

/** @param {NodeJS.Signals} signal */
function signalGroup(signal) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try { child.kill(signal) } catch { /* already gone */ }
  }
}

child.on('spawn', () => {
  if (process.connected && process.send) process.send({ type: 'spawned', pid: child.pid }, () => {})
})
child.on('error', (error) => {
  process.stderr.write(`guard: cannot start ${command}: ${error.message}\n`)
  process.exit(127)
})
child.on('exit', (code, signal) => {
  // The group may still hold grandchildren the child did not reap: they go with it.
  if (child.pid !== undefined) {
    try { process.kill(-child.pid, 'SIGKILL') } catch { /* group empty */ }
  }
  const signalNumber = signal ? constants.signals[signal] : undefined
  process.exit(code ?? (signalNumber !== undefined ? 128 + signalNumber : 1))
})

for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) {
  process.on(signal, () => signalGroup(signal))
}

let orphaned = false
process.on('disconnect', () => {
  if (orphaned) return
  orphaned = true
  signalGroup('SIGTERM')
  setTimeout(() => {
    signalGroup('SIGKILL')
    process.exit(137)
  }, GRACE_MS).unref()
})
