/**
 * Issuing breaker commands (DESIGN.md "Breaker control"): the desired state is written to Redis with a generation
 * number (atomically, MULTI), pub/sub only nudges the instances, and every command lands in the audit log.
 * Instances reconcile from the stored desired state, so a lost nudge only delays a command, never loses it.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import type { BreakerCommand, BreakerMode, ControlNudge } from '../../shared/schemas'

/** Sticky mode that each command leaves in force. */
const MODE_AFTER: Record<BreakerCommand, BreakerMode> = {
  reset: 'NORMAL',
  forceOpen: 'FORCED_OPEN',
  forceClosed: 'FORCED_CLOSED',
  release: 'NORMAL',
}

const AUDIT_MAXLEN = 100_000
const EVENTS_MAXLEN = 10_000

/** A command to issue; `actor` comes from the session, never from the client. */
export interface CommandRequest {
  service: string
  breaker: string
  command: BreakerCommand
  reason: string
  actor: string
}

/** Result of issuing: the command's id and the generation it was given. */
export interface IssuedCommand {
  commandId: string
  generation: number
}

/** Thrown when the breaker is unknown (the API maps it to NOT_FOUND). */
export class UnknownBreakerError extends Error {}

/**
 * Stores the desired state with the next generation, nudges the instances and appends to the audit log.
 * @throws UnknownBreakerError when no instance ever registered that breaker; Redis errors otherwise.
 */
export async function issueBreakerCommand(redis: Redis, keys: KeySpace, req: CommandRequest, nowMs: number): Promise<IssuedCommand> {
  const known = await redis.sismember(keys.breakers(req.service), req.breaker)
  if (known !== 1) throw new UnknownBreakerError(`no breaker ${req.breaker} in service ${req.service}`)
  const commandId = randomUUID()
  const desiredKey = keys.breakerDesired(req.service, req.breaker)
  const tx = await redis
    .multi()
    .hincrby(desiredKey, 'generation', 1)
    .hset(desiredKey, {
      mode: MODE_AFTER[req.command],
      command: req.command,
      commandId,
      issuedAtMs: String(nowMs),
      actor: req.actor,
      reason: req.reason,
    })
    .exec()
  const first = tx?.[0]
  if (!first || first[0]) throw first?.[0] ?? new Error('breaker command transaction aborted')
  const generation = Number(first[1])
  const nudge: ControlNudge = { breaker: req.breaker, generation }
  await redis
    .pipeline()
    .publish(keys.controlChannel(req.service), JSON.stringify(nudge))
    .xadd(keys.audit(), 'MAXLEN', '~', AUDIT_MAXLEN, '*',
      'atMs', String(nowMs), 'actor', req.actor, 'service', req.service, 'breaker', req.breaker,
      'command', req.command, 'reason', req.reason, 'commandId', commandId, 'generation', String(generation),
      'outcome', 'issued')
    .xadd(keys.events(req.service), 'MAXLEN', '~', EVENTS_MAXLEN, '*',
      'type', 'commandIssued', 'breaker', req.breaker, 'instance', '', 'from', '', 'to', MODE_AFTER[req.command],
      'reason', `${req.actor} ${req.command}: ${req.reason}`, 'generation', String(generation), 'atMs', String(nowMs))
    .exec()
  return { commandId, generation }
}
