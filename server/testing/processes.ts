/** Process helpers for tests: inspection (Linux /proc) for tests that check nothing is left running, and waiting for a child's "listening" line. */
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

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

/**
 * Waits (≤ 20 s) for `child` to print the "[fusebox] server listening on http://…/" line (or a line matching `pattern`,
 * whose first group is returned) on stdout, and returns that base URL.
 * @throws Error when the child exits first (with `stderr()` in the message) or after 20 s
 */
export async function listening(
  child: ChildProcess,
  exited: Promise<number | null>,
  stderr: () => string,
  pattern: RegExp = /server listening on (http:\/\/[^/\s]+)\//,
): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  let timer: NodeJS.Timeout | undefined
  const found = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const m = pattern.exec(line)
      if (m) resolve(m[1]!)
    })
  })
  try {
    return await Promise.race([
      found,
      exited.then((code) => Promise.reject(new Error(`fusebox exited (${code}) before listening: ${stderr()}`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`fusebox did not listen within 20 s: ${stderr()}`)), 20_000))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
