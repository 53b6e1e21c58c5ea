/**
 * The audit log: every operator action (breaker commands, cache invalidations) with who, when, what, why and the
 * outcome, appended to one capped stream (`P:audit`, MAXLEN ~ `STREAM_CAPS.audit`). The entry layout is
 * shared/streamEntries.ts; read back with reads/streams.ts.
 */
import type { ChainableCommander, Redis } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import { auditFields, type AuditRecord } from '../../shared/streamEntries'
import { STREAM_CAPS } from '../../shared/vocabulary'

/** What a caller states about one action; the target fields not given are stored empty, `generation` as none. */
export type AuditInput = Pick<AuditRecord, 'atMs' | 'actor' | 'service' | 'action' | 'reason' | 'outcome'> &
  Partial<Pick<AuditRecord, 'breaker' | 'target' | 'targetDescription' | 'commandId'>> & { generation?: number }

/** Adds the XADD of one audit entry to pipeline `p`. */
export function appendAudit(p: ChainableCommander, keys: KeySpace, r: AuditInput): ChainableCommander {
  const record: AuditRecord = {
    breaker: '',
    target: '',
    targetDescription: '',
    commandId: '',
    ...r,
    generation: r.generation ?? null,
  }
  return p.xadd(keys.audit(), 'MAXLEN', '~', STREAM_CAPS.audit, '*', ...auditFields(record))
}

/**
 * Appends one audit entry on its own (one XADD).
 * @throws Redis errors
 */
export async function recordAudit(redis: Redis, keys: KeySpace, r: AuditInput): Promise<void> {
  const results = await appendAudit(redis.pipeline(), keys, r).exec()
  const failed = results?.find(([err]) => err)?.[0]
  if (failed) throw failed
}
