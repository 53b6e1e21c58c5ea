/** The real Redis Cluster the Vitest globalSetup started (server/testing/redisClusterGlobalSetup.ts), for integration tests. */
import { Cluster } from 'ioredis'
import { inject } from 'vitest'

/**
 * @returns `127.0.0.1:p1,…` — every node of the test run's 3-master + 3-replica cluster (REDIS_CLUSTER_NODES form).
 *   Tests share it: namespace your keys by prefix and never stop its nodes (start your own cluster for that).
 * @throws {Error} when called outside a Vitest run that used the globalSetup
 */
export function testClusterSeeds(): string {
  const seeds = inject('redisClusterNodes')
  if (!seeds) throw new Error('no redisClusterNodes provided: run the tests with vitest (globalSetup server/testing/redisClusterGlobalSetup.ts)')
  return seeds
}

/** `host:port,…` → ioredis startup nodes. */
export function seedList(seeds: string): { host: string; port: number }[] {
  return seeds.split(',').map((s) => {
    const i = s.lastIndexOf(':')
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }
  })
}

/** A plain ioredis Cluster client of the test cluster (for a test's own setup and checks); the caller quits it. */
export function openTestCluster(seeds = testClusterSeeds()): Cluster {
  return new Cluster(seedList(seeds), { scaleReads: 'master' })
}

/**
 * Deletes every key under `prefix` on every master (SCAN + UNLINK per master, one key per call: keys of one batch
 * may live in different slots).
 */
export async function deleteClusterPrefix(cluster: Cluster, prefix: string): Promise<void> {
  await Promise.all(
    cluster.nodes('master').map(async (node) => {
      let cursor = '0'
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        cursor = next
        await Promise.all(found.map((k) => node.unlink(k).catch(() => undefined)))
      } while (cursor !== '0')
    }),
  )
}
