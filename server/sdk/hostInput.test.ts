/**
 * The SDK is a guest in a plain-JavaScript host (issue #11, finding 1): whatever `recordRequest` is handed, it never
 * throws, never makes a flush reject (a timer calls `void flush()`: a rejection would end the host process), and
 * records what it can truthfully — numeric strings coerced, the rest dropped and counted.
 */
import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { watchUnhandledRejections } from '../testing/unhandledRejections'
import { collector, collectorThroughProxy, connected, freshPrefix, open, seriesOf, until, useTestRedis } from './collectorTesting.test-helpers'
import type { createCollector } from './index'
import type { RedisClient } from './redisTopology'
import { testTopology } from '../testing/redis'

let redis: RedisClient
useTestRedis((r) => (redis = r))

const unhandled = watchUnhandledRejections()

/** What plain-JS hosts were seen passing: a string duration, none at all, nonsense statuses, not even an object. */
const HOSTILE: unknown[] = [
  { method: 'POST', route: '/pay', status: 500, durationMs: '12' }, // recorded as 12 ms (a numeric string)
  { method: 'GET', route: '/slow', status: 200, durationMs: '900' }, // recorded, and slow enough for the request log
  { method: 'GET', route: '/pay', status: 500 }, // no duration: dropped
  { method: 'GET', route: '/pay', status: 'abc', durationMs: 5 }, // no status: dropped
  { method: 'GET', route: '/pay', status: 200, durationMs: -1 }, // negative: dropped
  { method: 'GET', route: '/pay', status: 200, durationMs: Number.POSITIVE_INFINITY }, // dropped
  { method: 42, route: { toString: () => '/x' }, status: 204, durationMs: 3, errorType: 7 }, // recorded as _OTHER (unmatched)
  null,
  'GET /pay 200',
  undefined,
]

function recordAll(c: ReturnType<typeof createCollector>): void {
  for (const r of HOSTILE) c.recordRequest(r as never)
}

describe('hostile input from a plain-JavaScript host', () => {
  it('never throws or rejects, records what it can (numeric strings coerced) and counts the rest', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'js', { flushIntervalMs: 100, slowRequestThresholdMs: 500 })
    await connected(c)
    expect(() => recordAll(c)).not.toThrow()
    await expect(c.flush()).resolves.toBeUndefined()
    await new Promise((r) => setTimeout(r, 300)) // timer flushes run too
    expect(c.stats.droppedInvalidRequests).toBe(7)
    expect(c.stats.flushErrors).toBe(0)
    expect(unhandled).toEqual([])
    await c.close()
    open.splice(open.indexOf(c), 1)
    const series = await seriesOf(redis, prefix)
    expect(series['POST /pay']?.count).toBe(1)
    expect(series['POST /pay']?.errors).toBe(1)
    expect(series['GET /slow']?.count).toBe(1)
    expect(series['_OTHER (unmatched)']?.count).toBe(1)
    const log = await redis.xrange(createKeySpace(prefix).requestLog('shop'), '-', '+')
    const durations = log.map(([, f]) => f[f.indexOf('durationMs') + 1]).sort()
    expect(durations).toEqual(['12.000', '900.000'])
  })

  // Single node only: the outage is a TCP proxy in front of one node (collectorThroughProxy).
  it.skipIf(testTopology() === 'cluster')('recorded while Redis is unreachable, the same input neither throws nor ends the host when Redis returns', async () => {
    const { c, proxy } = await collectorThroughProxy(freshPrefix(), 'js2', { flushIntervalMs: 100 })
    proxy.cut()
    recordAll(c)
    await c.flush()
    proxy.restore()
    const flushes = c.stats.flushes
    await until(() => c.stats.flushes > flushes + 2, 10_000)
    expect(unhandled).toEqual([])
    expect(c.stats.droppedInvalidRequests).toBe(7)
  })
})
