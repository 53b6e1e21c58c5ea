/**
 * A cache-aside cache over Redis for a service instance: `getOrSet`, `get`, `set`, `delete`, `invalidateTag`, with
 * single-flight loads per key within this instance, counted as hits / misses / sets / invalidations into the
 * collector's time series (docs/PRODUCT.md "Caches"). Built by the collector (`collector.cache(name, options)`).
 *
 * Guest rules (docs/PRODUCT.md "Collector SDK"): the cache never makes the host fail because of Redis. Every Redis call is
 * bounded by `opTimeoutMs` (the connection may have no commandTimeout); a Redis failure or timeout is a miss for
 * reads and a reported no-op for writes (`onError`), never a rejection, never an unhandled rejection. Whether a
 * command issued while disconnected fails fast or waits in ioredis' offline queue is the connection's own setting
 * (the collector's connection fails fast); either way the caller waits at most `opTimeoutMs`. The connection is
 * borrowed: never closed, its options never changed, no listeners added.
 * Only programming errors reject: an invalid key, tag, TTL or value is a `TypeError` at the call.
 *
 * Redis layout (shared/keys.ts): the value of key `k` is a STRING `cacheValue(service, cache, k)` holding
 * `JSON.stringify(value)` with an expiry of the entry's TTL; each tag `t` is a SET `cacheTag(service, cache, t)` of the
 * cache keys (not the Redis keys) stored with it, whose expiry is kept ≥ the longest TTL of any entry added to it, so
 * `invalidateTag` finds every live entry. A tag set may hold keys whose value already expired or was re-set without
 * the tag: deleting those is harmless (they count only when a value was really removed). Every key of one service
 * shares its Redis Cluster hash tag, so multi-key commands (the DEL of a batch), the MULTI of `invalidateTag` and
 * the store script stay in one slot; on a Cluster every call goes to the master of the service's slot
 * (docs/decisions/027), the name registration (`SADD caches`) included.
 *
 * Consistency: cache-aside, eventually consistent within the TTL. A load that started before an invalidation on
 * this instance (`delete` of its key, `invalidateTag` of one of its tags) is not stored; a load on another instance
 * that read the old data before the update can still store it after the invalidation (bounded by the TTL).
 */
import type { KeySpace } from '../../shared/keys'
import type { Clock } from '../../shared/timeBuckets'
import { NAME_PATTERN, type CacheEventKind } from '../../shared/vocabulary'
import type { RedisClient } from './redisTopology'
import { withTimeout } from './withTimeout'

/** Options of one cache. */
export interface CacheOptions {
  /** Time to live of an entry in whole seconds, 1 … 2,592,000 (30 days); per-call `ttlSeconds` overrides it. */
  ttlSeconds: number
  /** Longest key or tag, in UTF-16 code units, 1 … 10,000; default 512. */
  maxKeyLength?: number
  /** Bound on each Redis call in ms, 1 … 60,000; default 1000. A slower call counts as a failure. */
  opTimeoutMs?: number
}

/** What the collector lends a cache. */
export interface CacheDeps {
  /** The collector's command connection (ioredis Redis or Cluster). Borrowed: never closed, options never changed. */
  redis: RedisClient
  /** Key builder (shared/keys.ts). */
  keys: KeySpace
  /** Service name, already validated. */
  service: string
  /** Counts `n` (default 1) events of `kind` into the collector's time series for this cache. Must not throw. */
  record: (kind: CacheEventKind, n?: number) => void
  /** Receives every Redis failure, timeout and corrupt value of this cache. Must not throw (it is guarded anyway). */
  onError: (error: Error) => void
  /** Time source, epoch ms (the collector's clock); default `Date.now`. Paces retries of the name registration. */
  clock?: Clock
  /** Told of each `getOrSet` whose key or tags cannot be stored (it served `load()` uncached). Must not throw. */
  onUncacheable?: () => void
  /**
   * Told of each read of a value it cannot use — not JSON, or a key of another type than STRING — which was served
   * as a miss (and reported to `onError`). Must not throw (it is guarded anyway).
   */
  onInvalidValue?: () => void
}

/** Per-call write options: tags to attach (each validated like a key) and a TTL overriding the cache's, in seconds. */
export interface CacheWriteOptions {
  tags?: string[]
  ttlSeconds?: number
}

const MAX_TTL_SECONDS = 30 * 24 * 3600
const DEFAULT_MAX_KEY_LENGTH = 512
const DEFAULT_OP_TIMEOUT_MS = 1000
/** Tags per entry: bounds the store script's arguments. */
const MAX_TAGS = 64
/** SSCAN COUNT hint and the size of one DEL batch in `invalidateTag`. */
const SCAN_BATCH = 500
/** After a failed registration of the cache name, wait this long before trying again (no error flood). */
const ANNOUNCE_RETRY_MS = 10_000
/** C0, DEL and C1 control characters. */
const CONTROL_CHAR = /\p{Cc}/u

/**
 * Stores one entry with its tags atomically, in one round trip, on any Redis version (EXPIRE's NX/GT flags need 7.0):
 * KEYS[1] value key, KEYS[2..] tag sets; ARGV[1] JSON, ARGV[2] TTL in s, ARGV[3] the cache key (tag set member).
 * A tag set's expiry is only ever raised, so it outlives every entry it lists.
 */
const STORE_WITH_TAGS_LUA = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1
`

/** One in-flight load, shared by every concurrent caller for its key on this instance. */
interface Flight<T> {
  promise: Promise<T>
  tags: readonly string[]
  /** Set when the key or one of its tags was invalidated during the load: its result is then not stored. */
  stale: boolean
}

type Read<T> = { hit: true; value: T } | { hit: false }
const MISS = { hit: false } as const

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e))
}

function checkInt(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

/** See the module comment. `T` is the type of the cached values; it must survive a JSON round trip. */
export class FuseboxCache<T> {
  readonly name: string
  readonly ttlSeconds: number
  private readonly maxKeyLength: number
  private readonly opTimeoutMs: number
  private readonly deps: CacheDeps
  /** key → in-flight load; an entry lives exactly until its load settles. Bounded by the host's concurrency. */
  private readonly inflight = new Map<string, Flight<T>>()
  private announced: 'no' | 'pending' | 'yes' = 'no'
  private nextAnnounceAtMs = 0

  /**
   * @param name cache name, 1–64 of `A-Z a-z 0-9 . _ -` (it becomes part of Redis keys)
   * @throws {TypeError} on an invalid name or option
   */
  constructor(name: string, options: CacheOptions, deps: CacheDeps) {
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new TypeError(`cache name must be 1–64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}`)
    }
    this.name = name
    this.ttlSeconds = checkInt('ttlSeconds', options.ttlSeconds, 1, MAX_TTL_SECONDS)
    this.maxKeyLength = checkInt('maxKeyLength', options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH, 1, 10_000)
    this.opTimeoutMs = checkInt('opTimeoutMs', options.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS, 1, 60_000)
    this.deps = deps
  }

  /**
   * The cached value of `key`, or `load()`'s result, cached for `ttlSeconds` with `tags`. A hit counts `hits`; a miss
   * (absent, corrupt JSON, or Redis failing / slower than `opTimeoutMs`) counts `misses` and calls `load` — once per
   * key on this instance however many callers wait for it (single-flight: concurrent callers share the one promise,
   * and the first caller's tags/TTL). The value is returned as soon as `load` resolves; it is stored (`sets`) in the
   * background. An `undefined` or non-JSON-serializable result is returned but not cached (the latter reported).
   * A key or tag the cache cannot store (empty, longer than `maxKeyLength`, control characters — an id taken from a
   * URL, say) does not fail the caller: `load()` is served uncached, counted as a miss and in
   * `collector.stats.uncacheableCacheKeys`.
   * @returns the cached or loaded value
   * @throws {TypeError} when `load` is not a function, or on an invalid TTL (programming errors)
   * @throws whatever `load` rejects with (shared by every waiting caller; nothing is cached). Never a Redis error.
   */
  async getOrSet(key: string, load: () => Promise<T>, opts: CacheWriteOptions = {}): Promise<T> {
    if (typeof load !== 'function') throw new TypeError('load must be a function returning a promise')
    if (!this.storable(key, opts.tags)) {
      this.count('misses')
      try {
        this.deps.onUncacheable?.()
      } catch {
        // a guest swallows its host's hook failing
      }
      return load()
    }
    const valueKey = this.valueKey(key)
    const write = this.writeOptions(opts)
    this.announce()
    const joined = this.inflight.get(key)
    if (joined) {
      this.count('misses')
      return joined.promise
    }
    const cached = await this.read(valueKey)
    if (cached.hit) {
      this.count('hits')
      return cached.value
    }
    this.count('misses')
    // Another caller may have started the load while we waited for GET.
    return (this.inflight.get(key) ?? this.startLoad(key, valueKey, load, write)).promise
  }

  /**
   * The cached value of `key`: counts `hits`, or `misses` when absent, corrupt or Redis fails (reported).
   * @returns the parsed value, or `undefined` on a miss
   * @throws {TypeError} on an invalid key. Never a Redis error.
   */
  async get(key: string): Promise<T | undefined> {
    const valueKey = this.valueKey(key)
    this.announce()
    const cached = await this.read(valueKey)
    this.count(cached.hit ? 'hits' : 'misses')
    return cached.hit ? cached.value : undefined
  }

  /**
   * Stores `value` under `key` for `ttlSeconds` (default the cache's) with `tags`, atomically; counts `sets`.
   * `undefined` is not cached (nothing happens). Resolves once Redis answered; a Redis failure is reported, not thrown.
   * @throws {TypeError} on an invalid key, tag or TTL, or a value `JSON.stringify` rejects (cycle, BigInt)
   */
  async set(key: string, value: T, opts: CacheWriteOptions = {}): Promise<void> {
    const valueKey = this.valueKey(key)
    const write = this.writeOptions(opts)
    const json = this.serialize(value)
    this.announce()
    if (json !== undefined) await this.store(key, valueKey, json, write)
  }

  /**
   * Removes `key`; counts one `invalidations` when a value was really removed. A load of `key` in flight on this
   * instance will not store its result. A Redis failure is reported, not thrown.
   * @throws {TypeError} on an invalid key
   */
  async delete(key: string): Promise<void> {
    const valueKey = this.valueKey(key)
    this.announce()
    const flight = this.inflight.get(key)
    if (flight) flight.stale = true
    try {
      const removed = await this.op('DEL', () => this.deps.redis.del(valueKey))
      if (removed > 0) this.count('invalidations', removed)
    } catch (e) {
      this.reportError(e)
    }
  }

  /**
   * Removes every entry stored with `tag`, and the tag set: SSCAN in batches of 500, each batch one MULTI of DEL of
   * the values and SREM of those members (entries tagged meanwhile stay listed). Loads in flight on this instance
   * carrying `tag` will not store their result. Counts `invalidations` by the number of values removed. On a Redis
   * failure it stops, reports it and resolves with what was removed so far.
   * @returns the number of cached values removed (expired ones are not counted)
   * @throws {TypeError} on an invalid tag
   */
  async invalidateTag(tag: string): Promise<number> {
    this.checkKey('tag', tag)
    this.announce()
    for (const flight of this.inflight.values()) if (flight.tags.includes(tag)) flight.stale = true
    const { redis, keys, service } = this.deps
    const tagKey = keys.cacheTag(service, this.name, tag)
    let removed = 0
    try {
      let cursor = '0'
      do {
        const [next, members] = await this.op('SSCAN', () => redis.sscan(tagKey, cursor, 'COUNT', SCAN_BATCH))
        cursor = next
        if (members.length === 0) continue
        for (const member of members) {
          const flight = this.inflight.get(member)
          if (flight) flight.stale = true
        }
        const valueKeys = members.map((m) => keys.cacheValue(service, this.name, m))
        const results = await this.op('DEL tagged', () => redis.multi().del(...valueKeys).srem(tagKey, ...members).exec())
        if (!results) throw new Error(`cache ${this.name}: invalidateTag transaction was aborted`)
        const [delError, deleted] = results[0] ?? [null, 0]
        if (delError) throw delError
        removed += Number(deleted)
      } while (cursor !== '0')
    } catch (e) {
      this.reportError(e)
    }
    if (removed > 0) this.count('invalidations', removed)
    return removed
  }

  private startLoad(key: string, valueKey: string, load: () => Promise<T>, write: Required<CacheWriteOptions>): Flight<T> {
    const loading = async (): Promise<T> => {
      const value = await load()
      if (!flight.stale) {
        let json: string | undefined
        try {
          json = this.serialize(value)
        } catch (e) {
          this.reportError(e)
        }
        // Not awaited: the host gets its value now; store() never rejects.
        if (json !== undefined) void this.store(key, valueKey, json, write)
      }
      return value
    }
    // `loading` reads `flight` only after its first await, when `flight` is assigned.
    const flight: Flight<T> = { tags: write.tags, stale: false, promise: loading() }
    this.inflight.set(key, flight)
    const forget = () => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key)
    }
    // Both branches: the rejection itself reaches every caller through `flight.promise`, never unhandled here.
    flight.promise.then(forget, forget)
    return flight
  }

  /**
   * GET and parse; a Redis failure or a value it cannot use (not JSON, a key of the wrong type: also told to
   * `onInvalidValue`) is a reported miss — overwritten by the next store of this key (SET replaces any type).
   * Never rejects.
   */
  private async read(valueKey: string): Promise<Read<T>> {
    let raw: string | null
    try {
      raw = await this.op('GET', () => this.deps.redis.get(valueKey))
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('WRONGTYPE')) this.invalidValue()
      this.reportError(e)
      return MISS
    }
    if (raw === null) return MISS
    try {
      return { hit: true, value: JSON.parse(raw) as T }
    } catch {
      this.invalidValue()
      this.reportError(new Error(`cache ${this.name}: corrupt value at ${valueKey} (not JSON), treated as a miss`))
      return MISS
    }
  }

  private invalidValue(): void {
    try {
      this.deps.onInvalidValue?.()
    } catch {
      // a guest swallows its host's hook failing
    }
  }

  /** SET EX, plus tag sets when there are tags (one atomic script); counts `sets`. Never rejects. */
  private async store(key: string, valueKey: string, json: string, write: Required<CacheWriteOptions>): Promise<void> {
    const { redis, keys, service } = this.deps
    const ttl = write.ttlSeconds
    try {
      if (write.tags.length === 0) {
        await this.op('SET', () => redis.set(valueKey, json, 'EX', ttl))
      } else {
        const tagKeys = write.tags.map((t) => keys.cacheTag(service, this.name, t))
        await this.op('SET tagged', () => redis.eval(STORE_WITH_TAGS_LUA, 1 + tagKeys.length, valueKey, ...tagKeys, json, ttl, key))
      }
      this.count('sets')
    } catch (e) {
      this.reportError(e)
    }
  }

  /** Runs one Redis call bounded by `opTimeoutMs` (a late answer or error of the call itself is dropped). */
  private op<R>(what: string, run: () => Promise<R>): Promise<R> {
    // Not connected: fail fast rather than queue into a (possibly borrowed) client's unbounded offline queue.
    if (this.deps.redis.status !== 'ready') return Promise.reject(new Error(`cache ${this.name}: Redis not connected`))
    let p: Promise<R>
    try {
      p = run()
    } catch (e) {
      return Promise.reject(toError(e))
    }
    return withTimeout(p, this.opTimeoutMs, `cache ${this.name}: ${what}`)
  }

  /** Adds the cache name to `caches(service)` once per instance (retried after a failure, at most every 10 s). */
  private announce(): void {
    if (this.announced !== 'no' || this.now() < this.nextAnnounceAtMs) return
    this.announced = 'pending'
    const { redis, keys, service } = this.deps
    this.op('SADD caches', () => redis.sadd(keys.caches(service), this.name)).then(
      () => {
        this.announced = 'yes'
      },
      (e: unknown) => {
        this.announced = 'no'
        this.nextAnnounceAtMs = this.now() + ANNOUNCE_RETRY_MS
        this.reportError(e)
      },
    )
  }

  private now(): number {
    return this.deps.clock?.() ?? Date.now()
  }

  /** @throws {TypeError} when `value` cannot be JSON-serialized; `undefined` (not cached) for `undefined` values */
  private serialize(value: T): string | undefined {
    if (value === undefined) return undefined
    try {
      return JSON.stringify(value)
    } catch (e) {
      throw new TypeError(`cache ${this.name}: value cannot be JSON-serialized: ${toError(e).message}`)
    }
  }

  private valueKey(key: string): string {
    this.checkKey('key', key)
    return this.deps.keys.cacheValue(this.deps.service, this.name, key)
  }

  private writeOptions(opts: CacheWriteOptions): Required<CacheWriteOptions> {
    const ttlSeconds = opts.ttlSeconds === undefined ? this.ttlSeconds : checkInt('ttlSeconds', opts.ttlSeconds, 1, MAX_TTL_SECONDS)
    const tags = opts.tags ?? []
    if (!Array.isArray(tags)) throw new TypeError(`cache ${this.name}: tags must be an array of strings`)
    if (tags.length > MAX_TAGS) throw new TypeError(`cache ${this.name}: at most ${MAX_TAGS} tags per entry, got ${tags.length}`)
    for (const tag of tags) this.checkKey('tag', tag)
    return { ttlSeconds, tags: [...new Set(tags)] }
  }

  /** True when `key` and every tag pass `checkKey` (tags: an array of at most MAX_TAGS); never throws. */
  private storable(key: unknown, tags: unknown): boolean {
    const ok = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= this.maxKeyLength && !CONTROL_CHAR.test(v)
    if (!ok(key)) return false
    return tags === undefined || (Array.isArray(tags) && tags.length <= MAX_TAGS && tags.every(ok))
  }

  /** @throws {TypeError} unless `value` is a non-empty string of at most `maxKeyLength` without control characters */
  private checkKey(what: 'key' | 'tag', value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`cache ${this.name}: ${what} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`)
    }
    if (value.length > this.maxKeyLength) {
      throw new TypeError(`cache ${this.name}: ${what} is ${value.length} characters long, at most ${this.maxKeyLength} allowed`)
    }
    if (CONTROL_CHAR.test(value)) {
      throw new TypeError(`cache ${this.name}: ${what} ${JSON.stringify(value)} contains a control character`)
    }
  }

  private count(kind: CacheEventKind, n = 1): void {
    try {
      this.deps.record(kind, n)
    } catch {
      // The collector's counter must not throw; a guest never lets it reach the host anyway.
    }
  }

  private reportError(e: unknown): void {
    try {
      this.deps.onError(toError(e))
    } catch {
      // The host's hook threw; a guest swallows it rather than crash the host.
    }
  }
}
