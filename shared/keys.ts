/**
 * The one owner of every Redis key and channel name Fusebox uses (see docs/ARCHITECTURE.md "Redis layout"); the
 * one exception is the rate-limit counters `P:rl:login:*` / `P:rl:cmd:*`, prefixed in server/app/rateLimits.ts.
 *
 * Every key of a service carries the Redis Cluster hash tag `{<service>}`, so all keys of one service share one
 * slot: each Lua script, the cache's MULTI and each per-service read pipeline touch one slot. Keys that span
 * services (`P:services`, `P:audit`, `P:session:*`) carry no tag and must be written in calls of their own — which
 * the flush pipeline (`SADD P:services`) and the command pipeline (`XADD P:audit`) do not do yet (docs/ARCHITECTURE.md
 * "Redis Cluster: what is and is not safe today"). Names are validated by `NAME_PATTERN` (shared/vocabulary.ts)
 * before they reach this module, so they can never contain `{`, `}` or `:`.
 *
 * Layout (prefix `fusebox` by default):
 * - `P:services`                                   SET   service names
 * - `P:{svc}:req:<tier>:<bucketStartMs>`           HASH  request series of one time bucket: shared field
 *                                                        `seriesField()` plus, while the bucket is open, one
 *                                                        `ownSeriesField()` per instance; values packed
 *                                                        (shared/seriesCodec.ts), folded into the shared field by
 *                                                        a Lua script when the bucket closes; expires
 * - `P:{svc}:tot:<tier>:<bucketStartMs>`           HASH  the service total of the same bucket (all series merged):
 *                                                        shared field `*` plus own fields, folded the same way;
 *                                                        lets service-level reads skip the per-route fields.
 *                                                        Every live instance writes it (an empty value when idle),
 *                                                        so present ⇒ covered, absent ⇒ a gap (docs/METRICS.md)
 * - `P:{svc}:cov:<tier>:<bucketStartMs>`           STRING coverage bitmap of a 1 min or 1 h bucket (those tiers
 *                                                        only): bit i set (SETBIT offset i, Redis bit order) ⇒
 *                                                        the 10 s sub-bucket starting bucketStart + i·10 s was
 *                                                        covered by some instance; expires with its bucket
 * - `P:{svc}:requests`                             STREAM capped sampled request log (slow and failed requests)
 * - `P:{svc}:command:<commandId>`                  HASH  one issued breaker command (for its status), expires
 * - `P:{svc}:caches`                               SET   cache names
 * - `P:{svc}:cachestats:<tier>:<bucketStartMs>`    HASH  `cacheField()` → count (HINCRBY), expires
 * - `P:{svc}:cache:<cache>:v:<key>`                STRING cached value (JSON), expires after the cache's TTL
 * - `P:{svc}:cache:<cache>:tag:<tag>`              SET   keys carrying a tag (for invalidateTag)
 * - `P:{svc}:instances`                            ZSET  instance → last heartbeat (epoch ms)
 * - `P:{svc}:instance:<instance>`                  HASH  process health of one instance (expires)
 * - `P:{svc}:breakers`                             SET   breaker names
 * - `P:{svc}:breaker:<name>:state`                 HASH  instance → JSON BreakerInstanceReport
 * - `P:{svc}:breaker:<name>:desired`               HASH  desired state for all instances (DesiredBreakerState)
 * - `P:{svc}:breaker:<name>:desired:<instance>`    HASH  desired state for one instance (same shape)
 * - `P:{svc}:breaker:<name>:generation`            STRING command counter; every command takes the next value
 * - `P:{svc}:control`                              pub/sub channel: nudges `{ breaker, generation }`
 * - `P:{svc}:events`                               STREAM capped: transitions, commands applied
 * - `P:audit`                                      STREAM capped: operator commands (who, when, what, why)
 * - `P:session:<id>`                               STRING JSON session, expires
 * - `P:rl:login:<client>`, `P:rl:cmd:<client>`     rate-limit counters (rate-limit-redis; prefixes built in
 *                                                  server/app/rateLimits.ts, not here)
 */

/** Default key namespace prefix. */
export const DEFAULT_PREFIX = 'fusebox'

/**
 * Field of one request series inside a bucket hash: `<METHOD> <route template>`. The method never contains a
 * space, so the route is everything after the first one.
 */
export function seriesField(method: string, route: string): string {
  return method + ' ' + route
}

/** Separator between a series and the instance tag in an instance's own (not yet folded) field. */
const OWN_SEP = '\t'

/**
 * Field where one instance keeps its cumulative value of a series while the bucket is open:
 * `<series field>\t<instance tag>` (docs/decisions/006). `ownTag` identifies one process (instance + boot id), so a
 * restarted instance never overwrites what its previous life wrote.
 */
export function ownSeriesField(field: string, ownTag: string): string {
  return field + OWN_SEP + ownTag
}

/**
 * Parses a shared (`<METHOD> <route>`) or own (`…\t<tag>`) series field; `ownTag` is null for a shared field.
 * Returns null for anything else.
 */
export function parseSeriesField(field: string): { method: string; route: string; ownTag: string | null } | null {
  const tab = field.indexOf(OWN_SEP)
  const series = tab < 0 ? field : field.slice(0, tab)
  const i = series.indexOf(' ')
  if (i <= 0 || i === series.length - 1) return null
  return { method: series.slice(0, i), route: series.slice(i + 1), ownTag: tab < 0 ? null : field.slice(tab + 1) }
}

/** The one series field of a totals hash: every route and method of the service merged. */
export const TOTAL_FIELD = '*'

/** Field of one cache counter inside a cache bucket hash: `<cache>|<kind>`. */
export function cacheField(cache: string, kind: string): string {
  return cache + '|' + kind
}

/** Key builder bound to one namespace prefix. */
export interface KeySpace {
  readonly prefix: string
  services(): string
  requestBucket(service: string, tier: string, bucketStartMs: number): string
  requestTotals(service: string, tier: string, bucketStartMs: number): string
  coverage(service: string, tier: string, bucketStartMs: number): string
  requestLog(service: string): string
  command(service: string, commandId: string): string
  caches(service: string): string
  cacheBucket(service: string, tier: string, bucketStartMs: number): string
  cacheValue(service: string, cache: string, key: string): string
  cacheTag(service: string, cache: string, tag: string): string
  instances(service: string): string
  instanceInfo(service: string, instance: string): string
  breakers(service: string): string
  breakerState(service: string, breaker: string): string
  breakerDesired(service: string, breaker: string, instance?: string): string
  breakerGeneration(service: string, breaker: string): string
  controlChannel(service: string): string
  events(service: string): string
  audit(): string
  session(sessionId: string): string
}

/** Creates the key builder for `prefix` (default `fusebox`). */
export function createKeySpace(prefix: string = DEFAULT_PREFIX): KeySpace {
  const svc = (service: string) => `${prefix}:{${service}}`
  return {
    prefix,
    services: () => `${prefix}:services`,
    requestBucket: (service, tier, bucketStartMs) => `${svc(service)}:req:${tier}:${bucketStartMs}`,
    requestTotals: (service, tier, bucketStartMs) => `${svc(service)}:tot:${tier}:${bucketStartMs}`,
    coverage: (service, tier, bucketStartMs) => `${svc(service)}:cov:${tier}:${bucketStartMs}`,
    requestLog: (service) => `${svc(service)}:requests`,
    command: (service, commandId) => `${svc(service)}:command:${commandId}`,
    caches: (service) => `${svc(service)}:caches`,
    cacheBucket: (service, tier, bucketStartMs) => `${svc(service)}:cachestats:${tier}:${bucketStartMs}`,
    cacheValue: (service, cache, key) => `${svc(service)}:cache:${cache}:v:${key}`,
    cacheTag: (service, cache, tag) => `${svc(service)}:cache:${cache}:tag:${tag}`,
    instances: (service) => `${svc(service)}:instances`,
    instanceInfo: (service, instance) => `${svc(service)}:instance:${instance}`,
    breakers: (service) => `${svc(service)}:breakers`,
    breakerState: (service, breaker) => `${svc(service)}:breaker:${breaker}:state`,
    breakerDesired: (service, breaker, instance) =>
      `${svc(service)}:breaker:${breaker}:desired${instance === undefined ? '' : `:${instance}`}`,
    breakerGeneration: (service, breaker) => `${svc(service)}:breaker:${breaker}:generation`,
    controlChannel: (service) => `${svc(service)}:control`,
    events: (service) => `${svc(service)}:events`,
    audit: () => `${prefix}:audit`,
    session: (sessionId) => `${prefix}:session:${sessionId}`,
  }
}
