import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedRedis } from '../bootstrap/redis.mjs'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { openTestRedis, scanKeys } from '../testing/redis'
import type { RedisClient } from './redisTopology'
import { FuseboxCache, type CacheOptions } from './cache'
import type { CacheEventKind } from '../../shared/vocabulary'

const SERVICE = 'shop'
let redis: RedisClient

beforeAll(async () => {
  redis = openTestRedis()
  await redis.ping() // connected before the first test: a cache on a connection that is not ready fails fast (a miss)
})
afterAll(async () => {
  await redis.quit()
})

interface Harness<T> {
  cache: FuseboxCache<T>
  keys: KeySpace
  counts: Record<CacheEventKind, number>
  errors: Error[]
}

/** A cache in a fresh key namespace, with a `record` spy summing counts per kind and an `onError` spy. */
function harness<T>(options: Partial<CacheOptions> = {}, client: RedisClient = redis): Harness<T> {
  const keys = createKeySpace(`t${randomBytes(4).toString('hex')}`)
  const counts: Record<CacheEventKind, number> = { hits: 0, misses: 0, sets: 0, invalidations: 0 }
  const errors: Error[] = []
  const cache = new FuseboxCache<T>('catalog', { ttlSeconds: 60, ...options }, {
    redis: client,
    keys,
    service: SERVICE,
    record: (kind, n = 1) => {
      counts[kind] += n
    },
    onError: (e) => errors.push(e),
  })
  return { cache, keys, counts, errors }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(10)
  }
}

describe('cache-aside reads', () => {
  it('misses and loads the first time, then serves the stored value as a hit without loading', async () => {
    const { cache, counts, keys } = harness<{ id: number; name: string }>()
    let loads = 0
    const load = async () => {
      loads++
      return { id: 1, name: 'lamp' }
    }
    expect(await cache.getOrSet('product:1', load)).toEqual({ id: 1, name: 'lamp' })
    // The value is returned before it is stored; wait until it landed.
    await until(() => counts.sets === 1)
    expect(await cache.getOrSet('product:1', load)).toEqual({ id: 1, name: 'lamp' })
    expect(loads).toBe(1)
    expect(counts).toEqual({ hits: 1, misses: 1, sets: 1, invalidations: 0 })
    expect(await redis.get(keys.cacheValue(SERVICE, 'catalog', 'product:1'))).toBe('{"id":1,"name":"lamp"}')
    expect(await redis.ttl(keys.cacheValue(SERVICE, 'catalog', 'product:1'))).toBeGreaterThan(55)
  })

  it('registers its name in the service caches set on first use', async () => {
    const { cache, keys } = harness<number>()
    await cache.get('x')
    await until(async () => (await redis.smembers(keys.caches(SERVICE))).includes('catalog'))
  })

  it('get answers undefined on a miss and the value after set, counting both', async () => {
    const { cache, counts } = harness<string[]>()
    expect(await cache.get('k')).toBeUndefined()
    await cache.set('k', ['a', 'b'])
    expect(await cache.get('k')).toEqual(['a', 'b'])
    expect(counts).toEqual({ hits: 1, misses: 1, sets: 1, invalidations: 0 })
  })

  it('does not cache an undefined load result', async () => {
    const { cache, counts } = harness<string | undefined>()
    let loads = 0
    const load = async () => {
      loads++
      return undefined
    }
    expect(await cache.getOrSet('nothing', load)).toBeUndefined()
    expect(await cache.getOrSet('nothing', load)).toBeUndefined()
    expect(loads).toBe(2)
    expect(counts.sets).toBe(0)
  })

  it('counts a corrupt cached value as a miss, loads, and overwrites it', async () => {
    const { cache, counts, keys, errors } = harness<{ v: number }>()
    const valueKey = keys.cacheValue(SERVICE, 'catalog', 'bad')
    await redis.set(valueKey, '{not json', 'EX', 60)
    expect(await cache.getOrSet('bad', async () => ({ v: 2 }))).toEqual({ v: 2 })
    expect(counts.misses).toBe(1)
    expect(counts.hits).toBe(0)
    expect(errors.map((e) => e.message).join()).toMatch(/corrupt/)
    await until(async () => (await redis.get(valueKey)) === '{"v":2}')
  })
})

describe('single-flight', () => {
  it('shares one load among 10 concurrent callers for the same key, and all get its value', async () => {
    const { cache, counts } = harness<string>()
    let loads = 0
    const load = async () => {
      loads++
      await sleep(50)
      return 'shared'
    }
    const values = await Promise.all(Array.from({ length: 10 }, () => cache.getOrSet('hot', load)))
    expect(values).toEqual(Array(10).fill('shared'))
    expect(loads).toBe(1)
    expect(counts.misses).toBe(10)
    await until(() => counts.sets === 1)
  })

  it('shares a load rejection with every waiting caller and caches nothing', async () => {
    const { cache, counts, keys } = harness<string>()
    let loads = 0
    const load = async () => {
      loads++
      await sleep(30)
      throw new Error('inventory down')
    }
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => cache.getOrSet('p', load)))
    expect(loads).toBe(1)
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toHaveProperty('message', 'inventory down')
    }
    expect(await redis.exists(keys.cacheValue(SERVICE, 'catalog', 'p'))).toBe(0)
    // The failed flight is forgotten: the next call loads again.
    expect(await cache.getOrSet('p', async () => 'back')).toBe('back')
    expect(counts.sets).toBeLessThanOrEqual(1)
  })

  it('does not store a load that was in flight when its tag was invalidated', async () => {
    const { cache, counts, keys } = harness<string>()
    const pending = cache.getOrSet('p:1', async () => {
      await sleep(50)
      return 'old price'
    }, { tags: ['product:1'] })
    await sleep(10)
    await cache.invalidateTag('product:1')
    expect(await pending).toBe('old price')
    await sleep(50)
    expect(counts.sets).toBe(0)
    expect(await redis.exists(keys.cacheValue(SERVICE, 'catalog', 'p:1'))).toBe(0)
  })
})

describe('expiry', () => {
  it('honours a 1 s TTL: after 1.2 s the entry is a miss again', async () => {
    const { cache, counts } = harness<number>()
    await cache.set('short', 42, { ttlSeconds: 1 })
    expect(await cache.get('short')).toBe(42)
    await sleep(1200)
    expect(await cache.getOrSet('short', async () => 43)).toBe(43)
    expect(counts.hits).toBe(1)
    expect(counts.misses).toBe(1)
  })

  it('keeps a tag set alive at least as long as the longest-lived entry it lists', async () => {
    const { cache, keys } = harness<number>()
    await cache.set('long', 1, { tags: ['t'], ttlSeconds: 600 })
    await cache.set('short', 2, { tags: ['t'], ttlSeconds: 5 })
    expect(await redis.ttl(keys.cacheTag(SERVICE, 'catalog', 't'))).toBeGreaterThan(590)
  })
})

describe('invalidation', () => {
  it('invalidateTag removes exactly the entries carrying the tag and returns how many', async () => {
    const { cache, counts, keys } = harness<number>()
    await cache.set('product:1', 1, { tags: ['catalog', 'product:1'] })
    await cache.set('product:2', 2, { tags: ['catalog', 'product:2'] })
    await cache.set('cart:9', 9, { tags: ['cart'] })
    expect(await cache.invalidateTag('product:1')).toBe(1)
    expect(await cache.get('product:1')).toBeUndefined()
    expect(await cache.get('product:2')).toBe(2)
    expect(await cache.invalidateTag('catalog')).toBe(1)
    expect(await cache.get('product:2')).toBeUndefined()
    expect(await cache.get('cart:9')).toBe(9)
    expect(counts.invalidations).toBe(2)
    expect(await redis.exists(keys.cacheTag(SERVICE, 'catalog', 'catalog'), keys.cacheTag(SERVICE, 'catalog', 'product:1'))).toBe(0)
    expect(await cache.invalidateTag('never-used')).toBe(0)
  })

  it('invalidateTag walks a tag set larger than one scan batch', async () => {
    const { cache, counts, keys } = harness<number>()
    const n = 1234
    for (let i = 0; i < n; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => cache.set(`k${i + j}`, i + j, { tags: ['big'] })))
    }
    await cache.set('other', 0, { tags: ['small'] })
    expect(await cache.invalidateTag('big')).toBe(n)
    expect(counts.invalidations).toBe(n)
    expect(await cache.get('k7')).toBeUndefined()
    expect(await cache.get('other')).toBe(0)
    expect(await redis.exists(keys.cacheTag(SERVICE, 'catalog', 'big'))).toBe(0)
  })

  it('delete removes one entry and counts an invalidation only when something was removed', async () => {
    const { cache, counts } = harness<string>()
    await cache.set('a', 'x')
    await cache.delete('a')
    expect(await cache.get('a')).toBeUndefined()
    await cache.delete('a')
    expect(counts.invalidations).toBe(1)
  })
})

describe('guest rules', () => {
  it('with Redis unreachable, getOrSet still returns the loaded value, never throws, and reports to onError', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    })
    dead.on('error', () => {})
    try {
      const { cache, errors } = harness<string>({}, dead)
      expect(await cache.getOrSet('k', async () => 'fresh', { tags: ['t'] })).toBe('fresh')
      expect(await cache.getOrSet('k', async () => 'fresh again')).toBe('fresh again')
      expect(await cache.get('k')).toBeUndefined()
      await expect(cache.set('k', 'v', { tags: ['t'] })).resolves.toBeUndefined()
      await expect(cache.delete('k')).resolves.toBeUndefined()
      expect(await cache.invalidateTag('t')).toBe(0)
      await sleep(20)
      expect(errors.length).toBeGreaterThan(0)
    } finally {
      dead.disconnect()
    }
  })

  it('with a connected Redis that stops answering, getOrSet returns within opTimeoutMs plus the load time', async () => {
    // A dedicated redis-server, so pausing it cannot slow other test files down.
    const dir = await mkdtemp(join(tmpdir(), 'fusebox-cache-'))
    const own = await startEmbeddedRedis({ dir })
    const hanging = new Redis(own.url)
    hanging.on('error', () => {})
    const admin = new Redis(own.url)
    try {
      await hanging.ping()
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL') // connected, then every command hangs
      const { cache, errors } = harness<string>({ opTimeoutMs: 200 }, hanging)
      const started = performance.now()
      const value = await cache.getOrSet('k', async () => {
        await sleep(100)
        return 'loaded'
      })
      const elapsedMs = performance.now() - started
      expect(value).toBe('loaded')
      expect(elapsedMs).toBeGreaterThanOrEqual(290)
      expect(elapsedMs).toBeLessThan(200 + 100 + 150)
      await until(() => errors.some((e) => /timed out after 200 ms/.test(e.message)))
    } finally {
      hanging.disconnect()
      admin.disconnect()
      await own.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('with a Redis that is not connected, getOrSet loads at once without queueing commands', async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((s) => {
      sockets.add(s)
      s.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    // The handshake never completes, so the client never becomes ready.
    const connecting = new Redis({ port: (silent.address() as AddressInfo).port, host: '127.0.0.1' })
    connecting.on('error', () => {})
    try {
      await until(() => sockets.size === 1)
      const { cache } = harness<string>({ opTimeoutMs: 200 }, connecting)
      const started = performance.now()
      expect(await cache.getOrSet('k', async () => 'loaded')).toBe('loaded')
      expect(performance.now() - started).toBeLessThan(100)
      // ioredis keeps queued commands in a private list; nothing of ours may be waiting there.
      expect((connecting as unknown as { offlineQueue: { length: number } }).offlineQueue.length).toBe(0)
    } finally {
      connecting.disconnect()
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('rejects an empty, overlong or control-character key or tag with a TypeError, never a Redis call', async () => {
    const { cache } = harness<number>({ maxKeyLength: 16 })
    await expect(cache.get('')).rejects.toThrow(TypeError)
    await expect(cache.get('x'.repeat(17))).rejects.toThrow(/at most 16/)
    await expect(cache.set('ok', 1, { tags: ['bad\u0000tag'] })).rejects.toThrow(TypeError)
    await expect(cache.invalidateTag('')).rejects.toThrow(TypeError)
    await expect(cache.delete(42 as unknown as string)).rejects.toThrow(TypeError)
    await expect(cache.set('ok', 1, { ttlSeconds: 0 })).rejects.toThrow(TypeError)
    expect(() => harness({ ttlSeconds: 31 * 24 * 3600 })).toThrow(TypeError)
  })

  it('getOrSet serves a key or tag it cannot store (an id from a URL: %0A, %09, %7F, or 600 characters) from the loader, uncached and counted, never failing the caller', async () => {
    const { cache, keys, counts } = harness<string>({ maxKeyLength: 512 })
    let uncacheable = 0
    const c2 = new FuseboxCache<string>('catalog', { ttlSeconds: 60 }, {
      redis,
      keys,
      service: SERVICE,
      record: (kind, n = 1) => void (counts[kind] += n),
      onError: () => {},
      onUncacheable: () => void uncacheable++,
    })
    for (const key of ['product:a\nb', 'product:a\tb', 'product:a\u007fb', `product:${'x'.repeat(600)}`, '']) {
      expect(await c2.getOrSet(key, async () => 'loaded')).toBe('loaded')
    }
    expect(await c2.getOrSet('product:1', async () => 'tagged', { tags: ['bad\ntag'] })).toBe('tagged')
    expect(uncacheable).toBe(6)
    expect(counts.misses).toBe(6)
    expect(counts.sets).toBe(0)
    expect(await scanKeys(redis, `${keys.prefix}:*`)).toEqual([])
    // A programming error still fails loudly.
    await expect(cache.getOrSet('ok', 'not a function' as unknown as () => Promise<string>)).rejects.toThrow(TypeError)
  })
})
