/**
 * Prints a new one-time login link for servers that run without configured tokens (server/app/auth.ts
 * `issueLoginLink`: a hash in Redis, consumed by whichever server process sees it first). Shared by
 * `npm run login-link` (loginLinkCli.ts) and `npx fusebox login-link` (cli.ts); works against one Redis or a Redis
 * Cluster (the link key then lives on whichever master owns its slot; every server reads it from there).
 */
import { Cluster, Redis } from 'ioredis'
import { createKeySpace } from '../../shared/keys'
import type { ClusterSeeds, RedisClient } from '../sdk/redisTopology'
import { issueLoginLink, LOGIN_LINK_TTL_S } from './auth'

/** How long the one connection attempt may take, ms. */
const CONNECT_TIMEOUT_MS = 3000

/** One try to connect (≤ 3 s), no reconnects: the link is printed now or the command says why not. */
async function connectOnce(target: string | { cluster: ClusterSeeds }): Promise<RedisClient> {
  if (typeof target === 'string') {
    const redis = new Redis(target, { maxRetriesPerRequest: 1, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: () => null, lazyConnect: true })
    redis.on('error', () => undefined)
    try {
      await redis.connect()
    } catch (e) {
      redis.disconnect()
      throw e
    }
    return redis
  }
  const cluster = new Cluster(target.cluster.nodes, {
    lazyConnect: true,
    scaleReads: 'master',
    clusterRetryStrategy: () => null,
    redisOptions: { ...target.cluster.redisOptions, maxRetriesPerRequest: 1, connectTimeout: CONNECT_TIMEOUT_MS },
  })
  cluster.on('error', () => undefined)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      cluster.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no cluster seed answered within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS)
      }),
    ])
  } catch (e) {
    cluster.disconnect()
    throw e
  } finally {
    clearTimeout(timer)
  }
  return cluster
}

/**
 * Connects to `target` — a `redis://` URL, or `{ cluster: seeds }` (env.ts `redisTarget`) — with one try of ≤ 3 s,
 * stores a new link token under `prefix` and prints `<base>/#token=<token>` on stdout. Never throws.
 * @returns exit code: 0 printed, 1 Redis unreachable
 */
export async function printLoginLink(target: string | { cluster: ClusterSeeds }, prefix: string, base: string): Promise<number> {
  const origin = base.replace(/\/+$/, '')
  let redis: RedisClient | undefined
  try {
    redis = await connectOnce(target)
    const token = await issueLoginLink(redis, createKeySpace(prefix))
    console.log(`one-time login link (keep it private; works once, within ${LOGIN_LINK_TTL_S / 60} min):`)
    console.log(`${origin}/#token=${token}`)
    return 0
  } catch (e) {
    console.error(`cannot reach Redis: ${(e as Error).message}`)
    return 1
  } finally {
    redis?.disconnect()
  }
}
