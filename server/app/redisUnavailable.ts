/**
 * Telling "Redis cannot be reached" apart from a bug. A query that fails because Redis is down, restarting or hung is
 * not an internal error: the API answers 503 SERVICE_UNAVAILABLE with a message the dashboard shows as it is, instead
 * of a 500 with an error id (a Grafana user sees "data source unavailable" the same way).
 */
import { TRPCError } from '@trpc/server'

/** What the API says while Redis cannot be reached. */
export const REDIS_UNAVAILABLE_MESSAGE = 'Redis is unreachable: Fusebox cannot read or change its data until it is back'

/**
 * Thrown by a check that needs Redis and could not be made — a rate limit whose counter could not be read or
 * written (rateLimits.ts) — so the call is refused with 503, never let through unchecked. `cause` is the store error.
 */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RedisUnavailableError'
  }
}

/** Socket error codes of a connection that could not be made or was lost (Node's `errno` names). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/**
 * Redis error replies that mean "not serving now" rather than "bad command" (redis.io, "Error replies"): still
 * loading its data set, a replica without its master, a cluster not serving, a script blocking the server.
 */
const NOT_SERVING_REPLIES = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY) /

/**
 * What an ioredis Cluster says while the cluster cannot serve a command (docs/decisions/028): no node reachable at
 * all, the slot map not loadable, the cluster not (yet) connected, a command that kept being redirected or told to
 * retry (MOVED/ASK/TRYAGAIN/CLUSTERDOWN, `maxRedirections` times: "Too many Cluster redirections. Last error: …"),
 * or the client ended. A MOVED or ASK reply that reaches the caller (a standalone client pointed at one cluster node)
 * is a slot this connection cannot serve: also "not serving here", never a bug of the request.
 */
const CLUSTER_NOT_SERVING =
  /^(None of startup nodes is available|Failed to refresh slots cache|Cluster isn't ready|Too many Cluster redirections|Cluster is ended|No subscriber for the cluster|(MOVED|ASK) \d+ )/

/**
 * Whether `err` (anything thrown by an ioredis call) means Redis could not be reached or is not serving, as opposed
 * to a failed command or a bug. Recognises ioredis' own errors (ioredis 6: `MaxRetriesPerRequestError`,
 * "Connection is closed.", "Command timed out" from `commandTimeout`, a refused offline queue), an ioredis Cluster's
 * (`CLUSTER_NOT_SERVING`), socket error codes and the not-serving error replies (also wrapped in a pipeline's
 * or a Cluster's message). Never throws.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError' || err instanceof RedisUnavailableError) return true
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
  const m = err.message
  // A MULTI whose queued commands were refused (MOVED to another node, CLUSTERDOWN…): EXEC answers EXECABORT and
  // ioredis attaches the refusals as `previousErrors`; unavailable when one of them is.
  if (m.startsWith('EXECABORT ')) {
    const previous = (err as { previousErrors?: unknown }).previousErrors
    return Array.isArray(previous) && previous.some((e) => isRedisUnavailable(e))
  }
  return (
    m === 'Connection is closed.' ||
    m === 'Command timed out' ||
    m.endsWith('enableOfflineQueue options is false') ||
    NOT_SERVING_REPLIES.test(m) ||
    CLUSTER_NOT_SERVING.test(m)
  )
}

/**
 * `err` as the API should answer it: a 503 `TRPCError` (SERVICE_UNAVAILABLE, `REDIS_UNAVAILABLE_MESSAGE`, the
 * original as `cause`) when Redis is unavailable, else `err` unchanged.
 */
export function asRedisUnavailable(err: unknown): unknown {
  if (err instanceof TRPCError) return isRedisUnavailable(err.cause) ? asRedisUnavailable(err.cause) : err
  return isRedisUnavailable(err) ? new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: REDIS_UNAVAILABLE_MESSAGE, cause: err }) : err
}
