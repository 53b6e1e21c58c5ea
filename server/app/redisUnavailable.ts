/**
 * Telling "Redis cannot be reached" apart from a bug. A query that fails because Redis is down, restarting or hung is
 * not an internal error: the API answers 503 SERVICE_UNAVAILABLE with a message the dashboard shows as it is, instead
 * of a 500 with an error id (a Grafana user sees "data source unavailable" the same way).
 */
import { TRPCError } from '@trpc/server'

/** What the API says while Redis cannot be reached. */
export const REDIS_UNAVAILABLE_MESSAGE = 'Redis is unreachable: Fusebox cannot read or change its data until it is back'

/** Socket error codes of a connection that could not be made or was lost (Node's `errno` names). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])

/**
 * Redis error replies that mean "not serving now" rather than "bad command" (redis.io, "Error replies"): still
 * loading its data set, a replica without its master, a cluster not serving, a script blocking the server.
 */
const NOT_SERVING_REPLIES = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY) /

/**
 * Whether `err` (anything thrown by an ioredis call) means Redis could not be reached or is not serving, as opposed
 * to a failed command or a bug. Recognises ioredis' own errors (ioredis 6: `MaxRetriesPerRequestError`,
 * "Connection is closed.", "Command timed out" from `commandTimeout`, a refused offline queue), socket error codes and
 * the not-serving error replies. Never throws.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError') return true
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
  const m = err.message
  return (
    m === 'Connection is closed.' ||
    m === 'Command timed out' ||
    m.endsWith('enableOfflineQueue options is false') ||
    NOT_SERVING_REPLIES.test(m)
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
