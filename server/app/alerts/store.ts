/**
 * What operators change in alerting — rules, silences, acknowledgements — and how it is read back (issue #14,
 * docs/decisions/035). Every change is one Lua script on the `{alerts}` slot that compares the stored value with the
 * one the caller read (compare-and-set), writes, and appends the audit entry, so a change is never without its audit
 * and two concurrent edits never silently overwrite each other (the second gets `CONFLICT`, a 409).
 * Everything read back is validated (shared/alerts.ts schemas): a corrupt value is skipped and counted
 * (`fusebox_redis_invalid_values_total{kind="alert_record"}`), never a 500.
 */
import { randomBytes } from 'node:crypto'
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { AlertInstance, AlertRule, Silence, type AlertRuleInput, type SilenceInput } from '../../../shared/alerts'
import { auditFields } from '../../../shared/streamEntries'
import { APPEND_AUDIT_LUA, auditMinId, auditRecord, CHECK_TYPE_LUA, DEFAULT_AUDIT_RETENTION, type AuditInput, type AuditRetention } from '../audit'
import { readKey, reportInvalidValue } from '../reads/redisInput'

/** Most alert rules (a create beyond answers TOO_MANY; each rule is evaluated every 10 s). */
export const MAX_ALERT_RULES = 500
/** Most silences stored, ended ones included until the evaluator drops them (7 d after their end). */
export const MAX_SILENCES = 1000

/**
 * KEYS: the hash, the audit stream. ARGV: field, expected raw value ('' = must be absent, '*' = any), new raw value
 * ('' = delete the field), the hash's field cap (checked on create), then the audit entry: atMs, maxEntries, minId,
 * JSON array of its fields. Returns 'OK', 'CONFLICT' (the stored value is not the expected one), 'NOT_FOUND' or
 * 'TOO_MANY'.
 */
const CAS_WITH_AUDIT_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
local bad = fuseboxCheckType(KEYS[1], 'hash') or fuseboxCheckType(KEYS[2], 'stream')
if bad then return redis.error_reply(bad) end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local expected, new = ARGV[2], ARGV[3]
if expected == '' then
  if cur then return 'CONFLICT' end
  if new ~= '' and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'TOO_MANY' end
elseif not cur then
  return 'NOT_FOUND'
elseif expected ~= '*' and cur ~= expected then
  return 'CONFLICT'
end
if new == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], new) end
fuseboxAppendAudit(KEYS[2], ARGV[5], ARGV[6], ARGV[7], cjson.decode(ARGV[8]))
return 'OK'
`

/** Why a change was refused: the API maps these to 404, 409 and 400. */
export class AlertChangeError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'CONFLICT' | 'TOO_MANY',
    message: string,
  ) {
    super(message)
  }
}

/** What a change needs besides its data: who, when (epoch ms), the audit bounds. */
export interface ChangeContext {
  actor: string
  atMs: number
  retention?: AuditRetention
}

/**
 * Runs CAS_WITH_AUDIT_LUA on `hash`/`field`. @throws AlertChangeError when refused, Redis errors (FUSEBOX_WRONGTYPE
 * when a key holds another type: nothing written)
 */
async function casWithAudit(
  redis: RedisClient,
  keys: KeySpace,
  part: 'rules' | 'silences' | 'acks',
  field: string,
  expected: string,
  next: string,
  cap: number,
  ctx: ChangeContext,
  audit: Omit<AuditInput, 'atMs' | 'actor' | 'service'>,
  what: string,
): Promise<void> {
  const retention = ctx.retention ?? DEFAULT_AUDIT_RETENTION
  const fields = auditFields(auditRecord({ ...audit, atMs: ctx.atMs, actor: ctx.actor, service: '' }))
  const result = String(
    await redis.eval(
      CAS_WITH_AUDIT_LUA,
      2,
      keys.alerts(part),
      keys.alerts('audit'),
      field,
      expected,
      next,
      String(cap),
      String(Math.floor(ctx.atMs)),
      String(retention.maxEntries),
      auditMinId(ctx.atMs, retention),
      JSON.stringify(fields),
    ),
  )
  if (result === 'OK') return
  if (result === 'NOT_FOUND') throw new AlertChangeError('NOT_FOUND', `${what} not found`)
  if (result === 'TOO_MANY') throw new AlertChangeError('TOO_MANY', `at most ${cap} ${part} may be stored`)
  throw new AlertChangeError('CONFLICT', `${what} was changed by someone else meanwhile; reload and try again`)
}

/**
 * Every field of one alerting hash, parsed by `schema`; a field that is not valid JSON of that shape is skipped and
 * counted (`alert_record`). A hash of the wrong type reads as empty (counted as `wrong_type`).
 * @returns `[field, raw value, parsed]` triples
 */
async function readHash<T>(redis: RedisClient, key: string, parse: (x: unknown) => T | null): Promise<[string, string, T][]> {
  const all = await readKey(key, () => redis.hgetall(key), {} as Record<string, string>)
  const out: [string, string, T][] = []
  for (const [field, raw] of Object.entries(all)) {
    let parsed: T | null = null
    try {
      parsed = parse(JSON.parse(raw))
    } catch {
      parsed = null
    }
    if (parsed === null) reportInvalidValue('alert_record', key, `field ${field}`)
    else out.push([field, raw, parsed])
  }
  return out
}

/** `schema.safeParse` as a parse function for readHash. */
const parserOf =
  <T>(schema: { safeParse(x: unknown): { success: true; data: T } | { success: false } }) =>
  (x: unknown): T | null => {
    const r = schema.safeParse(x)
    return r.success ? r.data : null
  }

/** A rule as stored, with the raw value it was read from (for compare-and-set). */
export interface StoredRule {
  rule: AlertRule
  raw: string
}

/** Every valid rule, sorted by name then id. @throws Redis errors */
export async function readRules(redis: RedisClient, keys: KeySpace): Promise<StoredRule[]> {
  const rows = await readHash(redis, keys.alerts('rules'), parserOf(AlertRule))
  return rows
    .filter(([field, , rule]) => {
      if (field === rule.id) return true
      reportInvalidValue('alert_record', keys.alerts('rules'), `field ${field} holds rule ${rule.id}`)
      return false
    })
    .map(([, raw, rule]) => ({ rule, raw }))
    .sort((a, b) => a.rule.name.localeCompare(b.rule.name) || a.rule.id.localeCompare(b.rule.id))
}

/** One rule, or null when absent or invalid. @throws Redis errors */
export async function readRule(redis: RedisClient, keys: KeySpace, id: string): Promise<StoredRule | null> {
  return (await readRules(redis, keys)).find((r) => r.rule.id === id) ?? null
}

/** A new random id: `prefix` + 16 hex digits. */
function newId(prefix: 'r_' | 's_'): string {
  return prefix + randomBytes(8).toString('hex')
}

/** Human description of a rule for the audit: its name and id. */
const describeRule = (rule: Pick<AlertRule, 'name' | 'id'>) => `alert rule "${rule.name}" (${rule.id})`

/**
 * Creates a rule (audited `alertRule.create`). @returns the stored rule (version 1)
 * @throws AlertChangeError TOO_MANY beyond MAX_ALERT_RULES; Redis errors
 */
export async function createRule(redis: RedisClient, keys: KeySpace, input: AlertRuleInput, reason: string, ctx: ChangeContext): Promise<AlertRule> {
  const rule: AlertRule = { ...input, id: newId('r_'), version: 1, createdAtMs: ctx.atMs, createdBy: ctx.actor, updatedAtMs: ctx.atMs, updatedBy: ctx.actor }
  await casWithAudit(redis, keys, 'rules', rule.id, '', JSON.stringify(rule), MAX_ALERT_RULES, ctx, {
    action: 'alertRule.create',
    targetDescription: describeRule(rule),
    reason,
    outcome: 'created',
  }, describeRule(rule))
  return rule
}

/**
 * Replaces rule `id`'s definition, if it is still at `version` (audited `alertRule.update`; enabling or disabling is
 * an update). Its alerts whose label sets the new condition no longer yields resolve at the next evaluation.
 * @returns the stored rule (version + 1)
 * @throws AlertChangeError NOT_FOUND, CONFLICT (someone saved another version meanwhile); Redis errors
 */
export async function updateRule(
  redis: RedisClient,
  keys: KeySpace,
  id: string,
  version: number,
  input: AlertRuleInput,
  reason: string,
  ctx: ChangeContext,
): Promise<AlertRule> {
  const stored = await readRule(redis, keys, id)
  if (!stored) throw new AlertChangeError('NOT_FOUND', `alert rule ${id} not found`)
  if (stored.rule.version !== version) throw new AlertChangeError('CONFLICT', `${describeRule(stored.rule)} is at version ${stored.rule.version}, not ${version}; reload and try again`)
  const rule: AlertRule = { ...input, id, version: version + 1, createdAtMs: stored.rule.createdAtMs, createdBy: stored.rule.createdBy, updatedAtMs: ctx.atMs, updatedBy: ctx.actor }
  const action = stored.rule.enabled === rule.enabled ? 'alertRule.update' : rule.enabled ? 'alertRule.enable' : 'alertRule.disable'
  await casWithAudit(redis, keys, 'rules', id, stored.raw, JSON.stringify(rule), MAX_ALERT_RULES, ctx, {
    action,
    targetDescription: describeRule(rule),
    reason,
    outcome: `version ${rule.version}`,
  }, describeRule(rule))
  return rule
}

/**
 * Deletes rule `id` (audited `alertRule.delete`); its firing alerts resolve (and notify) at the next evaluation.
 * @throws AlertChangeError NOT_FOUND; Redis errors
 */
export async function deleteRule(redis: RedisClient, keys: KeySpace, id: string, reason: string, ctx: ChangeContext): Promise<void> {
  const stored = await readRule(redis, keys, id)
  const description = stored ? describeRule(stored.rule) : `alert rule ${id}`
  // A field that does not parse as a rule can still be deleted ('*').
  await casWithAudit(redis, keys, 'rules', id, stored?.raw ?? '*', '', MAX_ALERT_RULES, ctx, { action: 'alertRule.delete', targetDescription: description, reason, outcome: 'deleted' }, description)
}

/** A silence's matchers as text, e.g. `service="payments", breaker!="charge"`. */
export function describeMatchers(s: Pick<Silence, 'matchers'>): string {
  return s.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(', ')
}

/** Every valid silence, newest end first. @throws Redis errors */
export async function readSilences(redis: RedisClient, keys: KeySpace): Promise<{ silence: Silence; raw: string }[]> {
  const rows = await readHash(redis, keys.alerts('silences'), parserOf(Silence))
  return rows.filter(([field, , s]) => field === s.id).map(([, raw, silence]) => ({ silence, raw })).sort((a, b) => b.silence.endsAtMs - a.silence.endsAtMs)
}

/**
 * Creates a silence (audited `silence.create`, the reason as given). @throws AlertChangeError TOO_MANY; a RangeError
 * when it ends before it starts or lasts over MAX_SILENCE_MS (checked by the caller's schema first); Redis errors
 */
export async function createSilence(redis: RedisClient, keys: KeySpace, input: SilenceInput, ctx: ChangeContext): Promise<Silence> {
  const silence: Silence = {
    id: newId('s_'),
    matchers: input.matchers,
    startsAtMs: input.startsAtMs ?? ctx.atMs,
    endsAtMs: input.endsAtMs,
    reason: input.reason,
    createdBy: ctx.actor,
    createdAtMs: ctx.atMs,
    expiredBy: null,
  }
  const description = `silence ${silence.id} (${describeMatchers(silence)}) until ${new Date(silence.endsAtMs).toISOString()}`
  await casWithAudit(redis, keys, 'silences', silence.id, '', JSON.stringify(silence), MAX_SILENCES, ctx, { action: 'silence.create', targetDescription: description, reason: input.reason, outcome: 'created' }, description)
  return silence
}

/**
 * Ends silence `id` now (audited `silence.expire`); alerts it covered notify at the next evaluation if still firing.
 * @throws AlertChangeError NOT_FOUND, CONFLICT; Redis errors
 */
export async function expireSilence(redis: RedisClient, keys: KeySpace, id: string, reason: string, ctx: ChangeContext): Promise<Silence> {
  const stored = (await readSilences(redis, keys)).find((s) => s.silence.id === id)
  if (!stored) throw new AlertChangeError('NOT_FOUND', `silence ${id} not found`)
  const silence: Silence = { ...stored.silence, endsAtMs: Math.min(stored.silence.endsAtMs, ctx.atMs), expiredBy: ctx.actor }
  const description = `silence ${id} (${describeMatchers(silence)})`
  await casWithAudit(redis, keys, 'silences', id, stored.raw, JSON.stringify(silence), MAX_SILENCES, ctx, { action: 'silence.expire', targetDescription: description, reason, outcome: 'expired' }, description)
  return silence
}

/** The field of one alert in the states (and acks) hash: `<rule id>\t<series key>`. */
export function alertField(ruleId: string, key: string): string {
  return `${ruleId}\t${key}`
}

/** An operator's acknowledgement of one alert episode (hash `acks`, field `alertField`). */
export interface AlertAck {
  by: string
  atMs: number
  /** The episode acknowledged: its `activeSinceMs` (a later episode of the same alert is not acknowledged). */
  activeSinceMs: number
}

/** Every stored alert (pending or firing) and acknowledgement. @throws Redis errors */
export async function readAlertStates(redis: RedisClient, keys: KeySpace): Promise<{ alerts: Map<string, AlertInstance>; acks: Map<string, AlertAck> }> {
  const [states, acks] = await Promise.all([
    readHash(redis, keys.alerts('states'), parserOf(AlertInstance)),
    readHash(redis, keys.alerts('acks'), (x) => {
      const a = x as Partial<AlertAck> | null
      return a && typeof a.by === 'string' && Number.isFinite(a.atMs) && Number.isFinite(a.activeSinceMs) ? (a as AlertAck) : null
    }),
  ])
  const alerts = new Map<string, AlertInstance>()
  for (const [field, , a] of states) {
    if (field === alertField(a.ruleId, a.key)) alerts.set(field, a)
    else reportInvalidValue('alert_record', keys.alerts('states'), `field ${field.slice(0, 80)} holds another alert`)
  }
  return { alerts, acks: new Map(acks.map(([field, , ack]) => [field, ack])) }
}

/**
 * Acknowledges the current episode of one alert (audited `alert.ack`): the alert stays firing and keeps notifying
 * by its rules, but the dashboard shows who is on it. @throws AlertChangeError NOT_FOUND (no such alert now),
 * CONFLICT (already acknowledged); Redis errors
 */
export async function acknowledgeAlert(redis: RedisClient, keys: KeySpace, ruleId: string, key: string, reason: string, ctx: ChangeContext): Promise<AlertAck> {
  const field = alertField(ruleId, key)
  const { alerts } = await readAlertStates(redis, keys)
  const alert = alerts.get(field)
  if (!alert) throw new AlertChangeError('NOT_FOUND', 'that alert is not pending or firing now')
  const ack: AlertAck = { by: ctx.actor, atMs: ctx.atMs, activeSinceMs: alert.activeSinceMs }
  const description = `alert ${alert.labels.alertname ?? ruleId} {${key}}`
  await casWithAudit(redis, keys, 'acks', field, '', JSON.stringify(ack), Number.MAX_SAFE_INTEGER, ctx, { action: 'alert.ack', targetDescription: description, reason, outcome: 'acknowledged' }, description)
  return ack
}
