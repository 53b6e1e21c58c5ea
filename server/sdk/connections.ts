/**
 * The Redis connections the collector opens, set up as a guest's (docs/PRODUCT.md "Collector SDK"): the command
 * connection when the host passes a URL or cluster seeds (no offline queue, fail fast, bounded command time, no
 * resend of abandoned commands, a socket timeout) and the subscriber for breaker nudges (SUBSCRIBE / SSUBSCRIBE need
 * a connection of their own); all reconnect quickly and are closed only by their opener. On a Redis Cluster the
 * subscriber is a Cluster of its own with ioredis' sharded subscribers (docs/decisions/027).
 */
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import { isCluster, type ClusterSeeds, type RedisClient } from './redisTopology'
import { withTimeout } from './withTimeout'

/**
 * Reconnect backoff of the connections the collector owns: 100 ms, 200 ms, … capped at 1 s, so flushing resumes
 * within ~1 s of Redis coming back (ioredis 6's default grows to 5 s). Returns the delay in ms.
 */
export const RECONNECT = (times: number): number => Math.min(times * 100, 1000)

/**
 * Cluster retry and redirection settings of the cluster connections the collector owns (docs/decisions/027). A
 * command refused with CLUSTERDOWN / TRYAGAIN, or lost with its node ("Connection is closed" while the cluster is
 * ready: a failover), is retried by ioredis after 200 ms / 100 ms / 200 ms, at most `maxRedirections` times in all
 * (MOVED and ASK included), so ioredis gives a command up after ~1.6 s of retries — within one default flush
 * timeout; the flush itself then retries (bounded, every effect idempotent: decision 015). Slot maps are refreshed
 * on MOVED and on a lost node, never on a timer (10,000 instances × CLUSTER SLOTS every few seconds is real load),
 * each refresh bounded by the command timeout. Reads go to masters (`scaleReads: 'master'`): the SDK reads what it
 * just wrote (reconcile, cache).
 */
export const CLUSTER_RETRY = {
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  retryDelayOnTryAgain: 100,
  maxRedirections: 8,
  scaleReads: 'master',
} as const satisfies ClusterOptions

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
 * Opens the command connection to a Redis Cluster from its seeds (redisTopology.ts `parseClusterSeeds`): the same
 * guest settings as `openCommandConnection`, each where ioredis 6's Cluster honours it (read from
 * node_modules/ioredis/built/cluster; docs/decisions/027):
 * - on the Cluster: `enableOfflineQueue: false` (a command while the cluster is not ready fails at once: "Cluster
 *   isn't ready and enableOfflineQueue options is false"; the Cluster's redisOptions cannot carry it, and ioredis
 *   forces each node connection's own queue on, which only matters before the node's first connect), the reconnect
 *   backoff as `clusterRetryStrategy` (redisOptions cannot carry `retryStrategy` either: node connections never
 *   reconnect, the Cluster refreshes its slot map instead), `slotsRefreshTimeout: commandTimeoutMs`, and
 *   `CLUSTER_RETRY`;
 * - in `redisOptions` (every node connection): `commandTimeout`, `socketTimeout`, `autoResendUnfulfilledCommands:
 *   false`, `maxRetriesPerRequest: 1`, `connectionName`, and the seeds' credentials and TLS.
 * Connects in the background.
 */
export function openClusterConnection(seeds: ClusterSeeds, commandTimeoutMs: number, connectionName: string): Cluster {
  return new Cluster(seeds.nodes, {
    ...CLUSTER_RETRY,
    enableOfflineQueue: false,
    clusterRetryStrategy: RECONNECT,
    slotsRefreshTimeout: commandTimeoutMs,
    redisOptions: {
      ...seeds.redisOptions,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      socketTimeout: commandTimeoutMs,
      autoResendUnfulfilledCommands: false,
      connectionName,
    },
  })
}

/**
 * Opens a subscriber connection like `client` (same servers, credentials and TLS): it queues its (S)SUBSCRIBE until
 * connected, retries forever and has no command timeout (a subscription waits by design). Unlike the command
 * connection it resends an unanswered SUBSCRIBE after a reconnect (subscribing twice is harmless); a `socketTimeout`
 * inherited from `client` applies only while a command waits for its answer, never to a quiet subscription.
 *
 * For a standalone `Redis`: `duplicate()` with those overrides; listen with SUBSCRIBE ('message').
 * For a `Cluster`: a Cluster of its own (`duplicate([], …)`: the same startup nodes and options) with ioredis'
 * `shardedSubscribers`, so SSUBSCRIBE goes to the master of the channel's slot on a connection per master
 * (connected only for slots with channels) and is moved when the slot's master changes; listen with SSUBSCRIBE
 * ('smessage'). Its node connections are lazy: only its slot refresh, ready check and sharded subscriber connect.
 * `connectionName` names the cluster subscriber's connections (a standalone duplicate keeps `client`'s name).
 */
export function openSubscriber(client: RedisClient, connectionName: string): RedisClient {
  if (isCluster(client)) {
    return client.duplicate([], {
      enableOfflineQueue: true,
      lazyConnect: false,
      shardedSubscribers: true,
      clusterRetryStrategy: RECONNECT,
      redisOptions: {
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
        autoResendUnfulfilledCommands: true,
        connectionName,
      },
    })
  }
  return client.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    autoResendUnfulfilledCommands: true,
    retryStrategy: RECONNECT,
  })
}

/**
 * QUIT (drains) when connected, bounded by `timeoutMs`; a connection that is down, or does not answer, is dropped.
 * A Cluster's QUIT goes to every node connection it holds (ioredis), its subscribers are disconnected.
 */
export async function releaseConnection(conn: RedisClient, timeoutMs: number): Promise<void> {
  if (conn.status !== 'ready') {
    conn.disconnect()
    return
  }
  await withTimeout(conn.quit(), timeoutMs, 'quit').catch(() => conn.disconnect())
}
