import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { createCollectorStats } from './collectorStats'
import { useTestRedis, collector, connected, freshPrefix } from './collectorTesting.test-helpers'
import { MAX_PENDING_REQUEST_LOG, RequestLogSampler } from './requestLogSampler'
import type { RedisClient } from './redisTopology'

const T0 = 1_700_000_000_000

let redis: RedisClient
useTestRedis((r) => (redis = r))

function sampler(perFlush: number, slowRequestThresholdMs = 500) {
  const stats = createCollectorStats()
  return { stats, s: new RequestLogSampler({ instance: 'i1', slowRequestThresholdMs, perFlush, stats }) }
}

describe('RequestLogSampler', () => {
  it('keeps slow and failed requests with the instance and error type, and skips fast successful ones', () => {
    const { s } = sampler(10, 200)
    s.offer({ method: 'GET', route: '/fast', status: 200, durationMs: 5 }, 'GET', false, T0)
    s.offer({ method: 'GET', route: '/slow', status: 200, durationMs: 200 }, 'GET', false, T0 + 1)
    s.offer({ method: 'POST', route: '/pay', status: 502, durationMs: 30 }, 'POST', true, T0 + 2)
    s.offer({ method: 'POST', route: '/boom', status: 200, durationMs: 1, errorType: 'TypeError' }, 'POST', true, T0 + 3)
    expect(s.take()).toEqual([
      { atMs: T0 + 1, method: 'GET', route: '/slow', status: 200, durationMs: 200, instance: 'i1', errorType: '', kind: 'slow' },
      { atMs: T0 + 2, method: 'POST', route: '/pay', status: 502, durationMs: 30, instance: 'i1', errorType: '502', kind: 'error' },
      { atMs: T0 + 3, method: 'POST', route: '/boom', status: 200, durationMs: 1, instance: 'i1', errorType: 'TypeError', kind: 'error' },
    ])
    expect(s.take()).toEqual([])
  })

  it('keeps at most perFlush entries per interval and counts every one left out', () => {
    const { s, stats } = sampler(5)
    for (let i = 0; i < 100; i++) s.offer({ method: 'GET', route: `/r${i}`, status: 503, durationMs: 1 }, 'GET', true, T0 + i)
    expect(s.take()).toHaveLength(5)
    expect(stats.sampledOutRequestLogEntries).toBe(95)
    // A new interval samples afresh.
    s.offer({ method: 'GET', route: '/next', status: 503, durationMs: 1 }, 'GET', true, T0)
    expect(s.take().map((e) => e.route)).toEqual(['/next'])
  })

  it('puts back a failed flush in front of newer entries, dropping and counting the oldest beyond the cap', () => {
    const { s, stats } = sampler(MAX_PENDING_REQUEST_LOG)
    const fail = (route: string) => s.offer({ method: 'GET', route, status: 500, durationMs: 1 }, 'GET', true, T0)
    fail('/old')
    const taken = s.take()
    fail('/new')
    s.requeue(taken)
    expect(s.take().map((e) => e.route)).toEqual(['/old', '/new'])

    for (let i = 0; i < MAX_PENDING_REQUEST_LOG; i++) fail(`/a${i}`)
    const full = s.take()
    for (let i = 0; i < 10; i++) fail(`/b${i}`)
    s.requeue(full)
    const kept = s.take()
    expect(kept).toHaveLength(MAX_PENDING_REQUEST_LOG)
    expect(kept[0]?.route).toBe('/a10')
    expect(kept.at(-1)?.route).toBe('/b9')
    expect(stats.droppedRequestLogEntries).toBe(10)
  })
})

describe('sampled request log', () => {
  it('writes slow and failed requests, with route, status, duration, instance and error type, and skips the rest', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1', { slowRequestThresholdMs: 200 })
    await connected(c)
    c.recordRequest({ method: 'GET', route: '/fast', status: 200, durationMs: 5 })
    c.recordRequest({ method: 'GET', route: '/slow', status: 200, durationMs: 250 })
    c.recordRequest({ method: 'POST', route: '/pay', status: 502, durationMs: 30, errorType: 'ECONNRESET' })
    await c.flush()
    const entries = (await redis.xrange(keys.requestLog('shop'), '-', '+')).map(([, f]) => Object.fromEntries(f.reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1]!.push(v) : acc.push([v]), acc), [])))
    expect(entries).toEqual([
      expect.objectContaining({ route: '/slow', status: '200', kind: 'slow', instance: 'i1', errorType: '' }),
      expect.objectContaining({ route: '/pay', method: 'POST', status: '502', kind: 'error', errorType: 'ECONNRESET' }),
    ])
  })

  it('keeps a uniform sample of at most requestLogPerFlush entries per flush and counts the rest', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'i1', { requestLogPerFlush: 20 })
    await connected(c)
    for (let i = 0; i < 1000; i++) c.recordRequest({ method: 'GET', route: `/r${i % 10}`, status: 503, durationMs: 1 })
    await c.flush()
    const entries = await redis.xrange(keys.requestLog('shop'), '-', '+')
    expect(entries).toHaveLength(20)
    expect(c.stats.sampledOutRequestLogEntries).toBe(980)
    // Uniform over the interval, not just the first 20 requests (which all had routes /r0…/r9 in order).
    const routes = new Set(entries.map(([, f]) => f[f.indexOf('route') + 1]))
    expect(routes.size).toBeGreaterThan(3)
  })
})
