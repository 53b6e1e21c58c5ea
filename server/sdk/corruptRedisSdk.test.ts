/**
 * Redis is an input for the SDK too (issue #11 finding 4, docs/decisions/014): the collector is a guest in its host,
 * so a desired breaker state or a cached value it cannot use is skipped and counted in
 * `collector.stats.invalidRedisValues`, reported to `onError` (once per key and problem for the periodic breaker
 * reconcile), and never throws out of a timer or into the host's call. Real redis-server, real collectors.
 */
import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { issueBreakerCommand } from '../app/breakerCommands'
import { watchUnhandledRejections } from '../testing/unhandledRejections'
import { collector, connected, freshPrefix, until, useTestRedis } from './collectorTesting.test-helpers'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))
const unhandled = watchUnhandledRejections()

/** A desired state as the command script writes it (every field a string), for every instance, at `generation`. */
const desired = (generation: number | string, overrides: Record<string, string> = {}) => ({
  generation: String(generation), mode: 'FORCED_OPEN', command: 'forceOpen', commandId: '00000000-0000-4000-8000-000000000001',
  issuedAtMs: String(Date.now()), actor: 'op', reason: 'incident', target: '*', ...overrides,
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A connected collector of `shop` (instance i1, fresh prefix) reconciling every 500 ms, with breaker `payments`; its errors' messages in `errors`. */
async function reconcilingCollector() {
  const keys = createKeySpace(freshPrefix())
  const errors: string[] = []
  const c = collector(keys.prefix, 'i1', { reconcileIntervalMs: 500, onError: (e) => errors.push(e.message) })
  const b = c.breaker('payments', async () => 'ok')
  await connected(c)
  return { keys, errors, c, b }
}

describe('desired breaker states the SDK cannot use', () => {
  it('a per-instance desired key of the wrong type does not stop the command for every instance from applying', async () => {
    const { keys, errors, c, b } = await reconcilingCollector()
    await redis.rpush(keys.breakerDesired('shop', 'payments', 'i1'), 'a list where a hash belongs')
    const issued = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'incident', actor: 'op' }, Date.now())
    await until(() => b.appliedGeneration === issued.generation, 3000)
    expect(b.state).toBe('FORCED_OPEN')
    await sleep(1200) // two more periodic reconciles read the same wrong-type key
    expect(c.stats.invalidRedisValues).toBeGreaterThanOrEqual(2)
    // Reported once per key and problem, not on every reconcile.
    expect(errors.filter((m) => m.includes('WRONGTYPE') || m.includes('wrong type'))).toHaveLength(1)
    expect(unhandled).toEqual([])
  })

  it.each([
    ['generation 1e999', desired('1e999')],
    ['generation NaN', desired('NaN')],
    ['generation beyond a safe integer', desired('1e300')],
    ['a 10 MB reason', desired(5, { reason: 'x'.repeat(10 * 1024 * 1024) })],
    ['a 1 MB actor', desired(5, { actor: 'y'.repeat(1024 * 1024) })],
  ])('%s is not applied, counted, reported once; a good command after it applies', async (_name, fields) => {
    const { keys, errors, c, b } = await reconcilingCollector()
    await redis.hset(keys.breakerDesired('shop', 'payments'), fields)
    await until(() => c.stats.invalidRedisValues >= 2, 3000)
    expect(b.appliedGeneration).toBe(0)
    expect(b.state).toBe('CLOSED')
    await expect(b.fire()).resolves.toBe('ok')
    expect(errors.filter((m) => m.includes('desired state'))).toHaveLength(1)
    expect(Math.max(...errors.map((m) => m.length))).toBeLessThan(1000)
    // Once the corrupt record is gone (the command script refuses to issue over a corrupt generation: a 412), the
    // next real command applies.
    await redis.del(keys.breakerDesired('shop', 'payments'))
    const issued = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'fixed', actor: 'op' }, Date.now())
    await until(() => b.appliedGeneration === issued.generation, 3000)
    expect(b.state).toBe('FORCED_OPEN')
    expect(unhandled).toEqual([])
  })
})

describe('cached values the SDK cannot use', () => {
  it.each([
    ['not JSON', (key: string) => redis.set(key, '{"half": ')],
    ['a key of the wrong type', (key: string) => redis.rpush(key, 'a list where a string belongs')],
  ])('%s: a miss that calls the loader, counted, and overwritten by the loaded value', async (_name, corrupt) => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const errors: string[] = []
    const c = collector(prefix, 'i1', { onError: (e) => errors.push(e.message) })
    await connected(c)
    const cache = c.cache<{ id: number }>('users', { ttlSeconds: 60 })
    await corrupt(keys.cacheValue('shop', 'users', 'u1'))
    let loads = 0
    const load = async () => ({ id: ++loads })
    await expect(cache.get('u1')).resolves.toBeUndefined()
    await expect(cache.getOrSet('u1', load)).resolves.toEqual({ id: 1 })
    expect(c.stats.invalidRedisValues).toBe(2)
    expect(errors).toHaveLength(2)
    // The loaded value replaced the corrupt one: the next read is a hit, the loader is not called again.
    await until(async () => (await redis.get(keys.cacheValue('shop', 'users', 'u1'))) !== null)
    await expect(cache.getOrSet('u1', load)).resolves.toEqual({ id: 1 })
    expect(loads).toBe(1)
    expect(c.stats.invalidRedisValues).toBe(2)
    expect(unhandled).toEqual([])
  })
})
