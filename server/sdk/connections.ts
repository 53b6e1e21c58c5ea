/**
 * The Redis connections the collector opens, set up as a guest's (docs/PRODUCT.md "Collector SDK"): the command connection
 * when the host passes a URL (no offline queue, fail fast, bounded command time) and the subscriber for breaker
 * nudges (SUBSCRIBE needs its own connection); both reconnect quickly and are closed only by their opener.
 */
import { Redis } from 'ioredis'
import { withTimeout } from './withTimeout'

/**
 * Reconnect backoff of the connections the collector owns: 100 ms, 200 ms, … capped at 1 s, so flushing resumes
 * within ~1 s of Redis coming back (ioredis 6's default grows to 5 s). Returns the delay in ms.
 */
export const RECONNECT = (times: number): number => Math.min(times * 100, 1000)

/**
 * Opens the command connection for a redis:// or rediss:// URL: no unbounded offline queue, one retry, every
 * command bounded by `commandTimeoutMs`; named `connectionName` (CLIENT LIST). Connects in the background.
 */
export function openCommandConnection(url: string, commandTimeoutMs: number, connectionName: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    retryStrategy: RECONNECT,
    connectionName,
  })
}

/**
 * Opens a subscriber connection like `redis` (same server and options): it queues its SUBSCRIBE until connected,
 * retries forever and has no command timeout (a subscription waits by design).
 */
export function openSubscriber(redis: Redis): Redis {
  return redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    retryStrategy: RECONNECT,
  })
}

/** QUIT (drains) when connected, bounded by `timeoutMs`; a connection that is down, or does not answer, is dropped. */
export async function releaseConnection(conn: Redis, timeoutMs: number): Promise<void> {
  if (conn.status !== 'ready') {
    conn.disconnect()
    return
  }
  await withTimeout(conn.quit(), timeoutMs, 'quit').catch(() => conn.disconnect())
}
