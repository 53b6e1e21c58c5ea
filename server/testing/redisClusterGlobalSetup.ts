/**
 * Vitest globalSetup: one real Redis Cluster for the whole run — 3 masters + 3 replicas of Debian's redis-server in
 * cluster mode (AOF on, loopback, free ports; server/bootstrap/redisCluster.mjs), beside the standalone redis-server
 * of redisGlobalSetup.ts. Tests read its seeds with `testClusterSeeds()` (server/testing/redisCluster.ts). Tests
 * share it: namespace keys by prefix. A test that kills nodes starts a cluster of its own. With
 * `FUSEBOX_TEST_NO_CLUSTER=1` (set by npm test for the steps whose files do not use it) nothing is started and
 * `testClusterSeeds()` throws.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { ensureDebianBinary } from '../bootstrap/debian.mjs'
import { startRedisCluster } from '../bootstrap/redisCluster.mjs'

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:p1,…,127.0.0.1:p6`: every node of the cluster this setup started (REDIS_CLUSTER_NODES form) */
    redisClusterNodes: string
  }
}

/** Starts the cluster and provides `redisClusterNodes`; returns the teardown (stop every node, delete the folder). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.FUSEBOX_TEST_NO_CLUSTER === '1') {
    // npm test's steps whose files never use the shared cluster (server/bootstrap/test.mjs) skip its ~6 s start.
    project.provide('redisClusterNodes', '')
    return async () => undefined
  }
  const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
  const cliBinary = ensureDebianBinary({ binary: 'redis-cli', pkg: 'redis-tools' })
  const dir = await mkdtemp(join(tmpdir(), 'fusebox-test-cluster-'))
  try {
    const cluster = await startRedisCluster({ dir, binary, cliBinary })
    project.provide('redisClusterNodes', cluster.seeds)
    return async () => {
      await cluster.stop()
      await rm(dir, { recursive: true, force: true })
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}
