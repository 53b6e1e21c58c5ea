import { describe, expect, it } from 'vitest'
import { SETTLED_AFTER_MS, SettledBucketCache } from './bucketCache'

describe('SettledBucketCache', () => {
  it('counts a bucket as settled only a minute after its end', () => {
    expect(SettledBucketCache.isSettled(0, 10_000, 10_000 + SETTLED_AFTER_MS - 1)).toBe(false)
    expect(SettledBucketCache.isSettled(0, 10_000, 10_000 + SETTLED_AFTER_MS)).toBe(true)
  })

  it('evicts the least recently used entry beyond its bound', () => {
    const c = new SettledBucketCache(2, 60_000)
    c.set('a', [1], 0)
    c.set('b', [2], 0)
    expect(c.get('a', 1)).toEqual([1]) // a is now most recent
    c.set('c', [3], 2)
    expect([c.get('a', 3), c.get('b', 3), c.get('c', 3)]).toEqual([[1], undefined, [3]])
    expect(c.size).toBe(2)
  })

  it('forgets an entry older than its TTL, so late data after an outage is re-read', () => {
    const c = new SettledBucketCache(10, 1000)
    c.set('k', [1], 0)
    expect(c.get('k', 1000)).toEqual([1])
    expect(c.get('k', 1001)).toBeUndefined()
    expect(c.size).toBe(0)
  })
})
