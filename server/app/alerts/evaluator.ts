/**
 * Alert evaluation by exactly one dashboard server at a time, however many run (issue #14, docs/decisions/035).
 *
 * Every server runs an `AlertEvaluator`; they contend for the lease `P:alerts:{alerts}:lease`, whose value is
 * `<server id>|<fencing token>` (the token from INCR on `…:fence`, new at every acquisition). The holder renews it
 * every LEASE_RENEW_MS; it lives LEASE_TTL_MS, so a killed holder is replaced within LEASE_TTL_MS + LEASE_RENEW_MS
 * (20 s). Every write of an evaluation and every delivery result is one Lua script that first checks the lease still
 * holds exactly the holder's value (Kleppmann's fencing token, "How to do distributed locking", 2016): a server
 * that paused past its lease (GC, SIGSTOP, a slow Redis) and wakes up writes nothing, so it can neither fire an
 * alert twice nor resolve one the new holder owns. States live in Redis, not in the holder, so a new holder
 * continues each episode where the old one left it (no duplicate, no missed transition).
 *
 * One evaluation: read rules, stored alerts, acknowledgements and silences; observe every enabled rule's condition
 * (observe.ts; a rule whose read fails keeps its alerts untouched); step each alert (shared/alerts.ts `stepAlert`);
 * then commit in one fenced script: alert states, history entries, acknowledgements of ended episodes dropped,
 * silences ended 7 d ago dropped, and one outbox entry per receiver for each notification due — a firing alert not
 * yet notified and not silenced, or a notified alert that resolved. Delivery (notify.ts) follows, by the holder.
 */
import { hostname } from 'node:os'
import { createHash, randomBytes } from 'node:crypto'
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { activeSilenceFor, renderSummary, seriesKeyOf, stepAlert, type AlertInstance, type AlertRule, type AlertTransition } from '../../../shared/alerts'
import type { Clock } from '../../../shared/timeBuckets'
import { STREAM_CAPS } from '../../../shared/vocabulary'
import { APPEND_AUDIT_LUA, auditMinId, CHECK_TYPE_LUA } from '../audit'
import { readKey, reportInvalidValue } from '../reads/redisInput'
import { ObservationReads, observe } from './observe'
import type { AlertNotification} from './notify';
import { GIVE_UP_AFTER_MS, nextAttemptAt, notificationRequest, OutboxEntry, postJson, type AttemptResult, type Receiver } from './notify'
import { deliveryFields, historyFields } from './alertStreams'
import { alertField, readAlertStates, readRules, readSilences } from './store'

/** Default evaluation interval, ms (issue #14: every 10 s; FUSEBOX_ALERT_INTERVAL_S). */
export const DEFAULT_EVAL_INTERVAL_MS = 10_000
/** Lease life, ms: a holder that stops renewing loses it this long after its last renewal. */
export const LEASE_TTL_MS = 15_000
/** How often the holder renews the lease and the others try to take a free one, ms. */
export const LEASE_RENEW_MS = 5000
/** How often due deliveries are sent and the loop wakes, ms. */
const TICK_MS = 1000
/** How often firing alerts are re-sent to Alertmanager (Prometheus' default resend delay, 1 min). */
export const ALERTMANAGER_RESEND_MS = 60_000
/** History and delivery-log retention, ms: 90 days (issue #14). */
export const ALERT_HISTORY_RETENTION_MS = 90 * 86_400_000
/** Ended silences are dropped this long after their end, ms. */
const SILENCE_KEEP_AFTER_END_MS = 7 * 86_400_000
/** Most deliveries queued; beyond, new notifications are dropped and counted (a receiver down for days). */
export const MAX_OUTBOX = 10_000
/** Most deliveries attempted in parallel in one tick. */
const DELIVERY_CONCURRENCY = 8

/** Lua: the fencing check every holder write starts with (KEYS[1] = lease, ARGV[1] = the holder's lease value). */
const FENCE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'FENCED' end
`

/**
 * KEYS: lease, fence. ARGV: server id, ttl ms. Renews the lease when ours, takes it (with a new fencing token) when
 * free; a lease or fence key of another type is dropped (it is Fusebox's own). Returns the lease value, or false
 * when another server holds it.
 */
const ACQUIRE_LUA = `
for _, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'none' and t ~= 'string' then redis.call('DEL', k) end
end
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return cur
  end
  return false
end
local ok, token = pcall(redis.call, 'INCR', KEYS[2])
if not ok then
  redis.call('SET', KEYS[2], '1')
  token = 1
end
local value = ARGV[1] .. '|' .. token
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
`

/** KEYS: lease. ARGV: the holder's lease value. Deletes the lease only when ours. */
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/**
 * KEYS: lease, states, acks, history, outbox, silences. ARGV: lease value, JSON changes `{ set: [[field, json]],
 * del: [field], acksDel: [field], history: [[fields…]], outbox: [[id, json]], silencesDel: [id], atMs, minId }`,
 * history max entries, outbox cap. Returns 'FENCED' (nothing written) or the number of outbox entries dropped
 * because the outbox was full.
 */
const COMMIT_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
${FENCE_LUA}
local bad = fuseboxCheckType(KEYS[2], 'hash') or fuseboxCheckType(KEYS[3], 'hash') or fuseboxCheckType(KEYS[4], 'stream')
  or fuseboxCheckType(KEYS[5], 'hash') or fuseboxCheckType(KEYS[6], 'hash')
if bad then return redis.error_reply(bad) end
local c = cjson.decode(ARGV[2])
for _, kv in ipairs(c.set) do redis.call('HSET', KEYS[2], kv[1], kv[2]) end
for _, f in ipairs(c.del) do redis.call('HDEL', KEYS[2], f) end
for _, f in ipairs(c.acksDel) do redis.call('HDEL', KEYS[3], f) end
for _, f in ipairs(c.silencesDel) do redis.call('HDEL', KEYS[6], f) end
for _, fields in ipairs(c.history) do fuseboxAppendAudit(KEYS[4], c.atMs, ARGV[3], c.minId, fields) end
local dropped = 0
local cap = tonumber(ARGV[4])
for _, kv in ipairs(c.outbox) do
  if redis.call('HLEN', KEYS[5]) >= cap then dropped = dropped + 1 else redis.call('HSET', KEYS[5], kv[1], kv[2]) end
end
return dropped
`

/**
 * KEYS: lease, outbox, deliveries. ARGV: lease value, outbox id, new outbox JSON ('' = done: delete), JSON array of
 * the log entry's fields, atMs, max entries, minId. Returns 'FENCED' or 'OK'.
 */
const DELIVERY_RESULT_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
${FENCE_LUA}
local bad = fuseboxCheckType(KEYS[2], 'hash') or fuseboxCheckType(KEYS[3], 'stream')
if bad then return redis.error_reply(bad) end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then return 'OK' end
if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
fuseboxAppendAudit(KEYS[3], ARGV[5], ARGV[6], ARGV[7], cjson.decode(ARGV[4]))
return 'OK'
`

/** Options of an `AlertEvaluator`. */
export interface AlertEvaluatorOptions {
  redis: RedisClient
  keys: KeySpace
  receivers: readonly Receiver[]
  /** Evaluation interval, ms (default DEFAULT_EVAL_INTERVAL_MS). */
  intervalMs?: number
  /** The dashboard's public base URL, for links in notifications (default http://127.0.0.1:3000). */
  externalUrl?: string
  clock?: Clock
  /** Lease timings, ms (defaults LEASE_TTL_MS, LEASE_RENEW_MS; tests shorten them). */
  leaseTtlMs?: number
  leaseRenewMs?: number
  /** How often the loop wakes, ms (default 1000). */
  tickMs?: number
  /** Sends one request (default `postJson`); tests count through it. */
  post?: (url: string, body: unknown, idempotencyKey: string, userAgent: string) => Promise<AttemptResult>
  /** Called with every evaluation or delivery error (default: console.warn, at most once per minute per kind). */
  onError?: (kind: 'lease' | 'evaluate' | 'rule' | 'deliver', error: Error) => void
  userAgent?: string
}

/** What the last evaluation by this server did (for `alerts.status` and tests). */
export interface EvaluationResult {
  atMs: number
  rules: number
  alerts: number
  transitions: { field: string; transition: AlertTransition }[]
  /** Rules whose condition could not be read (their alerts were kept as they were). */
  failedRules: string[]
  queued: number
  droppedNotifications: number
  fenced: boolean
}

/** Evaluates the alert rules while holding the lease, and delivers what they queue. */
export class AlertEvaluator {
  /** This server's id in the lease: host, pid and a random tag (two apps in one process differ). */
  readonly serverId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly o: Required<Omit<AlertEvaluatorOptions, 'onError'>> & Pick<AlertEvaluatorOptions, 'onError'>
  /** The lease value while this server holds it, else null. */
  private lease: string | null = null
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private closed = false
  private nextLeaseMs = 0
  private nextEvalMs = 0
  private nextResendMs = 0
  private readonly lastWarned = new Map<string, number>()
  /** The last evaluation this server made (null before its first). */
  last: EvaluationResult | null = null

  constructor(options: AlertEvaluatorOptions) {
    this.o = {
      intervalMs: DEFAULT_EVAL_INTERVAL_MS,
      externalUrl: 'http://127.0.0.1:3000',
      clock: Date.now,
      leaseTtlMs: LEASE_TTL_MS,
      leaseRenewMs: LEASE_RENEW_MS,
      tickMs: TICK_MS,
      post: postJson,
      userAgent: 'fusebox-alerts',
      ...options,
    }
  }

  /** True while this server holds the evaluation lease. */
  get holding(): boolean {
    return this.lease !== null
  }

  /** Starts the loop (first tick at once). */
  start(): void {
    if (this.timer || this.closed) return
    const loop = () => {
      this.running = this.tick().finally(() => {
        this.running = null
        if (!this.closed) {
          this.timer = setTimeout(loop, this.o.tickMs)
          this.timer.unref()
        }
      })
    }
    this.timer = setTimeout(loop, 0)
    this.timer.unref()
  }

  /** Stops the loop, waits for a tick in flight, and gives the lease up (another server takes it at once). */
  async stop(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
    if (this.lease) {
      try {
        await this.o.redis.eval(RELEASE_LUA, 1, this.o.keys.alerts('lease'), this.lease)
      } catch {
        // Redis away: the lease expires within its TTL
      }
      this.lease = null
    }
  }

  private warn(kind: 'lease' | 'evaluate' | 'rule' | 'deliver', e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e))
    if (this.o.onError) return this.o.onError(kind, error)
    const now = Date.now()
    if ((this.lastWarned.get(kind) ?? 0) > now - 60_000) return
    this.lastWarned.set(kind, now)
    console.warn(`[fusebox] alerts: ${kind} failed: ${error.message} (logged at most once a minute)`)
  }

  /** One wake-up: lease, then (holding) evaluation when due, deliveries, Alertmanager re-sends. Never rejects. */
  async tick(): Promise<void> {
    const now = this.o.clock()
    if (now >= this.nextLeaseMs) {
      this.nextLeaseMs = now + this.o.leaseRenewMs
      try {
        await this.acquire()
      } catch (e) {
        this.lease = null
        this.warn('lease', e)
      }
    }
    if (!this.lease || this.closed) return
    if (now >= this.nextEvalMs) {
      this.nextEvalMs = now + this.o.intervalMs
      try {
        await this.evaluate()
      } catch (e) {
        this.warn('evaluate', e)
      }
    }
    if (!this.lease || this.closed) return
    try {
      await this.deliverDue()
      if (this.o.clock() >= this.nextResendMs && this.o.receivers.some((r) => r.kind === 'alertmanager')) {
        this.nextResendMs = this.o.clock() + ALERTMANAGER_RESEND_MS
        await this.resendFiring()
      }
    } catch (e) {
      this.warn('deliver', e)
    }
  }

  /** Takes or renews the lease. @returns whether this server holds it now. @throws Redis errors */
  async acquire(): Promise<boolean> {
    const reply = await this.o.redis.eval(ACQUIRE_LUA, 2, this.o.keys.alerts('lease'), this.o.keys.alerts('fence'), this.serverId, String(this.o.leaseTtlMs))
    const got = typeof reply === 'string' ? reply : null
    if (got !== this.lease && got !== null) this.nextEvalMs = 0 // newly acquired: evaluate at once
    this.lease = got
    return got !== null
  }

  /**
   * One evaluation at `clock()` (the holder's; does nothing without the lease). @returns what it did (`fenced`: the
   * lease was lost before the commit, nothing written). @throws Redis errors reading the rules, states or silences
   */
  async evaluate(): Promise<EvaluationResult | null> {
    const lease = this.lease
    if (!lease) return null
    const { redis, keys } = this.o
    const nowMs = this.o.clock()
    const [rules, { alerts, acks }, silences] = await Promise.all([readRules(redis, keys), readAlertStates(redis, keys), readSilences(redis, keys)])
    const ruleById = new Map<string, AlertRule>(rules.map((r) => [r.rule.id, r.rule]))
    const reads = new ObservationReads(redis, keys, nowMs)
    const enabled = rules.map((r) => r.rule).filter((r) => r.enabled)
    const failed = new Set<string>()
    const observed = await Promise.all(
      enabled.map(async (rule) => {
        try {
          return { rule, observations: await observe(rule.condition, reads) }
        } catch (e) {
          failed.add(rule.id)
          this.warn('rule', new Error(`rule ${rule.id} (${rule.name}): ${(e as Error).message}`))
          return { rule, observations: [] }
        }
      }),
    )
    const activeSilences = silences.map((s) => s.silence)
    const changes = { set: [] as [string, string][], del: [] as string[], acksDel: [] as string[], history: [] as string[][], outbox: [] as [string, string][], silencesDel: [] as string[], atMs: nowMs, minId: auditMinId(nowMs, { retentionMs: ALERT_HISTORY_RETENTION_MS, maxEntries: STREAM_CAPS.audit }) }
    const transitions: EvaluationResult['transitions'] = []
    const seen = new Set<string>()

    const apply = (field: string, rule: Pick<AlertRule, 'id' | 'forS' | 'name' | 'severity' | 'summary' | 'runbookUrl'>, prev: AlertInstance | undefined, next: AlertInstance | null, transition: AlertTransition | null) => {
      const alert = next ?? prev
      if (!alert) return
      const silence = activeSilenceFor(activeSilences, alert.labels, nowMs)
      if (transition) {
        transitions.push({ field, transition })
        changes.history.push(historyFields(alert, transition, nowMs, silence?.id ?? ''))
      }
      const notify = (status: 'firing' | 'resolved') => {
        for (const receiver of this.o.receivers) {
          const notification: AlertNotification = {
            id: `${status}:${alert.ruleId}:${alert.activeSinceMs}:${seriesHash(alert.key)}`,
            status,
            ruleId: alert.ruleId,
            severity: (alert.labels.severity as AlertNotification['severity'] | undefined) ?? 'warning',
            labels: alert.labels,
            annotations: { summary: renderSummary(rule.summary, alert.value), ...(rule.runbookUrl ? { runbook_url: rule.runbookUrl } : {}) },
            startsAtMs: alert.activeSinceMs,
            endsAtMs: status === 'resolved' ? nowMs : null,
            value: alert.value,
            generatorURL: `${this.o.externalUrl.replace(/\/+$/, '')}/alerts`,
          }
          const entry: OutboxEntry = { id: `${notification.id}@${receiver.id}`, receiver: receiver.id, alert: field, notification, createdAtMs: nowMs, attempts: 0, nextAttemptMs: nowMs, lastError: null }
          changes.outbox.push([entry.id, JSON.stringify(entry)])
        }
      }
      if (next) {
        if (next.state === 'firing' && !next.notified && !silence) {
          notify('firing')
          next.notified = true
        }
        changes.set.push([field, JSON.stringify(next)])
        const ack = acks.get(field)
        if (ack && ack.activeSinceMs !== next.activeSinceMs) changes.acksDel.push(field)
      } else {
        if (transition === 'resolved' && prev?.notified) notify('resolved')
        changes.del.push(field)
        if (acks.has(field)) changes.acksDel.push(field)
      }
    }

    for (const { rule, observations } of observed) {
      for (const obs of observations) {
        const key = seriesKeyOf(obs.labels)
        const field = alertField(rule.id, key)
        if (seen.has(field)) continue
        seen.add(field)
        const labels = { ...rule.labels, ...obs.labels, alertname: rule.name, severity: rule.severity, rule_id: rule.id }
        const prev = alerts.get(field)
        const { next, transition } = stepAlert(prev, obs, rule, labels, key, nowMs)
        apply(field, rule, prev, next, transition)
      }
    }
    // Stored alerts no observation confirmed: resolved (or cleared) — unless their rule could not be read now.
    for (const [field, prev] of alerts) {
      if (seen.has(field) || failed.has(prev.ruleId)) continue
      const rule = ruleById.get(prev.ruleId) ?? { id: prev.ruleId, forS: 0, name: prev.labels.alertname ?? prev.ruleId, severity: 'warning' as const, summary: '', runbookUrl: undefined }
      const { next, transition } = stepAlert(prev, undefined, rule, prev.labels, prev.key, nowMs)
      apply(field, rule, prev, next, transition)
    }
    for (const [field] of acks) if (!alerts.has(field) && !seen.has(field)) changes.acksDel.push(field)
    for (const { silence } of silences) if (silence.endsAtMs < nowMs - SILENCE_KEEP_AFTER_END_MS) changes.silencesDel.push(silence.id)

    const reply = await redis.eval(
      COMMIT_LUA,
      6,
      keys.alerts('lease'),
      keys.alerts('states'),
      keys.alerts('acks'),
      keys.alerts('history'),
      keys.alerts('outbox'),
      keys.alerts('silences'),
      lease,
      JSON.stringify(changes),
      String(STREAM_CAPS.audit),
      String(MAX_OUTBOX),
    )
    const fenced = reply === 'FENCED'
    if (fenced) this.lease = null
    const dropped = fenced ? 0 : Number(reply)
    if (dropped > 0) this.warn('deliver', new Error(`the outbox is full (${MAX_OUTBOX}): ${dropped} notifications dropped`))
    this.last = {
      atMs: nowMs,
      rules: enabled.length,
      alerts: changes.set.length,
      transitions,
      failedRules: [...failed],
      queued: changes.outbox.length - dropped,
      droppedNotifications: dropped,
      fenced,
    }
    return this.last
  }

  /** Every valid outbox entry (a corrupt one is dropped from the outbox and counted). @throws Redis errors */
  private async readOutbox(): Promise<OutboxEntry[]> {
    const key = this.o.keys.alerts('outbox')
    const all = await readKey(key, () => this.o.redis.hgetall(key), {} as Record<string, string>)
    const out: OutboxEntry[] = []
    for (const [field, raw] of Object.entries(all)) {
      let entry: OutboxEntry | null = null
      try {
        const r = OutboxEntry.safeParse(JSON.parse(raw))
        entry = r.success && r.data.id === field ? r.data : null
      } catch {
        entry = null
      }
      if (entry) out.push(entry)
      else {
        reportInvalidValue('alert_record', key, `outbox field ${field.slice(0, 80)}`)
        await this.o.redis.hdel(key, field)
      }
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id))
  }

  /**
   * Sends every due delivery (the oldest per alert and receiver only, so "resolved" never overtakes "firing"), and
   * records each outcome with a fenced write. @throws Redis errors reading the outbox
   */
  async deliverDue(): Promise<void> {
    const lease = this.lease
    if (!lease) return
    const nowMs = this.o.clock()
    const entries = await this.readOutbox()
    const first = new Map<string, OutboxEntry>()
    for (const e of entries) if (!first.has(`${e.receiver}\t${e.alert}`)) first.set(`${e.receiver}\t${e.alert}`, e)
    const due = [...first.values()].filter((e) => e.nextAttemptMs <= nowMs)
    for (let i = 0; i < due.length; i += DELIVERY_CONCURRENCY) {
      await Promise.all(due.slice(i, i + DELIVERY_CONCURRENCY).map((e) => this.deliver(e, lease)))
      if (this.lease !== lease) return
    }
  }

  private async deliver(entry: OutboxEntry, lease: string): Promise<void> {
    const receiver = this.o.receivers.find((r) => r.id === entry.receiver)
    const nowMs = this.o.clock()
    let result: AttemptResult
    if (!receiver) result = { ok: false, status: null, error: 'receiver not configured on this server' }
    else {
      const { url, body } = notificationRequest(receiver, entry.notification, this.o.externalUrl, nowMs)
      result = await this.o.post(url, body, entry.notification.id, this.o.userAgent)
    }
    const atMs = this.o.clock()
    const giveUp = !result.ok && atMs - entry.createdAtMs >= GIVE_UP_AFTER_MS
    const outcome = result.ok ? 'delivered' : giveUp ? 'gave up' : 'failed'
    const next: OutboxEntry | null = result.ok || giveUp ? null : { ...entry, attempts: entry.attempts + 1, nextAttemptMs: nextAttemptAt(entry.attempts + 1, atMs), lastError: result.error }
    const reply = await this.o.redis.eval(
      DELIVERY_RESULT_LUA,
      3,
      this.o.keys.alerts('lease'),
      this.o.keys.alerts('outbox'),
      this.o.keys.alerts('deliveries'),
      lease,
      entry.id,
      next ? JSON.stringify(next) : '',
      JSON.stringify(deliveryFields(entry, outcome, result.status, result.ok ? null : result.error, atMs)),
      String(Math.floor(atMs)),
      String(STREAM_CAPS.audit),
      auditMinId(atMs, { retentionMs: ALERT_HISTORY_RETENTION_MS, maxEntries: STREAM_CAPS.audit }),
    )
    if (reply === 'FENCED') this.lease = null
  }

  /**
   * Re-sends every notified, unsilenced firing alert to each Alertmanager (Prometheus' resend: Alertmanager resolves
   * an alert whose `endsAt` passed without a re-send). Best effort: a failure waits for the next minute.
   */
  private async resendFiring(): Promise<void> {
    const { alerts } = await readAlertStates(this.o.redis, this.o.keys)
    const [rules, silences] = await Promise.all([readRules(this.o.redis, this.o.keys), readSilences(this.o.redis, this.o.keys)])
    const ruleById = new Map(rules.map((r) => [r.rule.id, r.rule]))
    const nowMs = this.o.clock()
    const firing = [...alerts.values()].filter((a) => a.state === 'firing' && a.notified && !activeSilenceFor(silences.map((s) => s.silence), a.labels, nowMs))
    if (firing.length === 0) return
    for (const receiver of this.o.receivers.filter((r) => r.kind === 'alertmanager')) {
      const body = firing.flatMap((a) => {
        const rule = ruleById.get(a.ruleId)
        const n: AlertNotification = {
          id: `resend:${a.ruleId}`,
          status: 'firing',
          ruleId: a.ruleId,
          severity: rule?.severity ?? 'warning',
          labels: a.labels,
          annotations: { summary: renderSummary(rule?.summary ?? '', a.value), ...(rule?.runbookUrl ? { runbook_url: rule.runbookUrl } : {}) },
          startsAtMs: a.activeSinceMs,
          endsAtMs: null,
          value: a.value,
          generatorURL: `${this.o.externalUrl.replace(/\/+$/, '')}/alerts`,
        }
        return notificationRequest(receiver, n, this.o.externalUrl, nowMs).body as unknown[]
      })
      const result = await this.o.post(`${receiver.url}/api/v2/alerts`, body, `resend:${nowMs}`, this.o.userAgent)
      if (!result.ok) this.warn('deliver', new Error(`re-sending ${firing.length} firing alerts to ${receiver.id}: ${result.error}`))
    }
  }
}

/** A short stable hash of an alert's series key (for notification ids). */
function seriesHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12)
}
