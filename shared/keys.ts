/**
 * The one owner of every Redis key and channel name Fusebox uses (see docs/ARCHITECTURE.md "Redis layout"); the
 * one exception is the rate-limit counters `P:rl:login:*` / `P:rl:cmd:*`, prefixed in server/app/rateLimits.ts.
 *
 * Every key of a service carries the Redis Cluster hash tag `{<service>}`. Names are validated by `NAME_PATTERN`
 * (shared/vocabulary.ts) before they reach this module, so they can never contain `{`, `}` or `:`.
 *
 * Slots on a Redis Cluster (docs/decisions/027, 028; docs/SCALING.md for what one slot carries):
 * | keys                                              | slot                        | why they share it, or not         |
 * |---------------------------------------------------|-----------------------------|-----------------------------------|
 * | every `P:{svc}:…` key and the channel             | one per service: `{svc}`    | one flush = one pipeline to one   |
 * |   `P:{svc}:control` (SPUBLISH / SSUBSCRIBE)       |                             | master (+ WAIT on it, decision    |
 * |                                                   |                             | 029); FOLD_SERIES, FLUSH_EFFECTS, |
 * |                                                   |                             | ISSUE (command + audit + nudge,   |
 * |                                                   |                             | decision 017), STORE_WITH_TAGS    |
 * |                                                   |                             | and PRUNE_SERVICE are one script  |
 * |                                                   |                             | each, so atomic; per-service read |
 * |                                                   |                             | pipelines touch one node          |
 * | `P:services`                                      | its own (untagged)          | spans services: `SADD` in a call  |
 * |                                                   |                             | of its own at (re)connect and ≤ 1 |
 * |                                                   |                             | per instance per minute           |
 * | `P:audit`, `P:metrics:exporter`                   | its own each                | service-less; one key per call    |
 * | every `P:alerts:{alerts}:…` key                   | one: `{alerts}`             | one evaluation commits states,    |
 * |                                                   |                             | history and outbox in one fenced  |
 * |                                                   |                             | script; a rule edit and its audit |
 * |                                                   |                             | entry likewise (decision 035)     |
 * | `P:session:*`, `P:tokensessions:*`,               | one per key (spread)        | one key per call (a session's     |
 * |   `P:loginlink:*`, `P:rl:*`                       |                             | MULTI touches its index only)     |
 * One service = one slot = one master: a cluster spreads services over masters, never one service. Measured
 * (bench/fleet.ts, docs/SCALING.md "One service on one master"): an instance costs its master ~252 commands/s and
 * 0.20 % of a core (200 routes, 0.2 req/s per route, 1 s flushes), so one master carries one service of ~250
 * instances × 200 routes at 50 % of a core (~500 saturate it); the service's memory (171.9 MiB at full retention for
 * 200 routes) grows with instances only by the open buckets' own fields (≤ 201 KiB per instance). Beyond that: move
 * the other services' slots off its master, or split the service into cells with names of their own.
 *
 * Layout (prefix `fusebox` by default). Every entry ends with its bound — a TTL, a cap, or the pruning rule of the
 * janitor (server/app/janitor.ts, docs/decisions/018; "gone" = no heartbeat and no breaker report for that long):
 * - `P:services`                                   SET   service names; janitor: removed with all the service's
 *                                                        keys once no instance is seen for 24 h, no breaker report
 *                                                        is < 7 d old, its audit is empty and no tier retains a
 *                                                        totals bucket (≈ 30 d after its last flush)
 * - `P:{svc}:req:<tier>:<bucketStartMs>`           HASH  request series of one time bucket: shared field
 *                                                        `seriesField()` plus, while the bucket is open, one
 *                                                        `ownSeriesField()` per instance; values packed
 *                                                        (shared/seriesCodec.ts), folded into the shared field by
 *                                                        a Lua script when the bucket closes; expires at bucket
 *                                                        end + tier retention (65 min / 24 h / 30 d, timeBuckets.ts)
 * - `P:{svc}:tot:<tier>:<bucketStartMs>`           HASH  the service total of the same bucket (all series merged):
 *                                                        shared field `*` plus own fields, folded the same way;
 *                                                        lets service-level reads skip the per-route fields.
 *                                                        Every live instance writes it (an empty value when idle),
 *                                                        so present ⇒ covered, absent ⇒ a gap (docs/METRICS.md);
 *                                                        expires like the request bucket
 * - `P:{svc}:cov:<tier>:<bucketStartMs>`           STRING coverage bitmap of a 1 min or 1 h bucket (those tiers
 *                                                        only): bit i set (SETBIT offset i, Redis bit order) ⇒
 *                                                        the 10 s sub-bucket starting bucketStart + i·10 s was
 *                                                        covered by some instance; expires with its bucket
 * - `P:{svc}:requests`                             STREAM sampled request log (slow and failed requests); capped
 *                                                        at `STREAM_CAPS.requestLog` (MAXLEN ~); janitor: deleted
 *                                                        with its service
 * - `P:{svc}:command:<commandId>`                  HASH  one issued breaker command and its fixed target set
 *                                                        (`targets`, JSON array of instances), for its status;
 *                                                        expires after 7 days
 * - `P:{svc}:caches`                               SET   cache names; janitor: a name goes when no retained 1 h
 *                                                        cache-stats bucket counts it (30 d after its last use)
 * - `P:{svc}:cachestats:<tier>:<bucketStartMs>`    HASH  `cacheField()` → count (HINCRBY); expires like a request
 *                                                        bucket
 * - `P:{svc}:cache:<cache>:v:<key>`                STRING cached value (JSON), expires after the cache's TTL
 * - `P:{svc}:cache:<cache>:tag:<tag>`              SET   keys carrying a tag (for invalidateTag); its expiry is
 *                                                        only raised, to the longest TTL of its entries
 * - `P:{svc}:queues`                               SET   BullMQ queue names watched by the service's instances;
 *                                                        janitor: with its service
 * - `P:{svc}:queue:<queue>:<tier>:<bucketStartMs>` HASH  the bucket's latest depth sample (`s:<state>` counts,
 *                                                        `oldestWaitingAgeMs`, `sampledAtMs`) and the jobs
 *                                                        completed / failed in it (HINCRBY); expires like a
 *                                                        request bucket
 * - `P:{svc}:queuecmd:<commandId>`                HASH  an operator's queue command (retryFailed, cleanCompleted,
 *                                                        cleanFailed) and its outcome; expires after 7 days
 * - `P:{svc}:queuecmds:<queue>`                    LIST  command ids waiting for an instance watching the queue;
 *                                                        ≤ 100 (LTRIM), expires after 7 days
 * - `P:{svc}:instances`                            ZSET  instance → last heartbeat (epoch ms); each flush drops
 *                                                        members older than 1 h (SDK); janitor: members older than
 *                                                        24 h (also when no instance flushes any more)
 * - `P:{svc}:instance:<instance>`                  HASH  process health of one instance; expires 10 min after its
 *                                                        last heartbeat
 * - `P:{svc}:breakers`                             SET   breaker names; janitor: a name goes (with its state,
 *                                                        desired and generation keys) 7 d after its newest report,
 *                                                        unless its desired mode is FORCED_*; all go with the service
 * - `P:{svc}:breaker:<name>:state`                 HASH  instance → JSON BreakerInstanceReport; janitor: an
 *                                                        instance's field goes once it is gone 24 h, except the
 *                                                        newest report (≤ 1 such field per breaker)
 * - `P:{svc}:breaker:<name>:desired`               HASH  desired state for all instances (DesiredBreakerState);
 *                                                        janitor: with its breaker
 * - `P:{svc}:breaker:<name>:desired:<instance>`    HASH  desired state for one instance (same shape); janitor:
 *                                                        deleted once the instance is gone 24 h
 * - `P:{svc}:breaker:<name>:generation`            STRING command counter; every command takes the next value;
 *                                                        janitor: with its breaker
 * - `P:{svc}:control`                              pub/sub channel: nudges `{ breaker, generation }` (nothing
 *                                                        stored); PUBLISH/SUBSCRIBE on one Redis, sharded
 *                                                        SPUBLISH/SSUBSCRIBE on a cluster (its slot's shard only)
 * - `P:{svc}:events`                               STREAM transitions, commands applied; capped at
 *                                                        `STREAM_CAPS.events` (MAXLEN ~); janitor: with its service
 * - `P:{svc}:flushseq:<ownTag>`                  STRING last flush-effects batch sequence applied by one process
 *                                                        (instance + boot id), so a resent batch has no effect
 *                                                        (docs/decisions/015); expires 24 h after its last write
 * - `P:{svc}:counters`                             HASH  fleet counters that only go up, for Prometheus: request
 *                                                        series (count, µs sum, duration buckets), breaker call
 *                                                        outcomes, cache events (shared/fleetCounters.ts); HINCRBY
 *                                                        exactly once with the flush effects; at most
 *                                                        `MAX_COUNTER_FIELDS` fields; expires 35 d after its last
 *                                                        write
 * - `P:metrics:exporter`                           STRING the dashboard server that exports the fleet metrics
 *                                                        (a lease, `PX`; server/app/fleetMetrics.ts)
 * - `P:{svc}:audit`                                STREAM operator actions on the service (breaker commands,
 *                                                        cache invalidations): who, when, what, why; kept
 *                                                        `FUSEBOX_AUDIT_RETENTION_DAYS` (default 90 d, XTRIM
 *                                                        MINID on each append) and at most `STREAM_CAPS.audit`
 *                                                        entries (MAXLEN ~); entry ids = the action's epoch ms;
 *                                                        janitor: also trimmed by time on every run (no append
 *                                                        needed), deleted with its service once empty
 * - `P:audit`                                      STREAM the same for service-less actions (and entries written
 *                                                        before decision 017); same bounds (janitor trims it too)
 * - `P:alerts:{alerts}:rules`                      HASH  alert rule id → JSON AlertRule (shared/alerts.ts); ≤ 500
 *                                                        rules; deleted by an operator
 * - `P:alerts:{alerts}:states`                     HASH  `<rule id>\t<series key>` → JSON AlertInstance (pending
 *                                                        or firing); a field goes when its alert resolves or its
 *                                                        rule is deleted or disabled
 * - `P:alerts:{alerts}:history`                    STREAM state changes (pending, firing, resolved, cleared);
 *                                                        90 d (XTRIM MINID) and ≤ `STREAM_CAPS.audit` entries
 * - `P:alerts:{alerts}:silences`                   HASH  silence id → JSON Silence; a silence goes 7 d after its end
 * - `P:alerts:{alerts}:lease`                      STRING `<server id>|<fencing token>` of the one evaluating
 *                                                        server (PX 15 s); `…:fence` the token counter (INCR)
 * - `P:alerts:{alerts}:outbox`                     HASH  notification id → JSON pending delivery (receiver, body,
 *                                                        attempts, next attempt); a field goes once delivered or
 *                                                        given up (24 h)
 * - `P:alerts:{alerts}:deliveries`                 STREAM delivery log: every attempt and its outcome; 90 d and
 *                                                        ≤ `STREAM_CAPS.audit` entries
 * - `P:alerts:{alerts}:acks`                       HASH  the states field → JSON acknowledgement (operator, time,
 *                                                        the episode's start); goes when its alert ends
 * - `P:alerts:{alerts}:audit`                      STREAM operator changes to rules and silences, acknowledgements
 *                                                        (audit layout, bounds as `P:audit`); the audit page reads it
 * - `P:session:<sha256(cookie)>`                   STRING JSON session (role, actor, token id), expires; the key is
 *                                                  the SHA-256 (hex) of the cookie value, never the value itself
 * - `P:tokensessions:<tokenId>`                    ZSET  session key hashes of one access token → expiry (epoch
 *                                                  ms), for "sign out everywhere"; pruned on every login, capped
 *                                                  at 1,000 per token (server/app/auth.ts), expires with its newest
 * - `P:loginlink:<sha256(token)>`                  STRING a one-time login link token, consumed by GETDEL, expires
 * - `P:rl:login:<client>`, `P:rl:loginslot:<client>`, `P:rl:cmd:<tokenId>`  rate-limit counters (fixed windows,
 *                                                  expire; built in server/app/rateLimits.ts, not here)
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

/** The alerting keys (`KeySpace.alerts`), all in the one slot of the hash tag `{alerts}`. */
export const ALERT_KEY_PARTS = ['rules', 'states', 'history', 'silences', 'lease', 'fence', 'outbox', 'deliveries', 'acks', 'audit'] as const
/** One of `ALERT_KEY_PARTS`. */
export type AlertKeyPart = (typeof ALERT_KEY_PARTS)[number]

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
  /** `P:{svc}:queues`: names of the BullMQ queues the service's instances watch (server/sdk/queueWatch.ts). */
  queues(service: string): string
  /** `P:{svc}:queue:<queue>:<tier>:<bucketStartMs>`: one queue's samples and job counts in one time bucket. */
  queueBucket(service: string, queue: string, tier: string, bucketStartMs: number): string
  /** `P:{svc}:queuecmd:<commandId>`: one operator command on a queue (retry failed, clean) and its outcome. */
  queueCommand(service: string, commandId: string): string
  /** `P:{svc}:queuecmds:<queue>`: ids of the queue's commands not yet taken by an instance (LIST, newest first). */
  queueCommands(service: string, queue: string): string
  instances(service: string): string
  instanceInfo(service: string, instance: string): string
  breakers(service: string): string
  breakerState(service: string, breaker: string): string
  breakerDesired(service: string, breaker: string, instance?: string): string
  breakerGeneration(service: string, breaker: string): string
  controlChannel(service: string): string
  events(service: string): string
  /** Last flush-effects batch applied by process `ownTag` (`<instance>#<boot id>`), docs/decisions/015. */
  flushSequence(service: string, ownTag: string): string
  /** Monotonic fleet counters of a service for Prometheus (shared/fleetCounters.ts). */
  counters(service: string): string
  /** Lease naming the dashboard server that exports the fleet metrics (server/app/fleetMetrics.ts). */
  metricsExporter(): string
  /** A service's audit stream `P:{svc}:audit`, or the global `P:audit` (service-less actions) without `service`. */
  audit(service?: string): string
  /** One of the alerting keys `P:alerts:{alerts}:<part>` (one slot: see the layout above and docs/decisions/035). */
  alerts(part: AlertKeyPart): string
  /** `P:session:<sessionKeyId>`: the key id is the SHA-256 hex of the cookie value (server/app/auth.ts). */
  session(sessionKeyId: string): string
  /** `P:tokensessions:<tokenId>`: live sessions of one access token (ZSET key id → expiry ms). */
  tokenSessions(tokenId: string): string
  /** `P:loginlink:<sha256 hex of the token>`: a pending one-time login link. */
  loginLink(tokenHash: string): string
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
    queues: (service) => `${svc(service)}:queues`,
    queueBucket: (service, queue, tier, bucketStartMs) => `${svc(service)}:queue:${queue}:${tier}:${bucketStartMs}`,
    queueCommand: (service, commandId) => `${svc(service)}:queuecmd:${commandId}`,
    queueCommands: (service, queue) => `${svc(service)}:queuecmds:${queue}`,
    instances: (service) => `${svc(service)}:instances`,
    instanceInfo: (service, instance) => `${svc(service)}:instance:${instance}`,
    breakers: (service) => `${svc(service)}:breakers`,
    breakerState: (service, breaker) => `${svc(service)}:breaker:${breaker}:state`,
    breakerDesired: (service, breaker, instance) =>
      `${svc(service)}:breaker:${breaker}:desired${instance === undefined ? '' : `:${instance}`}`,
    breakerGeneration: (service, breaker) => `${svc(service)}:breaker:${breaker}:generation`,
    controlChannel: (service) => `${svc(service)}:control`,
    events: (service) => `${svc(service)}:events`,
    flushSequence: (service, ownTag) => `${svc(service)}:flushseq:${ownTag}`,
    counters: (service) => `${svc(service)}:counters`,
    metricsExporter: () => `${prefix}:metrics:exporter`,
    audit: (service) => (service === undefined ? `${prefix}:audit` : `${svc(service)}:audit`),
    alerts: (part) => `${prefix}:alerts:{alerts}:${part}`,
    session: (sessionKeyId) => `${prefix}:session:${sessionKeyId}`,
    tokenSessions: (tokenId) => `${prefix}:tokensessions:${tokenId}`,
    loginLink: (tokenHash) => `${prefix}:loginlink:${tokenHash}`,
  }
}
