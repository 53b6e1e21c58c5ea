/**
 * Operator actions on a BullMQ queue (issue #14): "retry failed" and "clean completed / failed older than …". The
 * dashboard never holds the queue's own Redis connection: like a breaker command (docs/decisions/017), the command is
 * written to Fusebox's Redis — record, pending list and audit entry in one script on the service's slot — and the
 * first instance that watches the queue (server/sdk/queueWatch.ts) claims it at its next sample (every 1 s by default), runs it on
 * its BullMQ `Queue` (`retryJobs({ state: 'failed' })`, `clean(grace, limit, type)`), and writes the outcome back.
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { KeySpace } from '../../shared/keys'
import { auditFields } from '../../shared/streamEntries'
import { QUEUE_ACTIONS } from '../sdk/queueWatch'
import type { RedisClient } from '../sdk/redisTopology'
import { APPEND_AUDIT_LUA, auditMinId, auditRecord, CHECK_TYPE_LUA, DEFAULT_AUDIT_RETENTION, type AuditRetention } from './audit'

/** The actions, as the SDK runs them (server/sdk/queueWatch.ts `QUEUE_ACTIONS`). */
export const QueueAction = z.enum(QUEUE_ACTIONS)
export type QueueAction = z.infer<typeof QueueAction>
/** How long a command record is kept, s (7 days, as breaker commands). */
export const QUEUE_COMMAND_TTL_S = 7 * 86_400

/**
 * KEYS: command hash, pending list, audit stream. ARGV: JSON array of the command's fields, command id, TTL s, then the
 * audit entry (atMs, maxEntries, minId, JSON fields). Returns 'OK'.
 */
const ISSUE_QUEUE_COMMAND_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
local bad = fuseboxCheckType(KEYS[1], 'hash') or fuseboxCheckType(KEYS[2], 'list') or fuseboxCheckType(KEYS[3], 'stream')
if bad then return redis.error_reply(bad) end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[1])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, 99)
redis.call('EXPIRE', KEYS[2], ARGV[3])
fuseboxAppendAudit(KEYS[3], ARGV[4], ARGV[5], ARGV[6], cjson.decode(ARGV[7]))
return 'OK'
`

/** What an operator asks: the action, and for a clean the minimum age of the jobs removed (s). */
export interface QueueCommandInput {
  service: string
  queue: string
  action: QueueAction
  /** Clean only jobs finished at least this long ago, s (0 … 30 days; ignored for retryFailed). */
  olderThanS: number
  reason: string
  actor: string
}

/** Words for the audit and the dashboard. */
export function describeQueueAction(action: QueueAction, olderThanS: number): string {
  if (action === 'retryFailed') return 'retry every failed job'
  return `remove ${action === 'cleanCompleted' ? 'completed' : 'failed'} jobs finished over ${olderThanS} s ago`
}

/**
 * Issues a queue command (audited as `queue.<action>` on the service's audit stream, outcome `issued`).
 * @returns the command id (follow it with `readQueueCommand`)
 * @throws Redis errors, including FUSEBOX_WRONGTYPE (nothing written)
 */
export async function issueQueueCommand(redis: RedisClient, keys: KeySpace, c: QueueCommandInput, nowMs: number, retention: AuditRetention = DEFAULT_AUDIT_RETENTION): Promise<{ commandId: string }> {
  const commandId = randomUUID()
  const fields = ['id', commandId, 'queue', c.queue, 'action', c.action, 'graceMs', String(c.olderThanS * 1000), 'actor', c.actor, 'reason', c.reason, 'issuedAtMs', String(nowMs), 'state', 'pending']
  const audit = auditFields(
    auditRecord({ atMs: nowMs, actor: c.actor, service: c.service, action: `queue.${c.action}`, targetDescription: `queue ${c.queue}: ${describeQueueAction(c.action, c.olderThanS)}`, reason: c.reason, outcome: 'issued', commandId }),
  )
  await redis.eval(
    ISSUE_QUEUE_COMMAND_LUA,
    3,
    keys.queueCommand(c.service, commandId),
    keys.queueCommands(c.service, c.queue),
    keys.audit(c.service),
    JSON.stringify(fields),
    commandId,
    String(QUEUE_COMMAND_TTL_S),
    String(Math.floor(nowMs)),
    String(retention.maxEntries),
    auditMinId(nowMs, retention),
    JSON.stringify(audit),
  )
  return { commandId }
}

/** Where a queue command stands: pending (no instance took it yet), running, done (with `affected` jobs) or failed. */
export interface QueueCommandStatus {
  commandId: string
  queue: string
  action: string
  state: 'pending' | 'running' | 'done' | 'failed'
  issuedAtMs: number
  claimedBy: string | null
  finishedAtMs: number | null
  affected: number | null
  error: string | null
}

/** One command's status, or null when unknown (or expired). @throws Redis errors */
export async function readQueueCommand(redis: RedisClient, keys: KeySpace, service: string, commandId: string): Promise<QueueCommandStatus | null> {
  const h = await redis.hgetall(keys.queueCommand(service, commandId))
  if (!h.id) return null
  const state = ['pending', 'running', 'done', 'failed'].includes(h.state ?? '') ? (h.state as QueueCommandStatus['state']) : 'failed'
  const num = (x: string | undefined) => (x !== undefined && /^\d{1,16}$/.test(x) ? Number(x) : null)
  return {
    commandId,
    queue: h.queue ?? '',
    action: h.action ?? '',
    state,
    issuedAtMs: num(h.issuedAtMs) ?? 0,
    claimedBy: h.claimedBy ?? null,
    finishedAtMs: num(h.finishedAtMs),
    affected: num(h.affected),
    error: h.error ?? null,
  }
}
