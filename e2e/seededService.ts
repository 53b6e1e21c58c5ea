/**
 * A service of a spec's own on the e2e stack's Redis, written by a real SDK collector whose clock the spec drives
 * (the SDK's `clock` option): requests "at" past times without waiting for them, then, if asked, real time. And its
 * removal afterwards (every `P:{svc}:…` key and its `P:services` entry), so the specs that follow see the demo
 * fleet's services only.
 */
import { Redis } from 'ioredis'
import { createCollector, type Collector } from '../server/sdk/index'
import { createKeySpace } from '../shared/keys'
import { E2E_PREFIX, e2eRedisUrl, expect } from './helpers'

/** A collector of `service` (instance `<service>-1`) on a clock the spec moves. */
export interface ClockedCollector {
  collector: Collector
  /** The clock of every `stepAt` (epoch ms), in order: each had two flushes. */
  readonly flushedAtMs: number[]
  /**
   * Moves the clock to `atMs` (never backwards), records `requests` requests of `GET /seeded` (the first `errors`
   * of them status 500, durations spread over 5–400 ms) and flushes twice (the first may be one already in flight).
   */
  stepAt(atMs: number, requests: number, errors?: number): Promise<void>
  /** From now on the clock is the real one (`Date.now()`), as for a collector that has kept running. */
  followRealTime(): void
  /** Closes the collector (final flush at its clock) and checks that nothing it was given was dropped. */
  close(): Promise<void>
}

/**
 * Starts a collector of `service` on the e2e stack's Redis, its clock at `startMs`, and waits for its first flush.
 * `flushIntervalMs` (default 1000) also paces the timer flushes the collector makes on its own, at whatever its clock
 * then reads.
 */
export async function startClockedCollector(service: string, startMs: number, flushIntervalMs = 1000): Promise<ClockedCollector> {
  let now = startMs
  let real = false
  const errors: string[] = []
  const flushedAtMs: number[] = []
  const collector = createCollector({
    redis: e2eRedisUrl(),
    prefix: E2E_PREFIX,
    service,
    instance: `${service}-1`,
    clock: () => (real ? Date.now() : now),
    flushIntervalMs,
    onError: (e, where) => void errors.push(`${where}: ${e.message}`),
  })
  const deadline = Date.now() + 15_000
  while (collector.stats.flushes === 0) {
    if (Date.now() > deadline) {
      await collector.close()
      throw new Error(`the collector did not connect to ${e2eRedisUrl()}: ${errors.slice(-3).join('; ')}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    collector,
    flushedAtMs,
    async stepAt(atMs, requests, errorCount = 0) {
      if (real || atMs < now) throw new Error(`stepAt(${atMs}): the clock is at ${real ? 'real time' : now} already`)
      now = atMs
      for (let i = 0; i < requests; i++) {
        collector.recordRequest({ method: 'GET', route: '/seeded', status: i < errorCount ? 500 : 200, durationMs: 5 + ((i * 37) % 80) * 5 })
      }
      await collector.flush()
      await collector.flush()
      flushedAtMs.push(atMs)
    },
    followRealTime() {
      real = true
    },
    async close() {
      await collector.close()
      const { droppedBuckets, droppedLateRequests, overflowedRequests } = collector.stats
      expect({ droppedBuckets, droppedLateRequests, overflowedRequests }, `nothing the seeding sent was lost (errors: ${errors.join('; ') || 'none'})`).toEqual({
        droppedBuckets: 0,
        droppedLateRequests: 0,
        overflowedRequests: 0,
      })
    },
  }
}

/** Deletes every key of `service` on the e2e stack's Redis and takes it off the service list. */
export async function removeService(service: string): Promise<void> {
  const keys = createKeySpace(E2E_PREFIX)
  const redis = new Redis(e2eRedisUrl(), { maxRetriesPerRequest: 1 })
  try {
    // `{` and `}` are not glob characters; NAME_PATTERN keeps `*?[]\` out of service names.
    const stream = redis.scanStream({ match: `${E2E_PREFIX}:{${service}}:*`, count: 500 })
    for await (const batch of stream as AsyncIterable<string[]>) if (batch.length > 0) await redis.unlink(...batch)
    await redis.srem(keys.services(), service)
  } finally {
    await redis.quit()
  }
}
