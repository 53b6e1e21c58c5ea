/**
 * Vitest globalSetup: one real redis-server for the whole run (Redis is never mocked outside pure unit
 * tests). Started in a fresh temp folder on a free loopback port; tests read its URL with `testRedisUrl()`
 * (server/testing/redis.ts). A missing redis-server fails the run with the install command — never a skip.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { ensureDebianBinary } from '../bootstrap/debian.mjs'
import { startEmbeddedRedis } from '../bootstrap/redis.mjs'

declare module 'vitest' {
  export interface ProvidedContext {
    /** redis://127.0.0.1:<port> of the redis-server this setup started */
    redisUrl: string
  }
}

/** Starts redis-server and provides `redisUrl`; returns the teardown (stop it, delete its folder). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
  const dir = await mkdtemp(join(tmpdir(), 'fusebox-test-redis-'))
  try {
    const redis = await startEmbeddedRedis({ dir, binary, quiet: true })
    project.provide('redisUrl', redis.url)
    return async () => {
      await redis.stop()
      await rm(dir, { recursive: true, force: true })
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}
