/**
 * An in-process cache of decoded, settled bucket totals. A bucket stops changing once it has closed and every
 * instance has folded its own field (decision 006: seconds after its end); after that, reading it again from Redis
 * and decoding it again is waste. The cache keeps such buckets, bounded in entries (LRU) and trusted for `ttlMs`
 * only: an instance cut off from Redis may still deliver late data for an old bucket after an outage, so a cached
 * bucket is re-read at most `ttlMs` later. Per server process; servers stay stateless (it is only a cache).
 */
/** A bucket counts as settled this long after its end (close grace + folds spread over flushes, with margin). */
export const SETTLED_AFTER_MS = 60_000

/**
 * LRU of decoded bucket values `T` by Redis key (a gap is a value too, so a settled gap is not asked for again
 * either). Values are shared: callers must not mutate them.
 */
export class SettledBucketCache<T> {
  private readonly entries = new Map<string, { value: T; storedAtMs: number }>()

  /**
   * @param maxEntries bound on cached buckets (each ~1–2 KB decoded); default 5,000
   * @param ttlMs how long a cached bucket is trusted; default 5 min
   */
  constructor(
    private readonly maxEntries = 5000,
    private readonly ttlMs = 300_000,
  ) {}

  /** True when a bucket [startMs, startMs + widthMs) is old enough to cache at `nowMs`. */
  static isSettled(startMs: number, widthMs: number, nowMs: number): boolean {
    return startMs + widthMs + SETTLED_AFTER_MS <= nowMs
  }

  /** The cached value, or undefined when not cached or older than the TTL. */
  get(key: string, nowMs: number): T | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (nowMs - e.storedAtMs > this.ttlMs) {
      this.entries.delete(key)
      return undefined
    }
    this.entries.delete(key) // move to the most-recently-used end
    this.entries.set(key, e)
    return e.value
  }

  /** Stores a value, evicting the least recently used entries beyond `maxEntries`. */
  set(key: string, value: T, nowMs: number): void {
    this.entries.delete(key)
    this.entries.set(key, { value, storedAtMs: nowMs })
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  /** Number of cached buckets. */
  get size(): number {
    return this.entries.size
  }
}
