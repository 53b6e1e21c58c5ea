/**
 * The audit log: every operator action (breaker commands, cache invalidations) with who, when, what, why and the
 * outcome. A service's actions go to its own stream `P:{svc}:audit` (same hash tag as the service's other keys, so
 * the breaker command writes its audit entry in the same one-slot Lua script as the command itself); an action
 * without a service goes to the global `P:audit` (docs/decisions/017). Each append trims by time (entries older than
 * the retention, default 90 days, `FUSEBOX_AUDIT_RETENTION_DAYS`) and by count (`STREAM_CAPS.audit`). Entry ids
 * carry the action's own epoch ms (`<atMs>-*`), so time bounds on reads and trims follow the injected clock. The
 * entry layout is shared/streamEntries.ts; read back with reads/audit.ts.
 */
import type { RedisClient } from '../sdk/redisTopology'
import type { KeySpace } from '../../shared/keys'
import { auditFields, type AuditRecord } from '../../shared/streamEntries'
import { STREAM_CAPS } from '../../shared/vocabulary'

/** How long audit entries are kept by default: 90 days, in ms (override: `FUSEBOX_AUDIT_RETENTION_DAYS`). */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 3_600_000

/** How the audit is bounded: by age (`retentionMs`, ms) and by count (`maxEntries` per stream, approximate). */
export interface AuditRetention {
  retentionMs: number
  maxEntries: number
}

/** The default bounds: 90 days, `STREAM_CAPS.audit` entries per stream. */
export const DEFAULT_AUDIT_RETENTION: AuditRetention = { retentionMs: DEFAULT_AUDIT_RETENTION_MS, maxEntries: STREAM_CAPS.audit }

/**
 * Lua (5.1, inside a script) defining `fuseboxAppendAudit(key, atMs, maxEntries, minId, fields)`: XADD with id
 * `<atMs>-*` (or `*` when the stream already holds a later id, e.g. another server's clock ran ahead), capped by
 * count (MAXLEN ~, one trim strategy per XADD), then XTRIM MINID (exact) drops entries older than `minId`. The key's
 * type must have been checked before any write (a script is not rolled back on error). Returns the new entry's id.
 */
export const APPEND_AUDIT_LUA = `
local function fuseboxAppendAudit(key, atMs, maxEntries, minId, fields)
  local id = redis.pcall('XADD', key, 'MAXLEN', '~', maxEntries, atMs .. '-*', unpack(fields))
  if type(id) == 'table' and id.err then
    id = redis.call('XADD', key, 'MAXLEN', '~', maxEntries, '*', unpack(fields))
  end
  redis.call('XTRIM', key, 'MINID', minId)
  return id
end
`

/**
 * Lua defining `fuseboxCheckType(key, want)`: an error reply (`FUSEBOX_WRONGTYPE …`) unless `key` is absent or of
 * type `want`. Scripts call it for every key before their first write, so a wrong-typed key fails the whole script
 * with nothing written.
 */
export const CHECK_TYPE_LUA = `
local function fuseboxCheckType(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then
    return 'FUSEBOX_WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. want
  end
  return nil
end
`

/** KEYS: audit stream. ARGV: atMs, maxEntries, minId, JSON array of the entry's fields. */
const RECORD_AUDIT_LUA = `#!lua
${CHECK_TYPE_LUA}
${APPEND_AUDIT_LUA}
local bad = fuseboxCheckType(KEYS[1], 'stream')
if bad then return redis.error_reply(bad) end
return fuseboxAppendAudit(KEYS[1], ARGV[1], ARGV[2], ARGV[3], cjson.decode(ARGV[4]))
`

/** What a caller states about one action; the target fields not given are stored empty, `generation` as none. */
export type AuditInput = Pick<AuditRecord, 'atMs' | 'actor' | 'service' | 'action' | 'reason' | 'outcome'> &
  Partial<Pick<AuditRecord, 'breaker' | 'target' | 'targetDescription' | 'commandId'>> & { generation?: number }

/** The full record of an `AuditInput` (absent target fields empty, no generation → null). */
export function auditRecord(r: AuditInput): AuditRecord {
  return { breaker: '', target: '', targetDescription: '', commandId: '', ...r, generation: r.generation ?? null }
}

/** The oldest stream id kept when writing at `atMs` (`MINID` argument): `<atMs − retentionMs>-0`, never negative. */
export function auditMinId(atMs: number, retention: AuditRetention): string {
  return `${Math.max(0, Math.floor(atMs - retention.retentionMs))}-0`
}

/**
 * Appends one audit entry (one script: XADD, then trims by count and time) to the service's stream, or to the
 * global stream when `r.service` is ''. Returns the entry's stream id.
 * @throws Redis errors, including `FUSEBOX_WRONGTYPE` when the stream key holds another type (nothing written)
 */
export async function recordAudit(
  redis: RedisClient,
  keys: KeySpace,
  r: AuditInput,
  retention: AuditRetention = DEFAULT_AUDIT_RETENTION,
): Promise<string> {
  const key = keys.audit(r.service === '' ? undefined : r.service)
  const fields = auditFields(auditRecord(r))
  return String(
    await redis.eval(RECORD_AUDIT_LUA, 1, key, String(Math.floor(r.atMs)), String(retention.maxEntries), auditMinId(r.atMs, retention), JSON.stringify(fields)),
  )
}
