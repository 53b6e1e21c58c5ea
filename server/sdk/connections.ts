/**
 * The Redis connections the collector opens, set up as a guest's (docs/PRODUCT.md "Collector SDK"): the command connection
 * when the host passes a URL (no offline queue, fail fast, bounded command time, no resend of abandoned commands, a
 * socket timeout) and the subscriber for breaker
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
 *
 * Exactly-once guest settings (docs/decisions/015):
 * - `autoResendUnfulfilledCommands: false`: commands unanswered when the connection dropped are not sent again on
 *   the next one (ioredis' default resends them, so an abandoned flush ran twice); what the flush still needs is
 *   resent by the flush itself, with the same identity;
 * - `socketTimeout: commandTimeoutMs`: when commands wait and no byte arrives from Redis for that long (ioredis
 *   re-arms the timer on every data event while commands are outstanding), the socket is destroyed, every waiting
 *   command rejected and the reconnect strategy runs. A silent connected link (half-open TCP, a hung proxy) therefore
 *   costs one flush's commands, not an unbounded queue; `commandTimeout` alone rejects the caller but leaves the
 *   command queued. The same bound covers the ready check (INFO) of a reconnect through a still-silent link.
 */
export function openCommandConnection(url: string, commandTimeoutMs: number, connectionName: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    socketTimeout: commandTimeoutMs,
    autoResendUnfulfilledCommands: false,
    retryStrategy: RECONNECT,
    connectionName,
  })
}

/**
 * Opens a subscriber connection like `redis` (same server and options): it queues its SUBSCRIBE until connected,
 * retries forever and has no command timeout (a subscription waits by design). Unlike the command connection it
 * resends an unanswered SUBSCRIBE after a reconnect (subscribing twice is harmless); a `socketTimeout` inherited from
 * `redis` applies only while a command waits for its answer, never to a quiet subscription.
 */
export function openSubscriber(redis: Redis): Redis {
  return redis.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    autoResendUnfulfilledCommands: true,
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
