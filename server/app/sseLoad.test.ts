/**
 * Issue #11 "Attack tests": 200 live SSE streams opened by one viewer do not slow the collectors' flushes.
 *
 * Real parts: redis-server (the test run's), the server in its own process (testing/serverProcess.ts, real HTTP on
 * loopback), the 200 streams held by another child process (testing/sseHolder.ts, so that reading them costs this
 * process nothing), and three real collectors in this process writing to the same Redis. Each flush is awaited and
 * its `stats.lastFlushDurationMs` sampled; flush p99 with 0 streams (baseline: 5 s before and 5 s after) and with the
 * streams open (10 s) must stay within 2 × baseline + FLOOR_MS.
 *
 * Per-session cap: the server allows at most MAX_STREAMS_PER_SESSION (20) streams per session and refuses more with
 * 429. One viewer therefore signs in SESSIONS (10) times with the same token and opens 20 streams on each: 200. If
 * the cap is lower than that, the extra streams are refused with 429 — expected behaviour, checked — and the flushes
 * are measured with the accepted ones.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCollector, type Collector } from '../sdk/index'
import { testRedisTarget } from '../testing/redis'
import { MAX_STREAMS_PER_SESSION } from './streamGuard'
import type { SseHolderReport } from './testing/sseHolder'
import { startServerProcess, type ServerProcess } from './testing/serverProcessClient'

const STREAMS = 200
const SESSIONS = 10
const STREAMS_PER_SESSION = STREAMS / SESSIONS
const COLLECTORS = 3
const ROUTES = 40
const REQUESTS_PER_FLUSH = 200
/** Flush rounds with the streams open, one every ROUND_MS: 10 s, so the phase crosses a 10 s bucket boundary (a fold). */
const ROUNDS = 100
/** Baseline rounds before and after the loaded phase (A-B-A: drift in the machine's other load hits both). */
const BASELINE_ROUNDS = 50
const ROUND_MS = 100
/**
 * Absolute allowance on top of 2 × baseline p99. A flush here is one pipelined round trip of a few ms on loopback;
 * on 2 cores shared by this process, the server, redis-server and the stream holder, a process that loses its CPU
 * waits up to one scheduling period (CFS: 6 ms × (1 + log2 CPUs) = 12 ms on 2 CPUs), and that lands in single
 * samples: a p99 of 300 samples is their 3rd-largest. 10 ms keeps the test about the streams — a real slowdown
 * (flushes queued behind the snapshot fan-out in Redis or on the CPU) shows in every sample, not in three.
 */
const FLOOR_MS = 10
const HOLDER = fileURLToPath(new URL('./testing/sseHolder.ts', import.meta.url))

function p99(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] ?? Number.NaN
}

let srv: ServerProcess
let holder: ChildProcess | null = null
const collectors: Collector[] = []

beforeAll(async () => {
  srv = await startServerProcess(testRedisTarget())
  for (let c = 0; c < COLLECTORS; c++) {
    const collector = createCollector({ redis: testRedisTarget(), service: `shop-${c}`, instance: `shop-${c}-1`, prefix: srv.keys.prefix, flushIntervalMs: 60_000 })
    collector.breaker('payments', async () => 1)
    collectors.push(collector)
  }
}, 60_000)
afterAll(async () => {
  holder?.kill('SIGTERM')
  await Promise.all(collectors.map((c) => c.close()))
  await srv?.close()
})

/** Requests recorded so far (spreads them over the routes). */
let n = 0
/** Runs `rounds` flush rounds (every collector records REQUESTS_PER_FLUSH requests, then all flush); each flush's duration. */
async function flushRounds(rounds: number): Promise<number[]> {
  const durations: number[] = []
  for (let round = 0; round < rounds; round++) {
    const started = performance.now()
    for (const collector of collectors) {
      for (let i = 0; i < REQUESTS_PER_FLUSH; i++) {
        n++
        collector.recordRequest({ method: 'GET', route: `/api/r${n % ROUTES}/:id`, status: n % 50 === 0 ? 503 : 200, durationMs: 5 + (n % 97) })
      }
    }
    await Promise.all(
      collectors.map(async (collector) => {
        const before = collector.stats.flushes
        await collector.flush()
        expect(collector.stats.flushes, 'flush did not complete').toBe(before + 1)
        durations.push(collector.stats.lastFlushDurationMs)
      }),
    )
    const rest = ROUND_MS - (performance.now() - started)
    if (rest > 0) await sleep(rest)
  }
  return durations
}

function askHolder(child: ChildProcess): Promise<SseHolderReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stream holder did not report')), 5000)
    child.once('message', (m: SseHolderReport) => {
      clearTimeout(timer)
      resolve(m)
    })
    child.send({ type: 'report' })
  })
}

describe('200 live streams of one viewer', () => {
  it('do not slow the collectors’ flushes: flush p99 with 200 streams open ≤ 2 × p99 with none + 10 ms', async () => {
    // Warm-up: connection, registration, first folds, JIT; discarded.
    const warmUpUntil = Date.now() + 20_000
    while (collectors.some((c) => c.stats.flushes < 20) && Date.now() < warmUpUntil) {
      await Promise.all(collectors.map((c) => c.flush()))
      await sleep(10)
    }
    const before = await flushRounds(BASELINE_ROUNDS)

    // One viewer token, SESSIONS sign-ins, STREAMS_PER_SESSION streams each.
    const cookies: string[] = []
    for (let s = 0; s < SESSIONS; s++) cookies.push(await srv.login('viewer'))
    const url = `${srv.base}/trpc/live.snapshot?input=${encodeURIComponent(JSON.stringify({ windowMs: 300_000 }))}`
    holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, url, JSON.stringify(cookies), String(STREAMS_PER_SESSION)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    // Wait until every stream has started or been refused.
    const expectedLive = Math.min(STREAMS_PER_SESSION, MAX_STREAMS_PER_SESSION) * SESSIONS
    let opened = await askHolder(holder)
    for (let i = 0; i < 100 && opened.live + Object.values(opened.refused).reduce((a, b) => a + b, 0) < STREAMS; i++) {
      await sleep(100)
      opened = await askHolder(holder)
    }
    expect(opened.opened).toBe(STREAMS)
    // Streams over the per-session cap (if it is below 20) are refused with 429, nothing else.
    expect(opened.live, JSON.stringify(opened)).toBe(expectedLive)
    expect(opened.refused, JSON.stringify(opened)).toEqual(expectedLive === STREAMS ? {} : { 429: STREAMS - expectedLive })

    const loaded = await flushRounds(ROUNDS)
    const during = await askHolder(holder)
    const stopped = new Promise((resolve) => holder?.once('exit', resolve))
    holder.kill('SIGTERM')
    await stopped
    holder = null
    await sleep(500) // the server sees the streams close
    const baseline = [...before, ...(await flushRounds(BASELINE_ROUNDS))]

    // The streams were live during the measurement: a snapshot a second on each (≥ half, for start-up and jitter).
    expect(during.live, JSON.stringify(during)).toBe(expectedLive)
    expect(during.events - opened.events).toBeGreaterThanOrEqual(expectedLive * (ROUNDS * ROUND_MS / 1000) * 0.5)

    const base99 = p99(baseline)
    const load99 = p99(loaded)
    console.log(
      `[sse-load] ${expectedLive} streams live (${during.events - opened.events} snapshots received while measuring); ` +
        `flush p99 ${base99.toFixed(2)} ms with 0 streams (n = ${baseline.length}) → ${load99.toFixed(2)} ms with ${expectedLive} (n = ${loaded.length}; limit ${(2 * base99 + FLOOR_MS).toFixed(2)} ms)`,
    )
    expect(load99).toBeLessThanOrEqual(2 * base99 + FLOOR_MS)
  }, 90_000)
})
