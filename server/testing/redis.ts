/**
 * The real Redis the Vitest globalSetup started, for integration tests — a standalone redis-server
 * (server/testing/redisGlobalSetup.ts) or, when `FUSEBOX_TEST_TOPOLOGY=cluster`, the 3-master + 3-replica Redis Cluster
 * of server/testing/redisClusterGlobalSetup.ts (issue #13: "runs the SDK and server integration suites against it as
 * well as against a single node"; docs/decisions/032). A suite written with `openTestRedis()`, `testRedisTarget()`,
 * `deletePrefix()` and `scanKeys()` runs unchanged on either topology.
 */
import { afterAll, beforeAll, inject } from 'vitest'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { isCluster, primaryNodes, type RedisClient } from '../sdk/redisTopology'
import { seedList } from './redisCluster'

/** Which Redis the integration suites run against: `single` (default) or `cluster` (`FUSEBOX_TEST_TOPOLOGY=cluster`). */
export type TestTopology = 'single' | 'cluster'

/**
 * @returns the topology this run's suites use, from `FUSEBOX_TEST_TOPOLOGY` (`single` when unset)
 * @throws {Error} for any other value, so a typo never silently runs the single-node suites
 */
export function testTopology(): TestTopology {
  const value = process.env.FUSEBOX_TEST_TOPOLOGY ?? 'single'
  if (value !== 'single' && value !== 'cluster') throw new Error(`FUSEBOX_TEST_TOPOLOGY must be 'single' or 'cluster', not ${JSON.stringify(value)}`)
  return value
}

/** `host:port,…` of the shared test cluster (what redisClusterGlobalSetup.ts provides). */
function clusterSeeds(): string {
  const seeds = inject('redisClusterNodes')
  if (!seeds) throw new Error('FUSEBOX_TEST_TOPOLOGY=cluster but no test cluster was started (FUSEBOX_TEST_NO_CLUSTER=1?)')
  return seeds
}

/**
 * @returns redis://127.0.0.1:<port> of the test run's standalone redis-server. Tests share it: namespace your keys
 *   (e.g. a random prefix per test) or flush only what you created.
 * @throws {Error} outside a Vitest run that used the globalSetup, and when the run's topology is `cluster`: a suite
 *   that needs a URL of one node (a TCP proxy in front of it, a CLI child, a tarball install) runs on the single node
 *   only, and npm test's cluster lane leaves it out by name (SINGLE_NODE_FILES in server/bootstrap/test.mjs)
 */
export function testRedisUrl(): string {
  if (testTopology() === 'cluster') {
    throw new Error('this suite needs a single Redis node (testRedisUrl) but FUSEBOX_TEST_TOPOLOGY=cluster: use openTestRedis()/testRedisTarget(), or list the file in SINGLE_NODE_FILES')
  }
  return singleNodeUrl()
}

/** The standalone redis-server's URL, whatever the topology (for tests that need one node on purpose). */
export function singleNodeUrl(): string {
  const url = inject('redisUrl')
  if (!url) throw new Error('no redisUrl provided: run the tests with vitest (globalSetup server/testing/redisGlobalSetup.ts)')
  return url
}

/**
 * What to hand the SDK (`createCollector({ redis })`) or the server (`createDashboard({ redis })`) so that it opens its
 * own connection to the run's topology: the standalone URL, or `{ cluster: 'host:port,…' }` (every node as a seed).
 */
export function testRedisTarget(): string | { cluster: string } {
  return testTopology() === 'cluster' ? { cluster: clusterSeeds() } : singleNodeUrl()
}

/**
 * A new ioredis client of the run's topology; the caller quits it.
 * @param options standalone: RedisOptions of the connection; cluster: the `redisOptions` of every node connection
 *   (reads and writes go to masters: `scaleReads: 'master'`, so a test reads what it just wrote)
 * @returns a `Redis` (single) or a `Cluster` (cluster)
 */
export function openTestRedis(options: RedisOptions = {}): RedisClient {
  if (testTopology() === 'cluster') return new Cluster(seedList(clusterSeeds()), { scaleReads: 'master', redisOptions: options })
  return new Redis(singleNodeUrl(), options)
}

/**
 * Every key matching `pattern` (a SCAN MATCH glob), on every master of a cluster or the one node: what `KEYS` gives
 * on a single node, for a test's checks (SCAN, so it never blocks the shared server). Order unspecified.
 */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = []
  for (const node of primaryNodes(redis)) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      found.push(...keys)
    } while (cursor !== '0')
  }
  return found
}

/**
 * Deletes every key under `prefix` (`<prefix>:*`, SCAN + UNLINK; on a cluster per master, one UNLINK per key since a
 * batch may span slots): a test's namespace, after it.
 */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}:*`)
  if (!isCluster(redis)) {
    for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000))
    return
  }
  await Promise.all(keys.map((k) => redis.unlink(k).catch(() => undefined)))
}

/**
 * Registers a test file's hooks: before all tests a client of the run's topology (`openTestRedis`), handed to `set`
 * once it answers PING (so `/healthz` and the like see it 'ready'); after all tests, every function pushed onto the
 * returned list, last pushed first, then the client's QUIT.
 * @returns the file's clean-up list (push a function that undoes what a test set up)
 */
export function useTestRedisWithCleanups(set: (redis: RedisClient) => void): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = []
  let redis: RedisClient | undefined
  beforeAll(async () => {
    redis = openTestRedis()
    await redis.ping()
    set(redis)
  })
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
    await redis?.quit()
  })
  return cleanups
}
