/**
 * Topic 5 — Redis bytes per series-hour and the memory budget (DESIGN.md: 20 instances × 200 routes at steady
 * traffic fit in ≤ 512 MB with the default retention).
 *
 * `benchStorage()` drives 20 real collectors (public API only) against a fresh redis-server, for 6 simulated
 * 10-second buckets (one minute) of steady traffic, then measures `INFO memory` used_memory before/after and
 * `MEMORY USAGE` of every request-bucket key, grouped by tier (`…:req:<tier>:<bucketStart>`). It extrapolates to
 * full retention with the tiers the storage rewrite targets: 10 s kept 1 h, 1 min kept 24 h, 1 h kept 30 d.
 *
 * Time is simulated by replacing `Date.now` while recording and flushing (the SDK reads the clock there), so thirty
 * buckets take seconds instead of five minutes. A tier the SDK does not (yet) write is estimated from the 10 s
 * tier's bytes per key and flagged as such.
 */
import type { Redis } from 'ioredis'
import { createCollector, type Collector } from '../server/sdk/index'
import { parseInfo, startBenchRedis } from './redis'
import { lognormalMs, seededRandom } from './samples'
import { fmt } from './stats'
import { verdict, type Table } from './table'

const INSTANCES = 20
const ROUTES = 200
const SIMULATED_BUCKETS = 30
const BUCKET_MS = 10_000
/** Steady traffic: requests per route per instance per 10 s bucket (1 req/s/route/instance = 4,000 req/s total). */
const REQUESTS_PER_ROUTE_PER_BUCKET = 10
const BUDGET_BYTES = 512 * 2 ** 20

/** Target retention per tier: buckets kept = retention ÷ width; buckets per hour = 3,600,000 ÷ width. */
const TIERS = [
  { name: '10s', widthMs: 10_000, retentionMs: 3_600_000 },
  { name: '1m', widthMs: 60_000, retentionMs: 24 * 3_600_000 },
  { name: '1h', widthMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 },
] as const

/** Status of one simulated request: 96% 2xx, 3% 4xx, 1% 5xx. */
function statusOf(random: () => number): number {
  const x = random()
  return x < 0.96 ? 200 : x < 0.99 ? 404 : 503
}

async function usedMemory(admin: Redis): Promise<number> {
  return Number(parseInfo(await admin.info('memory')).get('used_memory') ?? Number.NaN)
}

/** Runs the storage benchmark (see module comment); starts and removes its own redis-server. */
export async function benchStorage(): Promise<Table> {
  const redis = await startBenchRedis()
  const collectors: Collector[] = []
  const realNow = Date.now
  const notes: string[] = []
  try {
    for (let i = 0; i < INSTANCES; i++) {
      collectors.push(createCollector({ redis: redis.url, service: 'storage', instance: `i${i}`, prefix: 'fbstore', flushIntervalMs: 60_000, maxSeries: 5000 }))
    }
    // Connected (one empty flush each) before the baseline, so connection buffers are not counted as data.
    for (const c of collectors) {
      const deadline = realNow() + 10_000
      while (c.stats.flushes === 0 && realNow() < deadline) {
        await c.flush()
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const before = await usedMemory(redis.admin)

    const random = seededRandom(5)
    const t0 = Math.ceil(realNow() / BUCKET_MS) * BUCKET_MS
    let simulatedMs = t0
    Date.now = () => simulatedMs
    for (let b = 0; b < SIMULATED_BUCKETS; b++) {
      simulatedMs = t0 + b * BUCKET_MS + 5000
      for (const c of collectors) {
        for (let r = 0; r < ROUTES; r++) {
          for (let k = 0; k < REQUESTS_PER_ROUTE_PER_BUCKET; k++) {
            c.recordRequest({ method: 'GET', route: `/api/v1/r${r}/:id`, status: statusOf(random), durationMs: lognormalMs(random, 20, 0.8) })
          }
        }
        await c.flush()
      }
    }
    Date.now = realNow
    const flushErrors = collectors.reduce((n, c) => n + c.stats.flushErrors, 0)
    if (flushErrors > 0) notes.push(`${flushErrors} flush errors during the run: figures are incomplete`)
    const after = await usedMemory(redis.admin)

    // Bytes per request-bucket key, by tier.
    const byTier = new Map<string, { keys: number; bytes: number; fields: number }>()
    let cursor = '0'
    do {
      const [next, keys] = await redis.admin.scan(cursor, 'MATCH', 'fbstore:{storage}:req:*', 'COUNT', 1000)
      cursor = next
      for (const key of keys) {
        const tier = /:req:([^:]+):\d+$/.exec(key)?.[1] ?? '?'
        const bytes = Number(await redis.admin.memory('USAGE', key, 'SAMPLES', '0'))
        const fields = await redis.admin.hlen(key).catch(() => 0)
        const t = byTier.get(tier) ?? { keys: 0, bytes: 0, fields: 0 }
        t.keys++
        t.bytes += bytes
        t.fields += fields
        byTier.set(tier, t)
      }
    } while (cursor !== '0')

    const rows: string[][] = []
    const tenS = byTier.get('10s')
    let totalBytes = 0
    for (const tier of TIERS) {
      const seen = byTier.get(tier.name)
      const perKey = seen ? seen.bytes / seen.keys : tenS ? tenS.bytes / tenS.keys : Number.NaN
      const kept = tier.retentionMs / tier.widthMs
      const perSeriesHour = (perKey / ROUTES) * (3_600_000 / tier.widthMs)
      const tierTotal = perKey * kept
      totalBytes += tierTotal
      rows.push([
        tier.name + (seen ? '' : ' (not written: estimated from 10s)'),
        seen ? `${seen.keys} keys, ${fmt(seen.fields / seen.keys, 0)} fields/key` : '—',
        fmt(perKey / 1024, 1),
        fmt(perSeriesHour, 0),
        `${fmt(kept, 0)} buckets`,
        fmt(tierTotal / 2 ** 20, 1),
      ])
    }
    for (const [tier, t] of byTier) if (!TIERS.some((x) => x.name === tier)) notes.push(`unexpected tier "${tier}": ${t.keys} keys, ${fmt(t.bytes / 1024, 1)} KiB`)
    const measuredKeyBytes = [...byTier.values()].reduce((n, t) => n + t.bytes, 0)
    rows.push(['total at full retention', '', '', '', '', `${fmt(totalBytes / 2 ** 20, 1)} MiB of ${fmt(BUDGET_BYTES / 2 ** 20, 0)} MiB budget (${fmt(totalBytes / BUDGET_BYTES, 3)}×): ${verdict(totalBytes <= BUDGET_BYTES)}`])
    notes.push(
      `used_memory grew ${fmt((after - before) / 2 ** 20, 2)} MiB for ${SIMULATED_BUCKETS} simulated buckets; MEMORY USAGE of the request-bucket keys sums to ${fmt(measuredKeyBytes / 2 ** 20, 2)} MiB`,
      `traffic: ${INSTANCES} instances × ${ROUTES} routes × ${REQUESTS_PER_ROUTE_PER_BUCKET / 10} req/s each (96% 2xx, 3% 4xx, 1% 5xx), lognormal durations (median 20 ms, σ 0.8); instances merge into one key per bucket`,
      'a 1 min / 1 h bucket written from five simulated minutes holds fewer distinct latency buckets than a full one would: those tiers are lower bounds',
    )
    return {
      title: `5. Redis memory per series-hour and at full retention (${INSTANCES} instances × ${ROUTES} routes, measured on ${SIMULATED_BUCKETS} × 10 s buckets)`,
      header: ['tier', 'observed', 'KiB per bucket key', 'bytes per route-series-hour', 'retention', 'MiB at full retention'],
      rows,
      notes,
    }
  } finally {
    Date.now = realNow
    await Promise.all(collectors.map((c) => c.close()))
    await redis.stop()
  }
}
