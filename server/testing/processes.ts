/** Process inspection for tests that check nothing is left running (Linux /proc). */
import { readFileSync } from 'node:fs'

/**
 * Whether `pid` is a live process. A zombie counts as gone: it has exited and only waits for its parent to reap it
 * (PID 1 in some containers never does).
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}
