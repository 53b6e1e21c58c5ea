/**
 * Issuing breaker commands (docs/PRODUCT.md "Breaker control", docs/decisions/017). A command is one atomic step:
 * one Lua script (ISSUE_LUA) takes the breaker's next generation and writes the desired state, the command record
 * with its fixed target set, the `commandIssued` event, the audit entry (the service's own `P:{svc}:audit`, with
 * its time and count trims) and publishes the nudge — PUBLISH on one Redis, SPUBLISH (sharded pub/sub, Redis ≥ 7.0)
 * on a Redis Cluster, inside the same script: the channel `P:{svc}:control` carries the service's tag, so it is in
 * the script's slot, which Redis allows (docs/decisions/028; the SDK SSUBSCRIBEs on a cluster). Every key it touches
 * carries the service's hash tag, so on a Redis Cluster it is one slot. The script checks every key's type before its first write (Redis does not roll a
 * script back), so it either commits all of it or nothing: the operator sees success only when all of it committed.
 * Pub/sub only nudges the instances: they reconcile from the stored desired state, so a lost nudge only delays a
 * command, never loses it.
 */
import { randomUUID } from 'node:crypto'
import { isCluster, type RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import type { BreakerCommand, BreakerMode } from '../../shared/schemas'
import { auditFields, eventFields } from '../../shared/streamEntries'
import { STREAM_CAPS } from '../../shared/vocabulary'
import { APPEND_AUDIT_LUA, auditMinId, auditRecord, CHECK_TYPE_LUA, DEFAULT_AUDIT_RETENTION, type AuditRetention } from './audit'
import { liveInstances } from './reads/breakers'
import { readInstances } from './reads/instances'

/** Sticky mode that each command leaves in force. */
const MODE_AFTER: Record<BreakerCommand, BreakerMode> = {
  reset: 'NORMAL',
  forceOpen: 'FORCED_OPEN',
  forceClosed: 'FORCED_CLOSED',
  release: 'NORMAL',
}

/** How long a command's record (for its status) is kept, in seconds: 7 days. */
export const COMMAND_TTL_S = 7 * 24 * 3600

/** A command to issue; `actor` comes from the session, never from the client. No `instance`: every instance. */
export interface CommandRequest {
  service: string
  breaker: string
  command: BreakerCommand
  reason: string
  actor: string
  instance?: string
}

/**
 * The one atomic step of a command. Generation: one above the counter and above both desired records' generations,
 * so a lost (or corrupted) counter key can never make generations go back.
 * KEYS: 1 counter, 2 target desired record, 3 all-instances desired record, 4 command record, 5 events stream,
 * 6 audit stream.
 * A command record already under that id (a resend of the same command): nothing is written, its generation returned.
 * ARGV: 1 mode, 2 command, 3 commandId, 4 issuedAtMs, 5 actor, 6 reason, 7 target, 8 targets (JSON array),
 * 9 breaker, 10 control channel, 11 event fields (JSON array), 12 audit fields (JSON array), 13 events cap,
 * 14 audit cap, 15 audit MINID, 16 command record TTL (s), 17 the publish command: `PUBLISH` (one Redis) or
 * `SPUBLISH` (a cluster).
 * `#!lua` (Redis ≥ 7): the OOM check runs before the script, not at its first write.
 */
const ISSUE_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
if ARGV[17] ~= 'PUBLISH' and ARGV[17] ~= 'SPUBLISH' then
  return redis.error_reply('unknown publish command ' .. tostring(ARGV[17]) .. ' (command not applied, nothing written)')
end
local types = { 'string', 'hash', 'hash', 'hash', 'stream', 'stream' }
for i, want in ipairs(types) do
  local bad = fuseboxCheckType(KEYS[i], want)
  if bad then return redis.error_reply(bad .. ' (command not applied, nothing written)') end
end
-- The same command id again (a client resending after a lost reply): it is already committed, do nothing.
local existing = redis.call('HGET', KEYS[4], 'generation')
if existing then return existing end
local function num(v) return tonumber(v or '0') or 0 end
local g = math.floor(math.max(num(redis.call('GET', KEYS[1])), num(redis.call('HGET', KEYS[2], 'generation')),
                              num(redis.call('HGET', KEYS[3], 'generation')))) + 1
if g ~= g or g > 9007199254740991 then
  return redis.error_reply('FUSEBOX_BADGENERATION generation out of range (command not applied, nothing written)')
end
local gs = string.format('%d', g)
local function withGeneration(json)
  local f = cjson.decode(json)
  for i = 1, #f - 1, 2 do if f[i] == 'generation' then f[i + 1] = gs end end
  return f
end
local eventFields = withGeneration(ARGV[11])
local auditFields = withGeneration(ARGV[12])
redis.call('SET', KEYS[1], gs)
redis.call('HSET', KEYS[2], 'generation', gs, 'mode', ARGV[1], 'command', ARGV[2], 'commandId', ARGV[3],
  'issuedAtMs', ARGV[4], 'actor', ARGV[5], 'reason', ARGV[6], 'target', ARGV[7])
redis.call('HSET', KEYS[4], 'breaker', ARGV[9], 'command', ARGV[2], 'target', ARGV[7], 'targets', ARGV[8],
  'generation', gs, 'issuedAtMs', ARGV[4], 'actor', ARGV[5])
redis.call('EXPIRE', KEYS[4], ARGV[16])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], '*', unpack(eventFields))
fuseboxAppendAudit(KEYS[6], ARGV[4], ARGV[14], ARGV[15], auditFields)
-- The nudge is the last step: everything it announces is already written. Checked above: only these two commands.
redis.call(ARGV[17], ARGV[10], '{"breaker":' .. cjson.encode(ARGV[9]) .. ',"generation":' .. gs .. '}')
return gs
`

/** Result of issuing: the command's id, the generation it was given and the instances it must reach. */
export interface IssuedCommand {
  commandId: string
  generation: number
  /** The fixed target set, sorted (see `commandTargets`); may be empty when no live instance has the breaker. */
  targets: string[]
}

/** Thrown when the breaker is unknown (the API maps it to NOT_FOUND). */
export class UnknownBreakerError extends Error {}

/**
 * Thrown when the command's script refused to run because a key it writes holds the wrong type or the generation
 * is unusable: nothing was written (the API maps it to a clear PRECONDITION_FAILED). `message` names the key.
 */
export class CommandNotAppliedError extends Error {}

/** Options of `issueBreakerCommand`. */
export interface IssueOptions {
  /** How the audit stream is bounded (default 90 days, `STREAM_CAPS.audit`). */
  auditRetention?: AuditRetention
  /**
   * The command's id (a UUID; default a fresh one). Issuing again with the id of a committed command changes
   * nothing and returns its generation: a retry after a lost reply cannot apply or audit a command twice.
   */
  commandId?: string
}

/**
 * The instances a command must reach, fixed when it is issued: for one instance, that instance; for every
 * instance, the live ones (heartbeat within `MISSED_HEARTBEATS_DOWN` × their heartbeat interval, as
 * reads/instances.ts decides `up`) that have reported this breaker (a field in its state hash). Sorted.
 * @throws Redis errors
 */
export async function commandTargets(redis: RedisClient, keys: KeySpace, req: Pick<CommandRequest, 'service' | 'breaker' | 'instance'>, nowMs: number): Promise<string[]> {
  if (req.instance !== undefined) return [req.instance]
  const [instances, reporting] = await Promise.all([
    readInstances(redis, keys, req.service, nowMs),
    redis.hkeys(keys.breakerState(req.service, req.breaker)),
  ])
  const live = liveInstances(instances)
  return reporting.filter((i) => live.has(i)).sort()
}

/**
 * Issues a command (for every instance, or for `req.instance` only) in one atomic step: desired state with the next
 * generation, command record with its target set, `commandIssued` event, audit entry, nudge. Resolves only when all
 * of it committed; on any error nothing of it was written, except that a connection lost after Redis ran the
 * script leaves the outcome unknown (then it is complete, audit included — never half).
 * @throws UnknownBreakerError when no instance ever registered that breaker; CommandNotAppliedError when a key it
 *   writes has the wrong type (nothing written); Redis errors otherwise.
 */
export async function issueBreakerCommand(
  redis: RedisClient,
  keys: KeySpace,
  req: CommandRequest,
  nowMs: number,
  options: IssueOptions = {},
): Promise<IssuedCommand> {
  const retention = options.auditRetention ?? DEFAULT_AUDIT_RETENTION
  const known = await redis.sismember(keys.breakers(req.service), req.breaker)
  if (known !== 1) throw new UnknownBreakerError(`no breaker ${req.breaker} in service ${req.service}`)
  const targets = await commandTargets(redis, keys, req, nowMs)
  const commandId = options.commandId ?? randomUUID()
  const target = req.instance ?? '*'
  const mode = MODE_AFTER[req.command]
  const events = eventFields({
    type: 'commandIssued',
    breaker: req.breaker,
    instance: req.instance ?? '',
    from: '',
    to: mode,
    reason: `${req.actor} ${req.command}: ${req.reason}`,
    generation: 0, // the script writes the real one
    atMs: nowMs,
  })
  const audit = auditFields(
    auditRecord({
      atMs: nowMs,
      actor: req.actor,
      service: req.service,
      action: req.command,
      breaker: req.breaker,
      target,
      reason: req.reason,
      commandId,
      generation: 0, // the script writes the real one
      outcome: 'issued',
    }),
  )
  let reply: unknown
  try {
    reply = await redis.eval(
      ISSUE_LUA,
      6,
      keys.breakerGeneration(req.service, req.breaker),
      keys.breakerDesired(req.service, req.breaker, req.instance),
      keys.breakerDesired(req.service, req.breaker),
      keys.command(req.service, commandId),
      keys.events(req.service),
      keys.audit(req.service),
      mode,
      req.command,
      commandId,
      String(Math.floor(nowMs)),
      req.actor,
      req.reason,
      target,
      JSON.stringify(targets),
      req.breaker,
      keys.controlChannel(req.service),
      JSON.stringify(events),
      JSON.stringify(audit),
      String(STREAM_CAPS.events),
      String(retention.maxEntries),
      auditMinId(nowMs, retention),
      String(COMMAND_TTL_S),
      isCluster(redis) ? 'SPUBLISH' : 'PUBLISH',
    )
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    if (/FUSEBOX_(WRONGTYPE|BADGENERATION)/.test(message)) throw new CommandNotAppliedError(message.replace(/^.*?FUSEBOX_\w+ /, ''))
    throw e
  }
  return { commandId, generation: Number(reply), targets }
}
