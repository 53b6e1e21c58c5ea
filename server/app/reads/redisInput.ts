/**
 * Redis is an input (docs/decisions/014): what the read path does with a value it cannot use. A corrupt value or a
 * key of the wrong type is skipped — the read answers with everything else — logged once per key, and counted in
 * `fusebox_redis_invalid_values_total{kind}` on /metrics (registered there by server/app/metrics.ts).
 *
 * Kinds (a fixed set, so the label stays low-cardinality): `series_value` a packed series field `readPacked`
 * refused (shared/seriesCodec.ts); `wrong_type` a key holding another Redis type than the layout says (WRONGTYPE);
 * `cache_counter` a cache counter that is not a non-negative safe integer; `instance_score` a heartbeat ZSET score
 * that is not a finite time ≥ 0; `stream_entry` a request-log, event or audit entry its parser in
 * shared/streamEntries.ts refuses; `breaker_record` a breaker's name, per-instance report, desired state or command
 * record that its schema (shared/schemas.ts, reads/breakers.ts) refuses; `counters` a fleet-counters field or value
 * the contract's parsers refuse (shared/fleetCounters.ts), a request series whose buckets do not add up, a counters
 * hash beyond the collectors' cap, or a service name in `P:services` that is not a name (server/app/fleetMetrics.ts).
 */
import { Counter } from 'prom-client'

/** What kind of value was skipped (the metric's `kind` label). */
export type InvalidValueKind = 'series_value' | 'wrong_type' | 'cache_counter' | 'instance_score' | 'stream_entry' | 'breaker_record' | 'counters' | 'rate_limit_counter' | 'alert_record' | 'queue_value'

/**
 * Values skipped while reading Redis, by kind: one per value per read (a corrupt settled bucket is decoded again at
 * most every 5 min, see bucketCache.ts), so a rate above zero means bad data is still being read. Process-wide (the
 * read functions have no handle on an app); every app's registry registers this same object.
 */
export const redisInvalidValues = new Counter({
  name: 'fusebox_redis_invalid_values_total',
  help: 'Values read from Redis that were skipped as invalid (corrupt packed series, wrong key type, bad counters), by kind.',
  labelNames: ['kind'] as const,
  registers: [],
})

/** Keys (kind + key) already logged, oldest first; bounded so a flood of bad keys cannot grow memory. */
const logged = new Set<string>()
/** Most keys remembered as logged; beyond, the oldest are forgotten (and would be logged again). */
export const MAX_LOGGED_KEYS = 1000
/** Longest key or detail written to the log (a hostile field name can be long). */
const MAX_LOG_CHARS = 200

const cut = (s: string) => (s.length > MAX_LOG_CHARS ? `${s.slice(0, MAX_LOG_CHARS)}…` : s)

/**
 * Records a value the read path skipped: counts it under `kind` and, the first time for this (kind, key), logs a
 * warning naming the key and `detail` (why; which field). Never throws.
 */
export function reportInvalidValue(kind: InvalidValueKind, key: string, detail: string): void {
  redisInvalidValues.inc({ kind })
  const id = `${kind}\u0000${cut(key)}`
  if (logged.has(id)) return
  logged.add(id)
  if (logged.size > MAX_LOGGED_KEYS) {
    const oldest = logged.values().next().value
    if (oldest !== undefined) logged.delete(oldest)
  }
  console.warn(`[fusebox] skipped an invalid value in Redis (${kind}) at ${cut(key)}: ${cut(detail)}; logged once per key, counted in fusebox_redis_invalid_values_total`)
}

/** True when `err` is Redis' reply to a command on a key holding another type (`WRONGTYPE …`). */
export function isWrongType(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('WRONGTYPE')
}

/**
 * Runs one single-key read; when the key holds the wrong type, counts it (`wrong_type`, logged once) and returns
 * `absent` instead. Any other error is thrown as it is (Redis unreachable stays a 503).
 */
export async function readKey<R>(key: string, read: () => Promise<R>, absent: R): Promise<R> {
  try {
    return await read()
  } catch (e) {
    if (!isWrongType(e)) throw e
    reportInvalidValue('wrong_type', key, (e as Error).message)
    return absent
  }
}
