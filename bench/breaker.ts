/**
 * Topic 2 — overhead of a Fusebox breaker's `fire()` over bare opossum on a trivial async action. Both breakers
 * have the same opossum options; the Fusebox one is created by a collector connected to a real Redis, so its
 * start-up reconcile has finished and `fire()` is the steady-state path.
 */
import CircuitBreaker from 'opossum'
import { createCollector } from '../server/sdk/index'
import type { BenchRedis } from './redis'
import { fmt, median, timeNsAsync } from './stats'
import { verdict, type Table } from './table'

const FIRES = 50_000
const ROUNDS = 11

/** Median ns per `await breaker.fire()` for Fusebox and bare opossum. */
export async function benchBreaker(redis: BenchRedis): Promise<Table> {
  const collector = createCollector({ redis: redis.url, service: 'bench', instance: 'breaker', prefix: 'benchbrk', flushIntervalMs: 60_000 })
  const action = async () => 1
  const options = { timeout: 10_000, errorThresholdPercentage: 50, resetTimeout: 10_000 }
  const fusebox = collector.breaker('fused', action, options)
  const bare = new CircuitBreaker(action, { ...options, name: 'bare' })
  const loop = (fire: () => Promise<number>) => async () => {
    for (let i = 0; i < FIRES; i++) await fire()
  }
  const runs = [
    { name: 'fusebox', run: loop(() => fusebox.fire()) },
    { name: 'opossum', run: loop(() => bare.fire()) },
  ]
  try {
    await fusebox.fire() // waits (bounded) for the start-up reconcile once
    for (const r of runs) await r.run() // warm-up
    const ns = new Map<string, number[]>(runs.map((r) => [r.name, []]))
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order each round so neither always runs right after a GC of the other's garbage.
      for (const r of round % 2 === 0 ? runs : [...runs].reverse()) ns.get(r.name)!.push((await timeNsAsync(r.run)) / FIRES)
    }
    const fs = ns.get('fusebox') ?? []
    const os = ns.get('opossum') ?? []
    const f = median(fs)
    const o = median(os)
    // Paired design: each round times both back to back, so the per-round ratio cancels machine drift (other
    // processes, CPU frequency, GC) that a ratio of two medians keeps. The verdict uses the median paired ratio.
    const paired = median(fs.map((x, i) => x / (os[i] ?? Number.NaN)))
    return {
      title: `2. Breaker fire() overhead (median of ${ROUNDS} rounds × ${FIRES.toLocaleString('en-US')} sequential awaited fires)`,
      header: ['contender', 'ns/fire', 'Fusebox ÷ this', 'target', 'result'],
      rows: [
        ['Fusebox collector.breaker().fire()', fmt(f), '1.00', '', ''],
        ['opossum CircuitBreaker.fire()', fmt(o), `${fmt(f / o, 3)} (paired ${fmt(paired, 3)})`, 'Fusebox ≤ 1.1 × opossum (paired)', verdict(paired <= 1.1)],
      ],
      notes: [
        'ratio: of the two medians, and (paired) the median of per-round ratios, which cancels drift between rounds; the verdict uses the paired one',`rounds (ns/fire): fusebox ${(ns.get('fusebox') ?? []).map((n) => fmt(n, 0)).join('/')}; opossum ${(ns.get('opossum') ?? []).map((n) => fmt(n, 0)).join('/')}`],
    }
  } finally {
    bare.shutdown()
    fusebox.opossum.shutdown()
    await collector.close()
  }
}
