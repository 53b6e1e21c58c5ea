import { afterAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { openTestRedis } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { createOverviewReader } from './readModel'

/** Counts the commands a Redis client sends (MONITOR-free: wraps sendCommand). */
function counting(redis: RedisClient): { redis: RedisClient; commands: () => number } {
  let n = 0
  // A Cluster's commands, its pipelines' included, all pass through Cluster#sendCommand (before routing to a node).
  const target = redis as { sendCommand: (...args: unknown[]) => unknown }
  const send = target.sendCommand.bind(redis)
  target.sendCommand = (...args: unknown[]) => {
    n++
    return send(...args)
  }
  return { redis, commands: () => n }
}

describe('shared overview reader', () => {
  const plain = openTestRedis()
  afterAll(() => plain.quit())

  it('computes once for concurrent calls and for calls within maxAgeMs, and again after it or for another window', async () => {
    const keys = createKeySpace('ov' + Date.now())
    await plain.sadd(keys.services(), 'a', 'b')
    const { redis, commands } = counting(openTestRedis())
    try {
      const read = createOverviewReader(redis, keys, 1000)
      const t0 = 1_800_000_000_000
      const first = await Promise.all(Array.from({ length: 50 }, () => read(t0, 300_000)))
      const perComputation = commands()
      expect(perComputation).toBeGreaterThan(0)
      expect(new Set(first).size).toBe(1) // one snapshot object for all 50
      expect(first[0]!.asOfMs).toBe(t0)
      expect(first[0]!.services.map((s) => s.service).sort()).toEqual(['a', 'b'])

      await read(t0 + 1000, 300_000) // still within maxAgeMs: served again
      expect(commands()).toBe(perComputation)
      // Each computation sends commands (fewer once settled buckets are cached, reads/bucketCache.ts).
      let before = commands()
      const later = await read(t0 + 1001, 300_000) // older than maxAgeMs: computed again
      expect(commands()).toBeGreaterThan(before)
      expect(later.asOfMs).toBe(t0 + 1001)
      before = commands()
      await read(t0 + 1001, 300_000)
      expect(commands()).toBe(before) // and that one is shared in turn
      await read(t0 + 1001, 900_000) // another window: its own computation
      expect(commands()).toBeGreaterThan(before)
      before = commands()
      await read(t0 + 1001, 300_000, t0 - 60_000) // an absolute window is keyed by its end too
      expect(commands()).toBeGreaterThan(before)
    } finally {
      redis.disconnect()
    }
  })

  it('does not keep a failed computation, and with maxAgeMs 0 shares only calls in flight', async () => {
    const keys = createKeySpace('ov0' + Date.now())
    const redis = openTestRedis()
    const read = createOverviewReader(redis, keys, 0)
    await plain.set(keys.services(), 'not a set') // WRONGTYPE on SMEMBERS is read as absent (Redis is an input)
    const a = await read(1000, 300_000)
    expect(a.services).toEqual([])
    await plain.del(keys.services())
    await plain.sadd(keys.services(), 'x')
    const b = await read(1000, 300_000) // same now, but maxAgeMs 0: computed again
    expect(b.services.map((s) => s.service)).toEqual(['x'])
    redis.disconnect()
    const c = read(2000, 300_000)
    await expect(c).rejects.toThrow()
    await expect(read(2000, 300_000)).rejects.toThrow() // not served from a kept failure: tried again, fails again
  })
})
