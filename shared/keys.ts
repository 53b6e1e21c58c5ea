/**
 * The one owner of every Redis key and channel name Fusebox uses (see docs/ARCHITECTURE.md, "Redis layout").
 *
 * Every key of a service carries the Redis Cluster hash tag `{<service>}` so that one flush pipeline, one MULTI
 * and one read pipeline per service map to a single slot. Names are validated by `NAME_PATTERN` before they reach
 * this module (see shared/schemas.ts), so they can never contain `{`, `}` or `:`.
 *
 * Layout (prefix `fusebox` by default):
 * - `P:services`                                   SET   service names
 * - `P:{svc}:req:<tier>:<bucketStartMs>`           HASH  request aggregates of one time bucket, merged across
 *                                                        instances by HINCRBY; fields from `requestField()`
 * - `P:{svc}:instances`                            ZSET  instance → last heartbeat (epoch ms)
 * - `P:{svc}:instance:<instance>`                  HASH  process health of one instance (expires)
 * - `P:{svc}:breakers`                             SET   breaker names
 * - `P:{svc}:breaker:<name>:state`                 HASH  instance → JSON BreakerInstanceReport
 * - `P:{svc}:breaker:<name>:desired`               HASH  desired state + generation (DesiredBreakerState)
 * - `P:{svc}:control`                              pub/sub channel: nudges `{ breaker, generation }`
 * - `P:{svc}:events`                               STREAM capped: transitions, commands applied
 * - `P:audit`                                      STREAM capped: operator commands (who, when, what, why)
 * - `P:session:<id>`                               STRING JSON session, expires
 */

/** Default key namespace prefix. */
export const DEFAULT_PREFIX = 'fusebox'

/** Separator inside request-aggregate hash fields; the route template is the remainder so may contain it. */
const FIELD_SEP = '|'

/** Kinds of request-aggregate fields: request count, error count, duration sum (µs), histogram bucket `h<i>`. */
export type RequestFieldKind = 'c' | 'e' | 's' | `h${number}`

/** Identity of one request series inside a service: HTTP method, status class (`2xx`…`5xx`) and route template. */
export interface SeriesId {
  method: string
  statusClass: string
  route: string
}

/** Builds the field name of one request aggregate: `<kind>|<method>|<statusClass>|<route>`. */
export function requestField(kind: RequestFieldKind, s: SeriesId): string {
  return kind + FIELD_SEP + s.method + FIELD_SEP + s.statusClass + FIELD_SEP + s.route
}

/** Parses a field built by `requestField`; returns null for anything else (foreign or corrupt fields). */
export function parseRequestField(field: string): ({ kind: string } & SeriesId) | null {
  const a = field.indexOf(FIELD_SEP)
  const b = a < 0 ? -1 : field.indexOf(FIELD_SEP, a + 1)
  const c = b < 0 ? -1 : field.indexOf(FIELD_SEP, b + 1)
  if (c < 0) return null
  return {
    kind: field.slice(0, a),
    method: field.slice(a + 1, b),
    statusClass: field.slice(b + 1, c),
    route: field.slice(c + 1),
  }
}

/** Key builder bound to one namespace prefix. */
export interface KeySpace {
  readonly prefix: string
  services(): string
  requestBucket(service: string, tier: string, bucketStartMs: number): string
  instances(service: string): string
  instanceInfo(service: string, instance: string): string
  breakers(service: string): string
  breakerState(service: string, breaker: string): string
  breakerDesired(service: string, breaker: string): string
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
    instances: (service) => `${svc(service)}:instances`,
    instanceInfo: (service, instance) => `${svc(service)}:instance:${instance}`,
    breakers: (service) => `${svc(service)}:breakers`,
    breakerState: (service, breaker) => `${svc(service)}:breaker:${breaker}:state`,
    breakerDesired: (service, breaker) => `${svc(service)}:breaker:${breaker}:desired`,
    controlChannel: (service) => `${svc(service)}:control`,
    events: (service) => `${svc(service)}:events`,
    audit: () => `${prefix}:audit`,
    session: (sessionId) => `${prefix}:session:${sessionId}`,
  }
}
