/** The real Redis the Vitest globalSetup started (server/testing/redisGlobalSetup.ts), for integration tests. */
import { afterAll, beforeAll, inject } from 'vitest'
import { Redis } from 'ioredis'

/**
 * @returns redis://127.0.0.1:<port> of the test run's redis-server. Tests share it: namespace your keys
 *   (e.g. a random prefix per test) or flush only what you created.
 * @throws {Error} when called outside a Vitest run that used the globalSetup
 */
export function testRedisUrl(): string {
  const url = inject('redisUrl')
  if (!url) throw new Error('no redisUrl provided: run the tests with vitest (globalSetup server/testing/redisGlobalSetup.ts)')
  return url
}

/** Deletes every key under `prefix` (`<prefix>:*`, SCAN + UNLINK in batches of 1,000): a test's namespace, after it. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    if (found.length > 0) await redis.unlink(...found)
  } while (cursor !== '0')
}

/**
 * Registers a test file's hooks: before all tests a client of the test Redis, handed to `set` once it answers PING
 * (so `/healthz` and the like see it 'ready'); after all tests, every function pushed onto the returned list, last
 * pushed first, then the client's QUIT.
 * @returns the file's clean-up list (push a function that undoes what a test set up)
 */
export function useTestRedisWithCleanups(set: (redis: Redis) => void): (() => Promise<void>)[] {
  const cleanups: (() => Promise<void>)[] = []
  let redis: Redis | undefined
  beforeAll(async () => {
    redis = new Redis(testRedisUrl())
    await redis.ping()
    set(redis)
  })
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
    await redis?.quit()
  })
  return cleanups
}
