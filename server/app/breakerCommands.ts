/**
 * Issuing breaker commands (docs/PRODUCT.md "Breaker control"): one Lua script (ISSUE_LUA) takes the breaker's next
 * generation and writes the desired state in one atomic step; a pipeline then publishes the nudge, stores the command
 * record (for "applied on n/m"), adds the `commandIssued` event and appends the audit entry. Pub/sub only nudges the
 * instances: they reconcile from the stored desired state, so a lost nudge only delays a command, never loses it.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import type { BreakerCommand, BreakerMode, ControlNudge } from '../../shared/schemas'
import { eventFields } from '../../shared/streamEntries'
import { STREAM_CAPS } from '../../shared/vocabulary'
import { appendAudit } from './audit'

/** Sticky mode that each command leaves in force. */
const MODE_AFTER: Record<BreakerCommand, BreakerMode> = {
  reset: 'NORMAL',
  forceOpen: 'FORCED_OPEN',
  forceClosed: 'FORCED_CLOSED',
  release: 'NORMAL',
}

/** How long a command's record (for its "applied on n/m" status) is kept. */
const COMMAND_TTL_S = 7 * 24 * 3600

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
 * Takes the breaker's next generation and writes the desired record, atomically. The generation is one above the
 * counter and above both records' current generations, so a lost counter key can never make generations go back.
 * KEYS: counter, target record, all-instances record. ARGV: mode, command, commandId, issuedAtMs, actor, reason, target.
 */
const ISSUE_LUA = `
local g = redis.call('INCR', KEYS[1])
local floor = math.max(tonumber(redis.call('HGET', KEYS[2], 'generation') or '0'),
                       tonumber(redis.call('HGET', KEYS[3], 'generation') or '0'))
if g <= floor then
  g = floor + 1
  redis.call('SET', KEYS[1], g)
end
redis.call('HSET', KEYS[2], 'generation', g, 'mode', ARGV[1], 'command', ARGV[2], 'commandId', ARGV[3],
  'issuedAtMs', ARGV[4], 'actor', ARGV[5], 'reason', ARGV[6], 'target', ARGV[7])
return g
`

/** Result of issuing: the command's id and the generation it was given. */
export interface IssuedCommand {
  commandId: string
  generation: number
}

/** Thrown when the breaker is unknown (the API maps it to NOT_FOUND). */
export class UnknownBreakerError extends Error {}

/**
 * Stores the desired state (for every instance, or for `req.instance` only) with the next generation, nudges the
 * instances and appends to the audit log.
 * @throws UnknownBreakerError when no instance ever registered that breaker; Redis errors otherwise.
 */
export async function issueBreakerCommand(redis: Redis, keys: KeySpace, req: CommandRequest, nowMs: number): Promise<IssuedCommand> {
  const known = await redis.sismember(keys.breakers(req.service), req.breaker)
  if (known !== 1) throw new UnknownBreakerError(`no breaker ${req.breaker} in service ${req.service}`)
  const commandId = randomUUID()
  const target = req.instance ?? '*'
  const generation = Number(
    await redis.eval(
      ISSUE_LUA,
      3,
      keys.breakerGeneration(req.service, req.breaker),
      keys.breakerDesired(req.service, req.breaker, req.instance),
      keys.breakerDesired(req.service, req.breaker),
      MODE_AFTER[req.command],
      req.command,
      commandId,
      String(nowMs),
      req.actor,
      req.reason,
      target,
    ),
  )
  const nudge: ControlNudge = { breaker: req.breaker, generation }
  const p = redis
    .pipeline()
    .publish(keys.controlChannel(req.service), JSON.stringify(nudge))
    .hset(keys.command(req.service, commandId), {
      breaker: req.breaker,
      command: req.command,
      target,
      generation: String(generation),
      issuedAtMs: String(nowMs),
      actor: req.actor,
    })
    .expire(keys.command(req.service, commandId), COMMAND_TTL_S)
    .xadd(keys.events(req.service), 'MAXLEN', '~', STREAM_CAPS.events, '*', ...eventFields({
      type: 'commandIssued',
      breaker: req.breaker,
      instance: req.instance ?? '',
      from: '',
      to: MODE_AFTER[req.command],
      reason: `${req.actor} ${req.command}: ${req.reason}`,
      generation,
      atMs: nowMs,
    }))
  appendAudit(p, keys, {
    atMs: nowMs,
    actor: req.actor,
    service: req.service,
    action: req.command,
    breaker: req.breaker,
    target,
    reason: req.reason,
    commandId,
    generation,
    outcome: 'issued',
  })
  await p.exec()
  return { commandId, generation }
}
