/**
 * The janitor (issue #11 "Nothing unbounded", docs/decisions/018): removes what collectors leave behind in Redis once
 * its owner is gone for longer than a stated time, so the per-tick read cost of the dashboard stays proportional to
 * what is alive. Collectors only ever add instance fields, set members and per-instance desired keys (default instance
 * names change on every restart); nothing else removes them.
 *
 * Rules (times measured on the injected clock, epoch ms; `now` is the start of the run):
 * - **Instance, 24 h** (`INSTANCE_RETENTION_MS`): an instance whose last heartbeat (its `P:{svc}:instances` score) is
 *   older than 24 h, or that is no longer in that ZSET (the SDK drops members after 1 h) and whose breaker reports are
 *   older than 24 h, loses its ZSET member, its field in every `P:{svc}:breaker:<name>:state` hash and every
 *   `P:{svc}:breaker:<name>:desired:<instance>` key. Exception: the newest report of each breaker is kept (even when its
 *   instance is gone): it is the breaker's "last reported" mark for the breaker rule. At most one such field per breaker.
 * - **Breaker, 7 days** (`BREAKER_RETENTION_MS`): a breaker whose newest report is older than 7 days and that no
 *   instance seen within 24 h reports leaves `P:{svc}:breakers`; its state hash, all-instances desired record and
 *   generation counter are deleted. A breaker an operator left FORCED_OPEN / FORCED_CLOSED is kept (the mode is sticky:
 *   a service coming back must obey it) until the service itself goes.
 * - **Cache, retained data** : a cache name leaves `P:{svc}:caches` when no cache-stats bucket of the 1 h tier still
 *   retained (30 days; every flush writes every tier) counts it.
 * - **Audit, 90 days** (`auditRetentionMs`): entries older than the audit retention are trimmed (XTRIM MINID) from
 *   `P:audit` and every listed service's `P:{svc}:audit` on each run — audit.ts trims only when an action appends,
 *   so an idle service's audit would otherwise never age out.
 * - **Service, retained data**: a service leaves `P:services` when its instances ZSET is empty (no instance seen within
 *   24 h), no breaker report is younger than 7 days, its audit stream is empty (trimmed as above) and no totals bucket of any tier is within that tier's
 *   retention — in practice 30 days after its last flush (the 1 h tier), or 90 days after its last operator action,
 *   i.e. once nothing about it can be shown; its instances ZSET, breakers and caches sets, every breaker's keys, and
 *   its events, request-log and (empty) audit streams are deleted with it.
 *
 * Safety: every delete is a compare-and-delete in a Lua script over one service's keys (one Cluster slot), checking
 * the instance's heartbeat score and the value read a moment before in the same atomic step. Collectors write the
 * heartbeat (`ZADD`) before their breaker reports in each flush pipeline, so a live instance's data is never removed;
 * a report rewritten meanwhile no longer matches and stays. Counts come from what Redis says it removed (HDEL, DEL,
 * ZREM, SREM replies), so several dashboard servers running janitors at once never double-count and never fail each
 * other: no lease is needed. The one cross-slot step (`SREM P:services`) is re-checked afterwards and undone when an
 * instance appeared in between; a collector re-adds its service and breakers on every flush anyway.
 *
 * Cost: no SCAN/KEYS. Per service and run: one ZRANGEBYSCORE of stale instances, SMEMBERS of the breakers and caches
 * sets, HSCAN of each breaker state hash, one pipeline of HKEYS over the 1 h cache-stats buckets when the service has
 * caches, and EXISTS over the totals buckets only for a service without instances. At most `maxEntriesPerRun` ZSET
 * members and hash fields are examined per run; a run that hits it stops and the next run resumes at the next service.
 */
import { ALERT_HISTORY_RETENTION_MS } from './alerts/evaluator'
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import { BreakerMode } from '../../shared/schemas'
import { DEFAULT_AUDIT_RETENTION_MS } from './audit'
import { TIERS, TIER_1H, bucketStart, type Clock, type Tier } from '../../shared/timeBuckets'

const HOUR_MS = 3_600_000
/** An instance gone (no heartbeat, no report) for longer than this is pruned: 24 h. */
export const INSTANCE_RETENTION_MS = 24 * HOUR_MS
/** A breaker no instance reported for longer than this leaves its service's list (unless forced): 7 days. */
export const BREAKER_RETENTION_MS = 7 * 24 * HOUR_MS
/** Default period between two runs of one server's janitor: 10 min (± 10 % jitter, so servers do not align). */
export const JANITOR_INTERVAL_MS = 10 * 60_000
/** The first run of `start` comes after at most this long (then every period). */
const FIRST_RUN_MAX_DELAY_MS = 60_000
/** Default bound on ZSET members and hash fields examined in one run. */
export const MAX_ENTRIES_PER_RUN = 20_000
/** HSCAN COUNT hint and the most field/value pairs (or instance names) sent to one script call. */
const BATCH = 500
/** EXISTS arguments per call inside the service script (well below Lua's stack limit). */
const EXISTS_CHUNK = 1000

/** What a run may remove, as counted on `/metrics` (`fusebox_janitor_pruned_total{kind}`). */
export const PRUNE_KINDS = ['instance', 'breaker_state_field', 'desired_key', 'breaker', 'cache', 'service', 'audit_entry'] as const
/** One of `PRUNE_KINDS`. */
export type PruneKind = (typeof PRUNE_KINDS)[number]
/** How many of each kind one run removed (exactly what Redis reported removed). */
export type PruneCounts = Record<PruneKind, number>

/** A zeroed `PruneCounts`. */
export function emptyPruneCounts(): PruneCounts {
  return { instance: 0, breaker_state_field: 0, desired_key: 0, breaker: 0, cache: 0, service: 0, audit_entry: 0 }
}

/** What a janitor needs: the server's Redis client, key builder and clock, and where its counts go. */
export interface JanitorDeps {
  redis: RedisClient
  keys: KeySpace
  /** Epoch ms (the server's `AppDeps.clock`, default `Date.now`); tests simulate days through it. */
  clock: Clock
  /** Receives each run's counts (main.ts: `countPruned` of metrics.ts); must not throw. */
  onPruned?: (counts: PruneCounts) => void
  /** Receives a failed run's error (default: `console.error`). A failed run is retried at the next period. */
  onError?: (error: unknown) => void
  /** Bound on ZSET members and hash fields examined per run; default `MAX_ENTRIES_PER_RUN`. */
  maxEntriesPerRun?: number
  /**
   * Audit entries older than this (ms) are trimmed from every service's `P:{svc}:audit` and from `P:audit` on each
   * run, also when no action appends (which is when audit.ts trims); default `DEFAULT_AUDIT_RETENTION_MS` (90 days).
   */
  auditRetentionMs?: number
}

/**
 * Compare-and-delete of breaker state fields. KEYS: state hash, instances ZSET. ARGV: instance cutoff (ms), then
 * field/value pairs. A field goes only when it still holds the value read and its instance has no heartbeat at or
 * after the cutoff. Returns how many fields were removed.
 */
const PRUNE_FIELDS_LUA = `
local cutoff = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV - 1, 2 do
  local f = ARGV[i]
  local s = redis.call('ZSCORE', KEYS[2], f)
  if (not s or tonumber(s) < cutoff) and redis.call('HGET', KEYS[1], f) == ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], f)
  end
end
return n
`

/**
 * Removes gone instances: ZSET member and per-instance desired keys. KEYS: instances ZSET, then for each name (in
 * ARGV order) its desired key of each of the service's breakers. ARGV: cutoff (ms), breakers per name, names.
 * A name with a heartbeat at or after the cutoff is skipped. Returns { members removed, desired keys removed }.
 */
const PRUNE_INSTANCES_LUA = `
local cutoff = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local members, desired = 0, 0
for j = 3, #ARGV do
  local name = ARGV[j]
  local s = redis.call('ZSCORE', KEYS[1], name)
  if not s or tonumber(s) < cutoff then
    if s then members = members + redis.call('ZREM', KEYS[1], name) end
    local base = 1 + (j - 3) * per
    for k = 1, per do desired = desired + redis.call('DEL', KEYS[base + k]) end
  end
end
return { members, desired }
`

/**
 * Removes one breaker when nothing about it changed since it was read. KEYS: state hash, desired record, generation,
 * breakers SET, instances ZSET. ARGV: breaker name, instance cutoff (ms), the one remaining field ('' for none), its
 * value. Kept when the hash changed, when that field's instance has a recent heartbeat, or when the desired mode is
 * forced. Returns 1 when the name was removed from the set, else 0.
 */
const PRUNE_BREAKER_LUA = `
local len = redis.call('HLEN', KEYS[1])
if ARGV[3] == '' then
  if len ~= 0 then return 0 end
else
  if len ~= 1 or redis.call('HGET', KEYS[1], ARGV[3]) ~= ARGV[4] then return 0 end
  local s = redis.call('ZSCORE', KEYS[5], ARGV[3])
  if s and tonumber(s) >= tonumber(ARGV[2]) then return 0 end
end
local mode = redis.call('HGET', KEYS[2], 'mode')
if mode == '${BreakerMode.enum.FORCED_OPEN}' or mode == '${BreakerMode.enum.FORCED_CLOSED}' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return redis.call('SREM', KEYS[4], ARGV[1])
`

/**
 * Deletes a service's keys when it has no instance, exactly the breakers read, no audit entry left and no retained
 * totals bucket. KEYS: instances, breakers, caches, events, request log, audit, fleet counters, then state/desired/generation per
 * breaker, then the totals buckets of every tier's retention window. ARGV: number of breakers, their names.
 * Returns 1 when deleted.
 */
const PRUNE_SERVICE_LUA = `
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
if redis.call('EXISTS', KEYS[6]) == 1 and redis.call('XLEN', KEYS[6]) > 0 then return 0 end
local nb = tonumber(ARGV[1])
if redis.call('SCARD', KEYS[2]) ~= nb then return 0 end
for i = 1, nb do
  if redis.call('SISMEMBER', KEYS[2], ARGV[1 + i]) == 0 then return 0 end
end
local first = 8 + 3 * nb
for i = first, #KEYS, ${EXISTS_CHUNK} do
  if redis.call('EXISTS', unpack(KEYS, i, math.min(i + ${EXISTS_CHUNK} - 1, #KEYS))) > 0 then return 0 end
end
redis.call('DEL', unpack(KEYS, 1, first - 1))
return 1
`

/** KEYS: one audit stream. ARGV: MINID. Trims a stream by time; leaves anything else (absent, other type) alone. */
const TRIM_AUDIT_LUA = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
`

/** Start times (epoch ms) of every bucket of `tier` not yet expired at `nowMs`, newest first. */
export function retainedBucketStarts(tier: Tier, nowMs: number): number[] {
  const starts: number[] = []
  // A bucket expires at start + bucketMs + retentionMs (bucketExpiresAt); keep those expiring after now.
  for (let s = bucketStart(nowMs, tier.bucketMs); s + tier.bucketMs + tier.retentionMs > nowMs; s -= tier.bucketMs) starts.push(s)
  return starts
}

/** A breaker report as the janitor sees it: only its age matters (a corrupt value counts as oldest). */
interface Report {
  field: string
  value: string
  updatedAtMs: number
}

function reportOf(field: string, value: string): Report {
  let updatedAtMs = Number.NEGATIVE_INFINITY
  try {
    const parsed = JSON.parse(value) as { updatedAtMs?: unknown }
    if (typeof parsed.updatedAtMs === 'number' && Number.isFinite(parsed.updatedAtMs)) updatedAtMs = parsed.updatedAtMs
  } catch {
    // Unparsable: oldest; still only removed when its instance has no recent heartbeat.
  }
  return { field, value, updatedAtMs }
}

/** True when `a` is newer than `b` (by report time, then name, so every janitor picks the same newest). */
function newer(a: Report, b: Report): boolean {
  return a.updatedAtMs > b.updatedAtMs || (a.updatedAtMs === b.updatedAtMs && a.field > b.field)
}

/** See the module comment. One per server process; `run` may also be called directly (tests). */
export class Janitor {
  private readonly maxEntries: number
  private running: Promise<PruneCounts> | null = null
  private timer: NodeJS.Timeout | null = null
  /** Services are visited in name order starting after this one (where the last budget-bound run stopped). */
  private resumeAfter = ''

  constructor(private readonly deps: JanitorDeps) {
    this.maxEntries = deps.maxEntriesPerRun ?? MAX_ENTRIES_PER_RUN
  }

  /**
   * One pass over every service (bounded by `maxEntriesPerRun`); joins a run in flight. Resolves with what it removed
   * (also handed to `onPruned`).
   * @throws whatever Redis throws (the periodic runner logs it and tries again next period)
   */
  run(): Promise<PruneCounts> {
    this.running ??= this.runOnce().finally(() => {
      this.running = null
    })
    return this.running
  }

  /**
   * Runs every `intervalMs` (± 10 %, unref'd timers) until `stop`; the first run after at most a minute, so a server
   * restarted more often than the period still prunes.
   */
  start(intervalMs: number = JANITOR_INTERVAL_MS): void {
    if (this.timer) return
    const onError = this.deps.onError ?? ((e: unknown) => console.error('[fusebox] janitor:', e))
    const schedule = (delayMs: number): void => {
      this.timer = setTimeout(() => {
        this.run()
          .then(() => undefined, onError)
          .finally(() => {
            if (this.timer) schedule(intervalMs)
          })
      }, delayMs * (0.9 + Math.random() * 0.2))
      this.timer.unref()
    }
    schedule(Math.min(intervalMs, FIRST_RUN_MAX_DELAY_MS))
  }

  /** Stops the periodic runs and waits for a run in flight (its errors are swallowed). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running?.catch(() => undefined)
  }

  private async runOnce(): Promise<PruneCounts> {
    const { redis, keys } = this.deps
    const nowMs = this.deps.clock()
    const counts = emptyPruneCounts()
    const budget = { left: this.maxEntries }
    const services = (await redis.smembers(keys.services())).sort()
    const start = services.findIndex((s) => s > this.resumeAfter)
    const ordered = start < 0 ? services : [...services.slice(start), ...services.slice(0, start)]
    this.resumeAfter = ''
    const auditMinId = `${Math.max(0, Math.floor(nowMs - (this.deps.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS)))}-0`
    const onError = this.deps.onError ?? ((e: unknown) => console.error('[fusebox] janitor:', e))
    try {
      counts.audit_entry += await this.trimAudit(keys.audit(), auditMinId)
      counts.audit_entry += await this.trimAudit(keys.alerts('audit'), auditMinId)
      // Alert history and the delivery log keep 90 days whatever the audit retention (alerts/evaluator.ts).
      const alertMinId = `${Math.max(0, Math.floor(nowMs - ALERT_HISTORY_RETENTION_MS))}-0`
      for (const part of ['history', 'deliveries'] as const) counts.audit_entry += await this.trimAudit(keys.alerts(part), alertMinId)
      for (const service of ordered) {
        if (budget.left <= 0) break
        try {
          counts.audit_entry += await this.trimAudit(keys.audit(service), auditMinId)
          await this.pruneService(service, nowMs, counts, budget)
        } catch (e) {
          // Redis gone: stop here (one error, not one per service); the next period tries again.
          if (redis.status !== 'ready') throw e
          // One service's bad data (a key of the wrong type, say) must not stop the others being pruned.
          onError(new Error(`service ${service}: ${e instanceof Error ? e.message : String(e)}`))
        }
        if (budget.left <= 0) this.resumeAfter = service
      }
    } finally {
      this.deps.onPruned?.(counts)
    }
    return counts
  }

  /** XTRIM MINID of one audit stream (absent: nothing); a key of another type is left alone. */
  private async trimAudit(key: string, minId: string): Promise<number> {
    return Number(await this.deps.redis.eval(TRIM_AUDIT_LUA, 1, key, minId))
  }

  private async pruneService(service: string, nowMs: number, counts: PruneCounts, budget: { left: number }): Promise<void> {
    const { redis, keys } = this.deps
    const instanceCutoff = nowMs - INSTANCE_RETENTION_MS
    const instancesKey = keys.instances(service)
    const stale = await redis.zrangebyscore(instancesKey, '-inf', `(${instanceCutoff}`, 'LIMIT', 0, Math.max(1, budget.left))
    budget.left -= stale.length
    const gone = new Set(stale)
    const breakers = (await redis.smembers(keys.breakers(service))).sort()

    // Breaker state fields of gone instances (all but each breaker's newest report).
    const remaining = new Map<string, { newest: Report | null; left: number; complete: boolean }>()
    for (const breaker of breakers) {
      const stateKey = keys.breakerState(service, breaker)
      const reports: Report[] = []
      let cursor = '0'
      let complete = false
      while (budget.left > 0) {
        const [next, flat] = await redis.hscan(stateKey, cursor, 'COUNT', Math.min(BATCH, budget.left))
        for (let i = 0; i + 1 < flat.length; i += 2) reports.push(reportOf(flat[i] as string, flat[i + 1] as string))
        budget.left -= flat.length / 2
        cursor = next
        if (cursor === '0') {
          complete = true
          break
        }
      }
      // HSCAN may return a field twice; keep one.
      const byField = new Map(reports.map((r) => [r.field, r]))
      let newest: Report | null = null
      for (const r of byField.values()) if (!newest || newer(r, newest)) newest = r
      const doomed = [...byField.values()].filter((r) => r.updatedAtMs < instanceCutoff && r !== newest)
      for (const r of byField.values()) if (r.updatedAtMs < instanceCutoff) gone.add(r.field)
      let removed = 0
      for (let i = 0; i < doomed.length; i += BATCH) {
        const args = doomed.slice(i, i + BATCH).flatMap((r) => [r.field, r.value])
        removed += Number(await redis.eval(PRUNE_FIELDS_LUA, 2, stateKey, instancesKey, instanceCutoff, ...args))
      }
      counts.breaker_state_field += removed
      remaining.set(breaker, { newest, left: byField.size - removed, complete })
    }

    // Gone instances: ZSET member and per-instance desired keys (the script skips any with a recent heartbeat).
    const names = [...gone]
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH)
      const desiredKeys = batch.flatMap((name) => breakers.map((b) => keys.breakerDesired(service, b, name)))
      const [members, desired] = (await redis.eval(
        PRUNE_INSTANCES_LUA,
        1 + desiredKeys.length,
        instancesKey,
        ...desiredKeys,
        instanceCutoff,
        breakers.length,
        ...batch,
      )) as [number, number]
      counts.instance += members
      counts.desired_key += desired
    }

    // Breakers nobody reported for 7 days: only the newest (gone) report may be left.
    const breakerCutoff = nowMs - BREAKER_RETENTION_MS
    for (const breaker of breakers) {
      const r = remaining.get(breaker)
      if (!r?.complete) continue
      const { newest, left } = r
      const lone = left === 0 || (left === 1 && newest !== null && newest.updatedAtMs < breakerCutoff)
      if (!lone) continue
      const removed = await redis.eval(
        PRUNE_BREAKER_LUA,
        5,
        keys.breakerState(service, breaker),
        keys.breakerDesired(service, breaker),
        keys.breakerGeneration(service, breaker),
        keys.breakers(service),
        instancesKey,
        breaker,
        instanceCutoff,
        left === 0 || !newest ? '' : newest.field,
        left === 0 || !newest ? '' : newest.value,
      )
      counts.breaker += Number(removed)
    }

    await this.pruneCaches(service, nowMs, counts)
    // A breaker reported within 7 days (or not fully read this run) keeps the service, whatever its data says.
    const recentBreaker = [...remaining.values()].some((r) => !r.complete || (r.newest !== null && r.newest.updatedAtMs >= breakerCutoff))
    if (!recentBreaker) await this.pruneWholeService(service, nowMs, counts)
  }

  /** Cache names no retained 1 h cache-stats bucket counts. */
  private async pruneCaches(service: string, nowMs: number, counts: PruneCounts): Promise<void> {
    const { redis, keys } = this.deps
    const caches = await redis.smembers(keys.caches(service))
    if (caches.length === 0) return
    const p = redis.pipeline()
    for (const s of retainedBucketStarts(TIER_1H, nowMs)) p.hkeys(keys.cacheBucket(service, TIER_1H.name, s))
    const results = (await p.exec()) ?? []
    const counted = new Set<string>()
    for (const [err, fields] of results) {
      if (err) throw err
      // cacheField() is `<cache>|<kind>`; cache names never contain '|' (NAME_PATTERN).
      for (const f of fields as string[]) counted.add(f.slice(0, f.lastIndexOf('|')))
    }
    const unused = caches.filter((c) => !counted.has(c))
    if (unused.length > 0) counts.cache += await redis.srem(keys.caches(service), ...unused)
  }

  /** The whole service, when it has no instance and no retained totals bucket (see PRUNE_SERVICE_LUA). */
  private async pruneWholeService(service: string, nowMs: number, counts: PruneCounts): Promise<void> {
    const { redis, keys } = this.deps
    const instancesKey = keys.instances(service)
    if ((await redis.zcard(instancesKey)) > 0) return
    const breakers = await redis.smembers(keys.breakers(service))
    const totals = TIERS.flatMap((tier) => retainedBucketStarts(tier, nowMs).map((s) => keys.requestTotals(service, tier.name, s)))
    const serviceKeys = [
      instancesKey,
      keys.breakers(service),
      keys.caches(service),
      keys.events(service),
      keys.requestLog(service),
      keys.audit(service),
      keys.counters(service),
      ...breakers.flatMap((b) => [keys.breakerState(service, b), keys.breakerDesired(service, b), keys.breakerGeneration(service, b)]),
    ]
    const deleted = await redis.eval(PRUNE_SERVICE_LUA, serviceKeys.length + totals.length, ...serviceKeys, ...totals, breakers.length, ...breakers)
    if (Number(deleted) !== 1) return
    // Cross-slot: P:services carries no hash tag. Counted by SREM's reply, so concurrent janitors count it once.
    const removed = await redis.srem(keys.services(), service)
    if ((await redis.zcard(instancesKey)) > 0) {
      // An instance started between the two steps: put the service back (its next flush would, within a second).
      await redis.sadd(keys.services(), service)
      return
    }
    counts.service += removed
  }
}
