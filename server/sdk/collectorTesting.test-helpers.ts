/**
 * Helpers shared by the collector's integration tests (collector, HTTP adapters, breaker control, request log):
 * collectors in a fresh key namespace against the real test Redis, closed after each test. Tests only.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { parseSeriesField } from '../../shared/keys'
import { openTestRedis, scanKeys, testRedisTarget, testRedisUrl } from '../testing/redis'
import type { RedisClient } from './redisTopology'
import { startTcpProxy, type TcpProxy } from '../testing/tcpProxy'
import { createCollector, type Collector, type CollectorOptions } from './index'
import { decodeSeries, emptySeries, mergeSeriesInto, type SeriesValue } from './seriesOracle.test-helpers'

/** Collectors a test opened; `closeOpenCollectors` (an `afterEach`) closes them. */
export const open: Collector[] = []

/** Proxies started by `collectorThroughProxy`; `closeOpenCollectors` closes them after the collectors. */
const proxies: TcpProxy[] = []

/** Closes every collector in `open`, then every proxy a test started (use as `afterEach(closeOpenCollectors)`). */
export async function closeOpenCollectors(): Promise<void> {
  await Promise.all(open.splice(0).map((c) => c.close()))
  await Promise.all(proxies.splice(0).map((p) => p.close()))
}

/**
 * Registers a test file's hooks: a client of the real test Redis handed to `set` before all tests (and quit after
 * them), and `closeOpenCollectors` after each test.
 */
export function useTestRedis(set: (redis: RedisClient) => void): void {
  let redis: RedisClient | undefined
  beforeAll(() => {
    redis = openTestRedis()
    set(redis)
  })
  afterEach(closeOpenCollectors)
  afterAll(async () => {
    await redis?.quit()
  })
}

/** A fresh namespace per test so tests never see each other's keys. */
export function freshPrefix(): string {
  return `t${randomBytes(4).toString('hex')}`
}

/**
 * A collector of service `shop` on the test Redis of the run's topology (a URL or cluster seeds: its own connection;
 * flush timer 60 s: tests flush by hand), tracked in `open`.
 */
export function collector(prefix: string, instance: string, extra: Partial<CollectorOptions> = {}): Collector {
  const c = createCollector({ redis: testRedisTarget(), service: 'shop', instance, prefix, flushIntervalMs: 60_000, ...extra })
  open.push(c)
  return c
}

/** Polls `check` every 25 ms until it holds. @throws Error after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Every series of the 10 s tier, own and shared fields merged per `<METHOD> <route>`. */
export async function seriesOf(redis: RedisClient, prefix: string): Promise<Record<string, SeriesValue>> {
  const out: Record<string, SeriesValue> = {}
  for (const key of await scanKeys(redis, `${prefix}:{shop}:req:10s:*`)) {
    for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) {
      const f = parseSeriesField(field)
      const name = `${f?.method} ${f?.route}`
      out[name] = mergeSeriesInto(out[name] ?? emptySeries(), decodeSeries(value))
    }
  }
  return out
}

/** Resolves once a flush of `c` has landed (the owned connection fails fast while connecting: no offline queue). */
export async function connected(c: Collector): Promise<void> {
  await until(async () => {
    await c.flush()
    return c.stats.flushes > 0
  })
}

/**
 * A connected collector of service `shop` that reaches the test Redis through a loopback TCP proxy the test can
 * `cut()` and `restore()` (server/testing/tcpProxy.ts), with a 500 ms flush timeout and any `extra` options (a test
 * clock, say); both are closed after the test (`closeOpenCollectors`). Single node only (a proxy in front of one
 * node): `testRedisUrl()` throws on the cluster topology.
 */
export async function collectorThroughProxy(
  prefix: string,
  instance: string,
  extra: Partial<CollectorOptions> = {},
): Promise<{ c: Collector; proxy: TcpProxy }> {
  const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port))
  proxies.push(proxy)
  const c = collector(prefix, instance, { redis: `redis://127.0.0.1:${proxy.port}`, flushTimeoutMs: 500, ...extra })
  await connected(c)
  return { c, proxy }
}

/** Flushes until a flush reaches Redis again (after a restored link; a test clock stands still meanwhile). */
export async function flushUntilLanded(c: Collector, timeoutMs = 10_000): Promise<void> {
  await until(async () => {
    const before = c.stats.flushes
    await c.flush()
    return c.stats.flushes > before
  }, timeoutMs)
}
