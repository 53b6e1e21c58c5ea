/** The real Redis the Vitest globalSetup started (server/testing/redisGlobalSetup.ts), for integration tests. */
import { inject } from 'vitest'

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
