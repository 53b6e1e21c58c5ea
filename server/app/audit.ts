/**
 * The audit log: every operator action (breaker commands, cache invalidations) with who, when, what, why and the
 * outcome, appended to one capped stream (`P:audit`, MAXLEN ~ 100,000). Read back with reads/streams.ts.
 */
import type { ChainableCommander } from 'ioredis'
import type { KeySpace } from '../../shared/keys'

/** Entries kept (approximately: MAXLEN ~). */
export const AUDIT_MAXLEN = 100_000

/** One operator action. `actor` comes from the session, never from the client. */
export interface AuditRecord {
  atMs: number
  actor: string
  service: string
  /** What was done: a breaker command (`reset`, `forceOpen`, …) or `invalidateTag`. */
  action: string
  /** Breaker name (`command` entries) — or empty for other actions. */
  breaker?: string
  /** Instance targeted, `*` for all. */
  target?: string
  /** Human description of the target for non-breaker actions, e.g. `catalog tag product:42`. */
  targetDescription?: string
  reason: string
  commandId?: string
  generation?: number
  /** What happened: `issued` (commands are then applied asynchronously) or e.g. `removed 3 keys`. */
  outcome: string
}

/** Adds the XADD of one audit entry to pipeline `p`. */
export function appendAudit(p: ChainableCommander, keys: KeySpace, r: AuditRecord): ChainableCommander {
  return p.xadd(keys.audit(), 'MAXLEN', '~', AUDIT_MAXLEN, '*',
    'atMs', String(r.atMs), 'actor', r.actor, 'service', r.service, 'command', r.action,
    'breaker', r.breaker ?? '', 'target', r.target ?? '', 'targetDescription', r.targetDescription ?? '',
    'reason', r.reason, 'commandId', r.commandId ?? '', 'generation', r.generation === undefined ? '' : String(r.generation),
    'outcome', r.outcome)
}
