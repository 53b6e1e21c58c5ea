/**
 * Prints a new one-time login link for servers that run without configured tokens (server/app/auth.ts
 * `issueLoginLink`: a hash in Redis, consumed by whichever server process sees it first). Shared by
 * `npm run login-link` (loginLinkCli.ts) and `npx fusebox login-link` (cli.ts).
 */
import { Redis } from 'ioredis'
import { createKeySpace } from '../../shared/keys'
import { issueLoginLink, LOGIN_LINK_TTL_S } from './auth'

/**
 * Connects to `redisUrl` (one try, 3 s), stores a new link token under `prefix` and prints
 * `<base>/#token=<token>` on stdout. Never throws.
 * @returns exit code: 0 printed, 1 Redis unreachable
 */
export async function printLoginLink(redisUrl: string, prefix: string, base: string): Promise<number> {
  const origin = base.replace(/\/+$/, '')
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null, lazyConnect: true })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    const token = await issueLoginLink(redis, createKeySpace(prefix))
    console.log(`one-time login link (keep it private; works once, within ${LOGIN_LINK_TTL_S / 60} min):`)
    console.log(`${origin}/#token=${token}`)
    return 0
  } catch (e) {
    console.error(`cannot reach Redis: ${(e as Error).message}`)
    return 1
  } finally {
    redis.disconnect()
  }
}
