/**
 * The flush's non-idempotent effects — breaker events and request-log entries (XADD), cache counters and the fleet
 * counters for Prometheus (HINCRBY; shared/fleetCounters.ts, docs/decisions/026) — applied exactly once however often
 * a flush is sent (docs/decisions/015).
 *
 * What the collector gathered between flushes is sealed into a numbered batch (`seq`, 1, 2, … per process) the first
 * time a flush carries it, and from then on it is only ever resent byte for byte, never merged with newer data. Every
 * flush sends all batches still in doubt, oldest first, in one EVAL of FLUSH_EFFECTS_LUA, which keeps the highest
 * sequence applied by this process (`ownTag`: instance + boot id) in `P:{svc}:flushseq:<ownTag>`: a batch at or
 * below it is a duplicate (answered 0, no effect), the others are applied in order (answered 1). One script per
 * flush makes the order safe: a batch can never land while an earlier one is refused, so "highest applied" is exact;
 * a guard older than the batches (Redis restored from an older snapshot, or expired) only lets them apply. All keys
 * carry the service's `{svc}` tag: one slot.
 *
 * So a flush abandoned at its timeout and sent again, a copy ioredis resends after a reconnect
 * (`autoResendUnfulfilledCommands`, on in every host-provided client by default), or a late answer, all end in one
 * effect. A batch stays "in doubt" until an answer for it says 0 or 1; the late answer of an abandoned flush counts
 * (`settle` may be called again). At most `MAX_IN_DOUBT_BATCHES` are in doubt; while that many are, new data stays
 * unsealed (bounded as before: events, caches, the request log's own bound) and the flushes resend the old ones.
 *
 * Per-command errors (WRONGTYPE on the events stream, say) fail only that part: the script runs each write with
 * `redis.pcall`, applies the rest, and answers how many entries of each part Redis refused; those are dropped and
 * counted (retrying a WRONGTYPE cannot succeed). The guard is the script's first write, so an OOM refusal (Redis
 * refuses a script's writes for OOM only before its first one) leaves nothing written and the batches in doubt.
 */
import type { ChainableCommander } from 'ioredis'
import { cacheField, type KeySpace } from '../../shared/keys'
import { eventFields, requestLogFields, type EventRecord, type RequestLogEntry } from '../../shared/streamEntries'
import { TIERS, bucketExpiresAt, bucketStart } from '../../shared/timeBuckets'
import { CACHE_EVENT_KINDS, STREAM_CAPS, type CacheEventKind } from '../../shared/vocabulary'
import { COUNTERS_OVERFLOW_ROUTE, COUNTERS_TTL_MS, MAX_COUNTER_FIELDS } from '../../shared/fleetCounters'
import type { CollectorStats } from './collectorStats'
import { CounterTotals } from './counterTotals'

/** Breaker events kept unsealed between flushes at most; beyond it the oldest are dropped and counted. */
export const MAX_PENDING_EVENTS = 1000
/** Distinct caches counted between flushes at most; events of further caches are dropped and counted (bounded memory). */
export const MAX_PENDING_CACHES = 100
/** Batches sent but not yet known applied, at most; beyond, new data waits unsealed (see the module comment). */
export const MAX_IN_DOUBT_BATCHES = 4
/** The sequence guard outlives the last batch applied by this long (ms): far beyond any resend of a dead connection. */
export const FLUSH_SEQUENCE_TTL_MS = 24 * 3_600_000

/**
 * KEYS[1] sequence guard, KEYS[2] events stream, KEYS[3] request-log stream, KEYS[4] caches set, KEYS[5] the fleet
 * counters hash (shared/fleetCounters.ts), then for each batch one cache bucket hash per tier
 * (KEYS[5 + (b-1)·tiers + t]).
 * ARGV[1] guard TTL (ms), ARGV[2] events MAXLEN, ARGV[3] request-log MAXLEN, ARGV[4] batches, ARGV[5] tiers,
 * ARGV[6] most counter fields, ARGV[7] counters TTL (ms), ARGV[8] the overflow route; then each batch, ascending
 * `seq`: <seq> <length of the rest of the block> <events> <log entries> <cache names> <cache counters>
 * <fleet counters> <PEXPIREAT of each tier's bucket (epoch ms)>, each event as <n> and n field/value strings, each
 * log entry the same, the cache names, (field, increment) pairs applied to every tier's cache bucket, and (field,
 * increment) pairs added to the fleet counters. A fleet counter field that would grow the hash beyond ARGV[6]: a
 * request series' part is added to its method's `(overflow)` series instead, any other is refused (one per field).
 * Returns, per batch, { status, refused events, refused log entries, refused cache commands, refused fleet counter
 * increments }, then the last error text ('' when none); status 1 applied, 0 duplicate (nothing done).
 */
export const FLUSH_EFFECTS_LUA = `
local ttl, eventsCap, logCap = ARGV[1], ARGV[2], ARGV[3]
local batches, tiers = tonumber(ARGV[4]), tonumber(ARGV[5])
local maxFields, countersTtl, overflowRoute = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local last = tonumber(redis.call('GET', KEYS[1]) or '') or 0
local out = {}
local lastError = ''
local fields = nil
local i = 9
local newest = nil
for _ = 1, batches do
  newest = ARGV[i]
  i = i + 2 + tonumber(ARGV[i + 1])
end
-- The guard is the first write: refused for OOM, nothing at all is written.
if newest and tonumber(newest) > last then redis.call('SET', KEYS[1], newest, 'PX', ttl) end
local function refusedBy(r)
  if type(r) == 'table' and r.err then
    lastError = r.err
    return true
  end
  return false
end
i = 9
for b = 1, batches do
  local seq, len = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local blockEnd = i + 2 + len
  local refused = {0, 0, 0, 0}
  if seq <= last then
    out[#out + 1] = 0
  else
    out[#out + 1] = 1
    local events, logEntries, names, counters = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local totals = tonumber(ARGV[i + 6])
    local expiries = i + 7
    local j = expiries + tiers
    local function entries(key, cap, n, part)
      for _ = 1, n do
        local k = tonumber(ARGV[j])
        local r = redis.pcall('XADD', key, 'MAXLEN', '~', cap, '*', unpack(ARGV, j + 1, j + k))
        j = j + k + 1
        if refusedBy(r) then refused[part] = refused[part] + 1 end
      end
    end
    entries(KEYS[2], eventsCap, events, 1)
    entries(KEYS[3], logCap, logEntries, 2)
    if names > 0 then
      if refusedBy(redis.pcall('SADD', KEYS[4], unpack(ARGV, j, j + names - 1))) then refused[3] = refused[3] + 1 end
      j = j + names
    end
    if counters > 0 then
      for t = 1, tiers do
        local key = KEYS[5 + (b - 1) * tiers + t]
        for c = 0, counters - 1 do
          if refusedBy(redis.pcall('HINCRBY', key, ARGV[j + 2 * c], ARGV[j + 2 * c + 1])) then refused[3] = refused[3] + 1 end
        end
        if refusedBy(redis.pcall('PEXPIREAT', key, ARGV[expiries + t - 1])) then refused[3] = refused[3] + 1 end
      end
      j = j + 2 * counters
    end
    if totals > 0 then
      if fields == nil then
        local n = redis.pcall('HLEN', KEYS[5])
        fields = type(n) == 'number' and n or 0
      end
      for c = 0, totals - 1 do
        local field, incr = ARGV[j + 2 * c], ARGV[j + 2 * c + 1]
        if fields >= maxFields and redis.pcall('HEXISTS', KEYS[5], field) == 0 then
          local method, part = string.match(field, '^r\t([^\t]*)\t.*\t([^\t]*)$')
          if method then field = 'r\t' .. method .. '\t' .. overflowRoute .. '\t\t\t\t' .. part else field = nil end
        end
        if field == nil then
          refused[4] = refused[4] + 1
        else
          local r = redis.pcall('HINCRBY', KEYS[5], field, incr)
          if refusedBy(r) then refused[4] = refused[4] + 1
          elseif r == tonumber(incr) then fields = fields + 1 end
        end
      end
      refusedBy(redis.pcall('PEXPIRE', KEYS[5], countersTtl))
    end
  end
  out[#out + 1] = refused[1]
  out[#out + 1] = refused[2]
  out[#out + 1] = refused[3]
  out[#out + 1] = refused[4]
  i = blockEnd
end
out[#out + 1] = lastError
return out
`

/** One sealed batch: its block of EVAL arguments is built once, so every resend carries the same batch. */
interface EffectsBatch {
  seq: number
  /** Its cache bucket hashes, one per tier (the buckets of the flush that sealed it). */
  cacheKeys: string[]
  /** `<seq> <length> …` as FLUSH_EFFECTS_LUA reads it. */
  block: string[]
}

/** The answers of one pipeline as ioredis gives them (`[error, reply]` per command), or null when it failed whole. */
export type PipelineResults = [Error | null, unknown][] | null

/** True for an error Redis itself answered (a reply: WRONGTYPE, OOM …), false for one of the connection (timeout, closed). */
export function isReplyError(e: Error): boolean {
  return e.name === 'ReplyError'
}

/**
 * True when Redis answered every command of the pipeline (some perhaps with an error reply); false when it failed
 * whole or the connection gave some command up (a command timeout, a closed socket), whose bytes may not have left.
 */
export function allAnswered(results: PipelineResults): boolean {
  return results !== null && results.every(([err]) => err === null || isReplyError(err))
}

/** True when command `at` of a pipeline was answered without an error (false when `results` is null). */
export function answered(results: PipelineResults, at: number): boolean {
  const r = results?.[at]
  return r !== undefined && r[0] === null
}

/** What the collector hands the effects queue. */
export interface FlushEffectsDeps {
  keys: KeySpace
  /** Service name, already validated. */
  service: string
  /** `<instance>#<boot id>`: names this process's sequence guard (same tag as its own series fields). */
  ownTag: string
  /** Counters it keeps. */
  stats: Pick<
    CollectorStats,
    | 'droppedEvents'
    | 'droppedCacheEvents'
    | 'droppedRequestLogEntries'
    | 'failedFlushCommands'
    | 'duplicateFlushBatches'
    | 'droppedCounterIncrements'
  >
  /** Receives a part Redis refused (WRONGTYPE …), where `flush`. */
  reportError: (error: unknown, where: string) => void
}

/** See the module comment. One flush at a time: plan → (exec) → settle, and settle again with a late answer. */
export class FlushEffects {
  private pendingEvents: EventRecord[] = []
  /** cache name → counts since the last seal, indexed like CACHE_EVENT_KINDS. */
  private cacheCounts = new Map<string, number[]>()
  private readonly inDoubt: EffectsBatch[] = []
  private nextSeq = 1
  /** Fleet counters gathered since the last seal (requests, breaker outcomes, cache events: counterTotals.ts). */
  readonly counters = new CounterTotals()

  constructor(private readonly deps: FlushEffectsDeps) {}

  /** Queues a breaker event for the next batch; the oldest is dropped (and counted) beyond MAX_PENDING_EVENTS. */
  addEvent(e: EventRecord): void {
    if (this.pendingEvents.length >= MAX_PENDING_EVENTS) {
      this.pendingEvents.shift()
      this.deps.stats.droppedEvents++
    }
    this.pendingEvents.push(e)
  }

  /** Counts `n` cache events of `kind` for cache `cache` until the next batch (dropped and counted beyond MAX_PENDING_CACHES caches). */
  countCacheEvent(cache: string, kind: CacheEventKind, n: number): void {
    let counts = this.cacheCounts.get(cache)
    if (counts === undefined) {
      if (this.cacheCounts.size >= MAX_PENDING_CACHES) {
        this.deps.stats.droppedCacheEvents += n
        return
      }
      counts = [0, 0, 0, 0]
      this.cacheCounts.set(cache, counts)
    }
    const i = CACHE_EVENT_KINDS.indexOf(kind)
    if (i >= 0) {
      counts[i] = (counts[i] ?? 0) + n
      this.counters.countCacheEvent(cache, kind, n)
    }
  }

  /** True while some effect is unsealed or in doubt (the collector's close keeps flushing while Redis answers). */
  get pending(): boolean {
    return this.inDoubt.length > 0 || this.pendingEvents.length > 0 || this.cacheCounts.size > 0 || !this.counters.isEmpty
  }

  /** Batches sent and not yet known applied. */
  get inDoubtCount(): number {
    return this.inDoubt.length
  }

  /**
   * Whether this flush may seal a new batch (fewer than MAX_IN_DOUBT_BATCHES in doubt). When it may not, the
   * caller leaves its request-log sample in the sampler for later.
   */
  get canSeal(): boolean {
    return this.inDoubt.length < MAX_IN_DOUBT_BATCHES
  }

  /**
   * Adds to pipeline `p` one EVAL carrying every batch in doubt (oldest first), a new batch sealed from what was
   * gathered (events, cache counters at `nowMs`'s buckets, and `requestLog`) among them when there is anything and
   * `canSeal`. `requestLog` must be empty when `canSeal` is false. Returns `settle`: call it with the pipeline's
   * answers (or null when it failed or timed out); it may be called again with a late answer.
   */
  plan(p: ChainableCommander, nowMs: number, requestLog: RequestLogEntry[]): (results: PipelineResults) => void {
    if (this.canSeal) this.seal(nowMs, requestLog)
    if (this.inDoubt.length === 0) return () => {}
    const { keys: k, service } = this.deps
    const sent = [...this.inDoubt]
    const keys = [k.flushSequence(service, this.deps.ownTag), k.events(service), k.requestLog(service), k.caches(service), k.counters(service)]
    const args = [
      String(FLUSH_SEQUENCE_TTL_MS),
      String(STREAM_CAPS.events),
      String(STREAM_CAPS.requestLog),
      String(sent.length),
      String(TIERS.length),
      String(MAX_COUNTER_FIELDS),
      String(COUNTERS_TTL_MS),
      COUNTERS_OVERFLOW_ROUTE,
    ]
    for (const b of sent) {
      keys.push(...b.cacheKeys)
      for (const a of b.block) args.push(a)
    }
    const at = p.length
    p.eval(FLUSH_EFFECTS_LUA, keys.length, ...keys, ...args)
    return (results) => {
      const reply = answered(results, at) ? results?.[at]?.[1] : undefined
      if (!Array.isArray(reply)) return
      sent.forEach((b, j) => this.settleBatch(b, reply.slice(5 * j, 5 * j + 5), reply[reply.length - 1]))
    }
  }

  /** Seals everything gathered (and `requestLog`) into the next batch, if there is anything. */
  private seal(nowMs: number, requestLog: RequestLogEntry[]): void {
    const events = this.pendingEvents
    const counts = this.cacheCounts
    const dropped = this.counters.droppedIncrements
    if (dropped > 0) {
      this.deps.stats.droppedCounterIncrements += dropped
      this.counters.droppedIncrements = 0
    }
    if (events.length === 0 && counts.size === 0 && requestLog.length === 0 && this.counters.isEmpty) return
    this.pendingEvents = []
    this.cacheCounts = new Map()
    const totals = this.counters.take()
    const { keys: k, service } = this.deps
    const seq = this.nextSeq++
    const cacheKeys: string[] = []
    const expiries: string[] = []
    for (const tier of TIERS) {
      const start = bucketStart(nowMs, tier.bucketMs)
      cacheKeys.push(k.cacheBucket(service, tier.name, start))
      expiries.push(String(bucketExpiresAt(start, tier)))
    }
    const counters: string[] = []
    for (const [cache, c] of counts) {
      CACHE_EVENT_KINDS.forEach((kind, i) => {
        const n = c[i] ?? 0
        if (n !== 0) counters.push(cacheField(cache, kind), String(n))
      })
    }
    const names = counters.length > 0 ? [...counts.keys()] : []
    const rest: string[] = [
      String(events.length),
      String(requestLog.length),
      String(names.length),
      String(counters.length / 2),
      String(totals.length / 2),
      ...expiries,
    ]
    for (const e of events) {
      const f = eventFields(e)
      rest.push(String(f.length), ...f)
    }
    for (const r of requestLog) {
      const f = requestLogFields(r)
      rest.push(String(f.length), ...f)
    }
    rest.push(...names, ...counters)
    for (const t of totals) rest.push(t)
    this.inDoubt.push({ seq, cacheKeys, block: [String(seq), String(rest.length), ...rest] })
  }

  /**
   * Applies one batch's answer (`[status, refused events, refused log, refused cache, refused counter increments]`): 0 or 1 takes it out of doubt
   * (if still in), 0 is counted as a duplicate copy whichever flush carried it, and 1 — given once per batch —
   * reports what Redis refused.
   */
  private settleBatch(b: EffectsBatch, answer: unknown[], lastError: unknown): void {
    const status = Number(answer[0])
    if (status !== 0 && status !== 1) return
    const i = this.inDoubt.indexOf(b)
    if (i >= 0) this.inDoubt.splice(i, 1)
    const { stats } = this.deps
    if (status === 0) {
      stats.duplicateFlushBatches++
      return
    }
    const refusedEvents = Number(answer[1]) || 0
    const refusedLog = Number(answer[2]) || 0
    const refusedCache = Number(answer[3]) || 0
    const refusedCounters = Number(answer[4]) || 0
    stats.droppedCounterIncrements += refusedCounters
    if (refusedEvents + refusedLog + refusedCache + refusedCounters === 0) return
    stats.droppedEvents += refusedEvents
    stats.droppedRequestLogEntries += refusedLog
    stats.failedFlushCommands += refusedEvents + refusedLog + refusedCache
    this.deps.reportError(
      new Error(
        `flush effects of batch ${b.seq}: Redis refused ${refusedEvents} event(s), ${refusedLog} request-log entr(ies), ` +
          `${refusedCache} cache command(s), ${refusedCounters} fleet counter increment(s): ${String(lastError)}`,
      ),
      'flush',
    )
  }
}
