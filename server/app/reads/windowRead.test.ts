import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { TIER_10S, TIER_1M } from '../../../shared/timeBuckets'
import { testRedisUrl } from '../../testing/redis'
import { readEach, windowBuckets } from './windowRead'

const prefix = `w${randomBytes(4).toString('hex')}`
let redis: Redis

beforeAll(() => {
  redis = new Redis(testRedisUrl())
})

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

describe('windowBuckets', () => {
  it('picks the finest tier within maxPoints and lists bucket starts oldest first, the partial one included', () => {
    const w = windowBuckets(1_000_005_000, 60_000, 1000)
    expect(w.tier).toBe(TIER_10S)
    expect(w.starts).toEqual([999_940_000, 999_950_000, 999_960_000, 999_970_000, 999_980_000, 999_990_000, 1_000_000_000])
    expect(windowBuckets(1_000_005_000, 3_600_000, 60).tier).toBe(TIER_1M)
  })

  it('rejects a window that is not positive', () => {
    expect(() => windowBuckets(1_000_000_000, 0, 1000)).toThrow(RangeError)
  })
})

describe('readEach', () => {
  it('returns one reply per item in item order, `absent` standing in for nothing', async () => {
    await redis.hset(`${prefix}:a`, 'f', '1')
    await redis.hset(`${prefix}:c`, 'f', '3')
    const replies = await readEach(redis, ['a', 'b', 'c'], (p, k) => p.hgetall(`${prefix}:${k}`), {} as Record<string, string>)
    expect(replies).toEqual([{ f: '1' }, {}, { f: '3' }])
  })

  it('sends nothing for no items', async () => {
    const pipeline = vi.spyOn(redis, 'pipeline')
    expect(await readEach(redis, [], (p, k: string) => p.get(k), null)).toEqual([])
    expect(pipeline).not.toHaveBeenCalled()
    pipeline.mockRestore()
  })

  it('throws the first failed command’s error', async () => {
    await redis.set(`${prefix}:s`, 'x')
    await expect(readEach(redis, ['a', 's'], (p, k) => p.hgetall(`${prefix}:${k}`), {})).rejects.toThrow(/WRONGTYPE/)
  })
})
