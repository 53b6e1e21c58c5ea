/**
 * Topic 5 — Redis bytes per series-hour and the memory budget (docs/PRODUCT.md "Storage in Redis": 20 instances × 200 routes at steady
 * traffic fit in ≤ 512 MB with the default retention: 10 s kept 1 h, 1 min kept 24 h, 1 h kept 30 d).
 *
 * Stored values are folded across instances when a bucket closes (docs/decisions/006), so a closed bucket's size
 * depends on the merged histograms, not on the number of instances. The benchmark therefore has two phases:
 * - A: 20 real collectors, 3 simulated 10 s buckets — checks that every closed bucket ends with one field per series
 *   (instances folded), and measures those buckets;
 * - B: one collector carrying the whole fleet's traffic (20 × 1 req/s per route) for a full simulated hour, then
 *   closing — measures `MEMORY USAGE` of the *closed* buckets of each tier and multiplies by the buckets retained.
 * Open buckets (one per tier, with one own field per instance until they close) are added at the 20-instance size.
 *
 * Time is simulated by replacing `Date.now` while recording and flushing (the SDK reads the clock there).
 */
import type { Redis } from 'ioredis'
import { createCollector, type Collector } from '../server/sdk/index'
import { startBenchRedis } from './redis'
import { lognormalMs, seededRandom } from './samples'
import { fmt } from './stats'
import { verdict, type Table } from './table'

const INSTANCES = 20
const ROUTES = 200
const BUCKET_MS = 10_000
/** Steady traffic: 1 req/s per route per instance. */
const REQUESTS_PER_ROUTE_PER_INSTANCE_PER_BUCKET = 10
const BUDGET_BYTES = 512 * 2 ** 20
const HOUR_BUCKETS = 360

/** Target retention per tier: buckets kept = retention ÷ width; buckets per hour = 3,600,000 ÷ width. */
const TIERS = [
  { name: '10s', widthMs: 10_000, retentionMs: 65 * 60_000 }, // shared/timeBuckets.ts: 1 h + 5 min for paused views
  { name: '1m', widthMs: 60_000, retentionMs: 24 * 3_600_000 },
  { name: '1h', widthMs: 3_600_000, retentionMs: 30 * 24 * 3_600_000 },
] as const

/** Status of one simulated request: 96% 2xx, 3% 4xx, 1% 5xx. */
function statusOf(random: () => number): number {
  const x = random()
  return x < 0.96 ? 200 : x < 0.99 ? 404 : 503
}


interface TierSize {
  keys: number
  bytes: number
  fields: number
}

/**
 * MEMORY USAGE of the request-bucket keys of `service` (per-route `req` hashes plus the per-bucket service totals
 * `tot`), by tier; `keys` and `fields` count the per-route hashes. `closedBefore` keeps only closed buckets.
 */
async function measure(admin: Redis, service: string, closedBefore: number): Promise<Map<string, TierSize>> {
  const byTier = new Map<string, TierSize>()
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `fbstore:{${service}}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const m = /:(req|tot):([^:]+):(\d+)$/.exec(key)
      const tier = TIERS.find((t) => t.name === m?.[2])
      if (!m || !tier || Number(m[3]) + tier.widthMs > closedBefore) continue
      const t = byTier.get(tier.name) ?? { keys: 0, bytes: 0, fields: 0 }
      t.bytes += Number(await admin.memory('USAGE', key, 'SAMPLES', '0'))
      if (m[1] === 'req') {
        t.keys++
        t.fields += await admin.hlen(key)
      }
      byTier.set(tier.name, t)
    }
  } while (cursor !== '0')
  return byTier
}

async function connected(c: Collector): Promise<void> {
  const deadline = Date.now() + 10_000
  while (c.stats.flushes === 0 && Date.now() < deadline) {
    await c.flush()
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Runs the storage benchmark (see module comment); starts and removes its own redis-server. */
export async function benchStorage(): Promise<Table> {
  const redis = await startBenchRedis()
  const realNow = Date.now
  const notes: string[] = []
  const random = seededRandom(5)
  const opts = { redis: redis.url, prefix: 'fbstore', flushIntervalMs: 60_000, maxSeries: 5000 }
  const fleet: Collector[] = []
  let single: Collector | null = null
  try {
    // Phase A: 20 instances, 3 buckets, then 30 s later (all 10 s buckets closed) flushes until folded.
    for (let i = 0; i < INSTANCES; i++) fleet.push(createCollector({ ...opts, service: 'fleet', instance: `i${i}` }))
    for (const c of fleet) await connected(c)
    const a0 = Math.ceil(realNow() / 3_600_000) * 3_600_000
    let now = a0
    Date.now = () => now
    for (let b = 0; b < 3; b++) {
      now = a0 + b * BUCKET_MS + 5000
      for (const c of fleet) {
        for (let r = 0; r < ROUTES; r++) {
          for (let k = 0; k < REQUESTS_PER_ROUTE_PER_INSTANCE_PER_BUCKET; k++) {
            c.recordRequest({ method: 'GET', route: `/api/v1/r${r}/:id`, status: statusOf(random), durationMs: lognormalMs(random, 20, 0.8) })
          }
        }
        await c.flush()
      }
    }
    now = a0 + 6 * BUCKET_MS
    for (let f = 0; f < 12; f++) for (const c of fleet) await c.flush()
    const fleetSizes = await measure(redis.admin, 'fleet', a0 + 3 * BUCKET_MS)
    const folded = fleetSizes.get('10s')

    // Phase B: the fleet's combined traffic through one collector for a simulated hour, then closing.
    single = createCollector({ ...opts, service: 'hour', instance: 'all' })
    Date.now = realNow
    await connected(single)
    const b0 = a0 + 2 * 3_600_000
    Date.now = () => now
    const perBucket = INSTANCES * REQUESTS_PER_ROUTE_PER_INSTANCE_PER_BUCKET
    for (let b = 0; b < HOUR_BUCKETS; b++) {
      now = b0 + b * BUCKET_MS + 5000
      for (let r = 0; r < ROUTES; r++) {
        const route = `/api/v1/r${r}/:id`
        for (let k = 0; k < perBucket; k++) {
          single.recordRequest({ method: 'GET', route, status: statusOf(random), durationMs: lognormalMs(random, 20, 0.8) })
        }
      }
      await single.flush()
    }
    now = b0 + 3_600_000 + 10_000 // every bucket of the hour has closed
    for (let f = 0; f < 40; f++) await single.flush()
    Date.now = realNow
    const hourSizes = await measure(redis.admin, 'hour', b0 + 3_600_000)
    const flushErrors = [...fleet, single].reduce((n, c) => n + c.stats.flushErrors, 0)
    if (flushErrors > 0) notes.push(`${flushErrors} flush errors during the run: figures are incomplete`)

    const rows: string[][] = []
    let totalBytes = 0
    for (const tier of TIERS) {
      const seen = hourSizes.get(tier.name)
      const perKey = seen ? seen.bytes / seen.keys : Number.NaN
      const kept = tier.retentionMs / tier.widthMs
      const perSeriesHour = (perKey / ROUTES) * (3_600_000 / tier.widthMs)
      const tierTotal = perKey * kept
      totalBytes += tierTotal
      rows.push([
        tier.name,
        seen ? `${seen.keys} closed keys, ${fmt(seen.fields / seen.keys, 0)} fields/key` : 'none',
        fmt(perKey / 1024, 1),
        fmt(perSeriesHour, 0),
        `${fmt(kept, 0)} buckets`,
        fmt(tierTotal / 2 ** 20, 1),
      ])
    }
    // One open bucket per tier holds one own field per instance per series until it closes.
    const openBytes = TIERS.reduce((n, t) => {
      const s = hourSizes.get(t.name)
      return n + (s ? (s.bytes / s.keys) * INSTANCES : 0)
    }, 0)
    totalBytes += openBytes
    rows.push(['open buckets (1 per tier, 20 own fields per series)', '', '', '', '', fmt(openBytes / 2 ** 20, 1)])
    rows.push(['total at full retention', '', '', '', '', `${fmt(totalBytes / 2 ** 20, 1)} MiB of ${fmt(BUDGET_BYTES / 2 ** 20, 0)} MiB budget (${fmt(totalBytes / BUDGET_BYTES, 3)}×): ${verdict(totalBytes <= BUDGET_BYTES && folded !== undefined && folded.fields === folded.keys * ROUTES)}`])
    notes.push(
      `phase A (${INSTANCES} collectors): closed 10 s buckets hold ${folded ? fmt(folded.fields / folded.keys, 0) : '?'} fields per key for ${ROUTES} routes — ${folded && folded.fields === folded.keys * ROUTES ? 'every instance folded into one field per series' : 'NOT fully folded'}; ${folded ? fmt(folded.bytes / folded.keys / 1024, 1) : '?'} KiB per key`,
      'bytes per bucket include the service-total hash of the bucket (tot, read by the service-level views)',
      `phase B: one collector with the fleet's traffic (${INSTANCES} × ${ROUTES} routes × 1 req/s, 96% 2xx, 3% 4xx, 1% 5xx, lognormal median 20 ms σ 0.8) for ${HOUR_BUCKETS} simulated 10 s buckets; sizes are of closed, folded buckets`,
      'open-bucket overhead is a worst case: every instance\u2019s own field at full size, in every tier at once',
    )
    return {
      title: `5. Redis memory per series-hour and at full retention (${INSTANCES} instances × ${ROUTES} routes, one simulated hour)`,
      header: ['tier', 'observed', 'KiB per bucket key', 'bytes per route-series-hour', 'retention', 'MiB at full retention'],
      rows,
      notes,
    }
  } finally {
    Date.now = realNow
    await Promise.all([...fleet, ...(single ? [single] : [])].map((c) => c.close()))
    await redis.stop()
  }
}
