import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../../shared/keys'
import { bucketStart } from '../../../shared/timeBuckets'
import { createCollector } from '../../sdk/index'
import { deletePrefix, openTestRedis, testRedisTarget } from '../../testing/redis'
import type { RedisClient } from '../../sdk/redisTopology'
import { readEndpoints, readRouteSeries, readServiceSeries } from './series'

const prefix = `g${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
let redis: RedisClient
/** Three 10 s buckets, 2 minutes ago: A with traffic, B flushed by an idle instance, C flushed by nobody. */
const A = bucketStart(Date.now() - 120_000, 10_000)
const B = A + 10_000
const C = A + 20_000
const NOW = C + 60_000

beforeAll(async () => {
  redis = openTestRedis()
  let now = A + 1000
  const c = createCollector({ redis: testRedisTarget(), service: 'gaps', instance: 'g1', prefix, flushIntervalMs: 100, clock: () => now })
  // Connected first: a flush before the connection is up keeps its data for later, which this test does not wait for.
  while (c.stats.flushes === 0) {
    await c.flush()
    await new Promise((r) => setTimeout(r, 20))
  }
  for (let i = 0; i < 50; i++) c.recordRequest({ method: 'GET', route: '/a', status: i < 5 ? 500 : 200, durationMs: 10 + i })
  await c.flush()
  now = B + 5000
  await c.flush()
  now = C + 40_000 // past C, after a pause longer than the back-fill limit: C stays a gap
  await c.close()
}, 30_000)

afterAll(async () => {
  await deletePrefix(redis, prefix)
  await redis.quit()
})

describe('gaps are not zeros', () => {
  it('a bucket with traffic has figures, one an idle instance flushed reads 0 req/s, one nobody flushed is a gap', async () => {
    const s = await readServiceSeries(redis, keys, 'gaps', NOW, { windowMs: 90_000, untilMs: C + 10_000 })
    const at = (t: number) => s.points.find((p) => p.t === t)
    expect(at(A)).toMatchObject({ noData: false, throughputRps: 5, errorRate: 0.1 })
    expect(at(A)?.p99Ms).not.toBeNull()
    expect(at(B)).toMatchObject({ noData: false, throughputRps: 0, errorRate: null, p50Ms: null, p999Ms: null })
    expect(at(C)).toMatchObject({ noData: true, throughputRps: null, errorRate: null, p50Ms: null })
    // Covered: A and B (20 s) but not C: 50 requests over 20 s.
    expect(s.total).toMatchObject({ requests: 50, errors: 5, coveredMs: 20_000, throughputRps: 2.5, errorRate: 0.1, dataSinceMs: A })
  })

  it('a route divides by the service’s covered span, so its figures match the endpoints row', async () => {
    const q = { windowMs: 90_000, untilMs: C + 10_000 }
    const route = await readRouteSeries(redis, keys, 'gaps', 'GET', '/a', NOW, q)
    const table = await readEndpoints(redis, keys, { service: 'gaps', ...q, sortBy: 'requests', descending: true, offset: 0, limit: 10 }, NOW)
    expect(route.total).toMatchObject({ requests: 50, throughputRps: 2.5, coveredMs: 20_000 })
    expect(table.rows[0]).toMatchObject({ route: '/a', requests: 50, throughputRps: 2.5, errorRate: 0.1, p99Ms: route.total.p99Ms, p999Ms: route.total.p999Ms })
    expect(table).toMatchObject({ coveredMs: 20_000, dataSinceMs: A })
  })

  it('a window with no data at all has no throughput, not 0', async () => {
    const s = await readServiceSeries(redis, keys, 'nobody', NOW, { windowMs: 60_000 })
    expect(s.total).toMatchObject({ requests: 0, throughputRps: null, errorRate: null, coveredMs: 0, dataSinceMs: null })
    expect(s.points.every((p) => p.noData)).toBe(true)
  })
})
