/**
 * `npm start` never leaves a process behind: the real start.mjs with the real server, demo fleet and embedded
 * redis-server (in a temp data folder), stopped by SIGTERM and killed by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { isAlive } from '../testing/processes'
import { findFreePort } from './redis.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const UP_TIMEOUT_MS = 90_000
const GONE_TIMEOUT_MS = 10_000
const OPERATOR_TOKEN = 'start-test-operator-token-0123456789'

interface ProcessInfo { pid: number; ppid: number; state: string; cmdline: string }

/** Every process in /proc (state from /proc/<pid>/stat, whose comm field may itself hold spaces and parens). */
function listProcesses(): ProcessInfo[] {
  const processes: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      processes.push({ pid: Number(entry), ppid: Number(ppid), state: state ?? '?', cmdline })
    } catch {
      // exited while we looked
    }
  }
  return processes
}

/** All live descendants of `rootPid` (children, grandchildren, …) by following ppid links. */
function descendantsOf(rootPid: number): ProcessInfo[] {
  const processes = listProcesses().filter((p) => p.state !== 'Z')
  const found: ProcessInfo[] = []
  const parents = new Set([rootPid])
  for (let grew = true; grew; ) {
    grew = false
    for (const p of processes) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid)
        found.push(p)
        grew = true
      }
    }
  }
  return found
}

async function survivorsAfter(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadlineMs = Date.now() + timeoutMs
  let alive = pids.filter(isAlive)
  while (alive.length > 0 && Date.now() < deadlineMs) {
    await sleep(100)
    alive = alive.filter(isAlive)
  }
  return alive
}

interface Started { start: ChildProcess; output: () => string; exited: Promise<number | null> }

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** Runs `node server/bootstrap/start.mjs` with the demo, its Redis data in a temp folder, until "Fusebox is up". */
async function startFusebox(): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fusebox-start-test-'))
  const port = await findFreePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FUSEBOX_OPERATOR_TOKEN: OPERATOR_TOKEN,
    FUSEBOX_OPERATOR_TOKENS: OPERATOR_TOKEN,
    FUSEBOX_REDIS_DIR: join(dataDir, 'redis'),
  }
  delete env.REDIS_URL
  delete env.PORT
  const start = spawn(process.execPath, ['server/bootstrap/start.mjs', '--port', String(port)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  start.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  start.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => start.on('exit', (code) => resolve(code)))
  cleanups.push(() => {
    // Whatever the test's outcome, leave nothing running and no data behind.
    for (const p of descendantsOf(start.pid ?? -1)) {
      try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
    }
    start.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })

  const deadlineMs = Date.now() + UP_TIMEOUT_MS
  while (!output.includes('Fusebox is up') && start.exitCode === null && Date.now() < deadlineMs) await sleep(100)
  if (!output.includes('Fusebox is up')) throw new Error(`npm start did not come up:\n${output.slice(-4000)}`)
  return { start, output: () => output, exited }
}

/** The start process's descendants once the demo fleet has had a moment to spawn its own processes. */
async function collectTree(start: ChildProcess): Promise<ProcessInfo[]> {
  await sleep(3000)
  const tree = descendantsOf(start.pid ?? -1)
  cleanups.push(() => {
    for (const p of tree) {
      const current = listProcesses().find((q) => q.pid === p.pid)
      if (current?.cmdline === p.cmdline && current.state !== 'Z') {
        try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
      }
    }
  })
  const commands = tree.map((p) => p.cmdline).join('\n')
  expect(tree.length).toBeGreaterThanOrEqual(3)
  expect(commands).toContain('redis-server')
  expect(commands).toContain('server/app/main.ts')
  expect(commands).toContain('server/demo/fleet.ts')
  return tree
}

describe('npm start', () => {
  it('SIGTERM to npm start stops every child: no redis-server or demo process survives', async () => {
    const { start, exited, output } = await startFusebox()
    const tree = await collectTree(start)

    start.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)])
    expect(code, output().slice(-4000)).toBe(0)
    const survivors = await survivorsAfter(tree.map((p) => p.pid), GONE_TIMEOUT_MS)
    expect(tree.filter((p) => survivors.includes(p.pid)).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([])
  }, 150_000)

  it('SIGKILL to npm start still stops every child: each one notices its parent is gone', async () => {
    const { start, exited } = await startFusebox()
    const tree = await collectTree(start)

    start.kill('SIGKILL')
    await exited
    const survivors = await survivorsAfter(tree.map((p) => p.pid), GONE_TIMEOUT_MS)
    expect(tree.filter((p) => survivors.includes(p.pid)).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([])
  }, 150_000)
})
