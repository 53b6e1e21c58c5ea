/**
 * Topic 4 — cost of one `collector.flush()` against a real redis-server on loopback, and the Redis commands it
 * issued (`INFO commandstats` deltas; commands run inside a Lua script are counted there too, under their own
 * names). Reference, measured in the same run: prom-client `registry.metrics()` over the same series — the work a
 * Prometheus scrape does to export the same data.
 */
import { Histogram as PromHistogram, Registry } from 'prom-client'
import { createCollector, type Collector } from '../server/sdk/index'
import { commandCalls, commandDelta, type BenchRedis } from './redis'
import { lognormalMs, seededRandom } from './samples'
import { fmt, median } from './stats'
import { verdict, type Table } from './table'

const ROUNDS = 15

interface Scenario {
  name: string
  routes: number
  statuses: number[]
  /**
   * Requests per series per flush (= req/s per series at the default 1 s cadence). The value written per series is
   * the cumulative histogram of its open 10 s bucket, so cost grows with how many buckets that histogram spans.
   */
  requestsPerSeries: number
}

const SCENARIOS: Scenario[] = [
  { name: '200 routes × 2xx, 50 req/s each', routes: 200, statuses: [200], requestsPerSeries: 50 },
  { name: '1,000 routes × 2xx, 50 req/s each (50k req/s)', routes: 1000, statuses: [200], requestsPerSeries: 50 },
  { name: '1,000 routes × 2xx, 5 req/s each (5k req/s)', routes: 1000, statuses: [200], requestsPerSeries: 5 },
  { name: '200 routes × 5 status classes, 50 req/s each', routes: 200, statuses: [101, 200, 304, 404, 503], requestsPerSeries: 50 },
]

async function connected(c: Collector): Promise<void> {
  const deadline = Date.now() + 10_000
  while (c.stats.flushes === 0) {
    if (Date.now() > deadline) throw new Error('collector did not connect to the bench Redis within 10 s')
    await c.flush()
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Median flush time (ms) and Redis commands per flush for each scenario. */
export async function benchFlush(redis: BenchRedis): Promise<Table> {
  const rows: string[][] = []
  const notes: string[] = []
  const random = seededRandom(4)
  for (const s of SCENARIOS) {
    const collector = createCollector({
      redis: redis.url,
      service: 'benchflush',
      instance: `flush-${s.routes}-${s.statuses.length}`,
      prefix: 'benchflush',
      flushIntervalMs: 60_000,
      maxSeries: 5000,
    })
    const registry = new Registry()
    const prom = new PromHistogram({ name: 'http_request_duration_seconds', help: 'd', labelNames: ['method', 'route', 'status_code'] as const, registers: [registry] })
    try {
      await connected(collector)
      const flushMs: number[] = []
      const commands: number[] = []
      const scrapeMs: number[] = []
      let breakdown = new Map<string, number>()
      for (let round = 0; round < ROUNDS + 2; round++) {
        for (let r = 0; r < s.routes; r++) {
          for (const status of s.statuses) {
            for (let k = 0; k < s.requestsPerSeries; k++) {
              const durationMs = lognormalMs(random, 20, 0.8)
              collector.recordRequest({ method: 'GET', route: `/api/v1/r${r}/:id`, status, durationMs })
              if (round === 0) prom.observe({ method: 'GET', route: `/api/v1/r${r}/:id`, status_code: status }, durationMs / 1000)
            }
          }
        }
        const before = await commandCalls(redis.admin)
        const t0 = performance.now()
        await collector.flush()
        const elapsed = performance.now() - t0
        const delta = commandDelta(before, await commandCalls(redis.admin))
        const t1 = performance.now()
        await registry.metrics()
        const scrape = performance.now() - t1
        if (round < 2) continue // warm-up rounds
        flushMs.push(elapsed)
        scrapeMs.push(scrape)
        commands.push([...delta.values()].reduce((a, b) => a + b, 0))
        breakdown = delta
      }
      if (collector.stats.flushErrors > 0) notes.push(`${s.name}: ${collector.stats.flushErrors} flush errors`)
      const f = median(flushMs)
      const p = median(scrapeMs)
      rows.push([s.name, fmt(f, 2), fmt(Math.max(...flushMs), 2), fmt(median(commands), 0), fmt(p, 2), fmt(f / p, 2), '≤ 10 ms', verdict(f <= 10)])
      notes.push(`${s.name} — commands of one flush: ${[...breakdown].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`)
    } finally {
      await collector.close()
    }
  }
  return {
    title: `4. collector.flush() against redis-server on loopback (median of ${ROUNDS} flushes; lognormal latencies, σ 0.8)`,
    header: ['scenario', 'flush ms (median)', 'flush ms (max)', 'Redis commands', 'prom-client metrics() ms', 'ratio', 'target', 'result'],
    rows,
    notes,
  }
}
