import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { TIER_10S, TIER_1H, TIER_1M } from '../../../shared/timeBuckets'
import { deletePrefix, openTestRedis } from '../../testing/redis'
import type { RedisClient } from '../../sdk/redisTopology'
import { redisInvalidValues } from './redisInput'
import { chartedBucketCount, readEach, windowBuckets } from './windowRead'

const prefix = `w${randomBytes(4).toString('hex')}`
let redis: RedisClient

beforeAll(() => {
  redis = openTestRedis()
})

afterAll(async () => {
  await deletePrefix(redis, prefix)
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

describe('chartedBucketCount', () => {
  const at = (nowMs: number, windowMs: number, maxPoints = 1000) => {
    const w = windowBuckets(nowMs, windowMs, maxPoints)
    return { w, charted: chartedBucketCount(w, nowMs) }
  }

  it('leaves out the open 10 s bucket (a second or two of flushes would chart as a dip to zero)', () => {
    for (const into of [0, 1_000, 9_999]) {
      const { w, charted } = at(1_000_000_000 + into, 15 * 60_000)
      expect(w.tier).toBe(TIER_10S)
      expect(charted).toBe(w.starts.length - 1)
    }
  })

  it('charts an open 1 min bucket from 30 s on, an open 1 h bucket from 30 min on', () => {
    const minute = (into: number) => at(1_000_020_000 + into, 6 * 3_600_000) // 1_000_020_000 is a minute start
    expect(minute(0).w.tier).toBe(TIER_1M)
    expect(minute(29_999).charted).toBe(minute(29_999).w.starts.length - 1)
    expect(minute(30_000).charted).toBe(minute(30_000).w.starts.length)
    const hour = (into: number) => at(3_600_000 * 300 + into, 7 * 24 * 3_600_000)
    expect(hour(0).w.tier).toBe(TIER_1H)
    expect(hour(1_799_999).charted).toBe(hour(1_799_999).w.starts.length - 1)
    expect(hour(1_800_000).charted).toBe(hour(1_800_000).w.starts.length)
  })
})

describe('readEach', () => {
  it('returns one reply per item in item order, `absent` standing in for nothing', async () => {
    await redis.hset(`${prefix}:a`, 'f', '1')
    await redis.hset(`${prefix}:c`, 'f', '3')
    const replies = await readEach(redis, [`${prefix}:a`, `${prefix}:b`, `${prefix}:c`], (p, k) => p.hgetall(k), {} as Record<string, string>)
    expect(replies).toEqual([{ f: '1' }, {}, { f: '3' }])
  })

  it('sends nothing for no items', async () => {
    const pipeline = vi.spyOn(redis, 'pipeline')
    expect(await readEach(redis, [], (p, k: string) => p.get(k), null)).toEqual([])
    expect(pipeline).not.toHaveBeenCalled()
    pipeline.mockRestore()
  })

  it('reads a key of the wrong type as `absent` and counts it, the other replies unaffected', async () => {
    await redis.set(`${prefix}:s`, 'x')
    const before = (await redisInvalidValues.get()).values.find((v) => v.labels.kind === 'wrong_type')?.value ?? 0
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(await readEach(redis, [`${prefix}:a`, `${prefix}:s`], (p, k) => p.hgetall(k), {})).toEqual([{ f: '1' }, {}])
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toContain(`${prefix}:s`)
    warn.mockRestore()
    expect((await redisInvalidValues.get()).values.find((v) => v.labels.kind === 'wrong_type')?.value).toBe(before + 1)
  })

  it('throws any other failed command’s error', async () => {
    await expect(readEach(redis, [`${prefix}:a`], (p, k) => p.call('NOSUCHCOMMAND', k), {})).rejects.toThrow(/unknown command/i)
  })
})
