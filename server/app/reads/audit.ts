/**
 * Reads of the audit log, which is one stream per service (`P:{svc}:audit`) plus the global `P:audit` (service-less
 * actions and entries written before docs/decisions/017): a page merges the streams newest first by stream id (=
 * the action's epoch ms), and the export walks them oldest first as JSON lines. Every entry is validated by
 * `parseAuditEntry` (shared/streamEntries.ts); a malformed one is left out and counted.
 */
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { parseAuditEntry, type AuditRecord } from '../../../shared/streamEntries'
import { readServiceNames } from './instances'
import { auditEntry, readStreamPage, type AuditEntry, type AuditFilter, type StreamPage, type StreamQuery } from './streams'

/** Compares two stream ids (`<ms>-<seq>`): negative when `a` is older. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am !== bm ? am - bm : as - bs
}

/** The audit streams to read: the one service's, or every service's plus the global one and alerting's. */
async function auditKeys(redis: RedisClient, keys: KeySpace, service: string | undefined): Promise<string[]> {
  if (service !== undefined) return [keys.audit(service)]
  return [keys.audit(), keys.alerts('audit'), ...(await readServiceNames(redis, keys)).map((s) => keys.audit(s))]
}

/**
 * One page of the audit log, newest first, merged over the streams (`readStreamPage` on each, with the same
 * cursor, bounds and filter). Only entries no stream can still precede are returned: a stream that stopped
 * scanning early (its `MAX_SCAN`) holds the page at the id it reached. When the page ends inside a run of equal
 * ids from different streams, the run is left for the next page, so a cursor (exclusive) never skips an entry.
 * @throws Redis errors
 */
export async function readAuditPage(
  redis: RedisClient,
  keys: KeySpace,
  q: StreamQuery & AuditFilter,
): Promise<StreamPage<AuditEntry>> {
  const streamKeys = await auditKeys(redis, keys, q.service)
  const filter: AuditFilter = { service: q.service, actor: q.actor }
  const pages = await Promise.all(streamKeys.map((key) => readStreamPage(redis, key, q, (e) => auditEntry(e, filter))))
  // The lowest id every unfinished stream has scanned down to: entries below it may still have unseen neighbours.
  let horizon: string | null = null
  for (const p of pages) if (p.nextCursor !== null && (horizon === null || compareStreamIds(p.nextCursor, horizon) > 0)) horizon = p.nextCursor
  const merged = pages
    .flatMap((p) => p.entries)
    .filter((e) => horizon === null || compareStreamIds(e.id, horizon) >= 0)
    .sort((a, b) => compareStreamIds(b.id, a.id))
  let entries = merged.slice(0, q.limit)
  const next = merged[q.limit]
  const last = entries[entries.length - 1]
  if (next && last && next.id === last.id) {
    const cut = entries.filter((e) => e.id !== last.id)
    // A run of equal ids longer than the page: return all of it rather than nothing.
    entries = cut.length > 0 ? cut : merged.filter((e) => compareStreamIds(e.id, last.id) >= 0)
  }
  const scanned = pages.reduce((n, p) => n + p.scanned, 0)
  const more = merged.length > entries.length || horizon !== null
  const tail = entries[entries.length - 1]
  const nextCursor = !more ? null : tail ? tail.id : horizon
  return { entries, nextCursor, scanned }
}

/** One exported audit line: the stream id and the full stored record (shared/streamEntries.ts `AuditRecord`). */
export type AuditExportRow = { id: string } & AuditRecord

/** Bounds of an export: entries with `fromMs ≤ id ms ≤ untilMs` (epoch ms; both optional), of one service or all. */
export interface AuditExportQuery {
  fromMs?: number
  untilMs?: number
  service?: string
}

const EXPORT_BATCH = 500

function toFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

/**
 * Every audit entry within the bounds, oldest first, merged over the streams: reads each stream in batches of 500
 * (XRANGE) and yields rows one at a time, so memory stays bounded by streams × 500 whatever the export's size.
 * Malformed entries are skipped and counted in `skipped.count`.
 * @throws Redis errors (from the iteration)
 */
export async function* exportAudit(
  redis: RedisClient,
  keys: KeySpace,
  q: AuditExportQuery,
  skipped: { count: number } = { count: 0 },
): AsyncGenerator<AuditExportRow> {
  const end = q.untilMs !== undefined ? String(Math.floor(q.untilMs)) : '+'
  const cursors = (await auditKeys(redis, keys, q.service)).map((key) => ({
    key,
    start: q.fromMs !== undefined ? String(Math.max(0, Math.floor(q.fromMs))) : '-',
    buffer: [] as [string, string[]][],
    done: false,
  }))
  const refill = async (c: (typeof cursors)[number]) => {
    const batch = (await redis.xrange(c.key, c.start, end, 'COUNT', EXPORT_BATCH)) as [string, string[]][]
    c.buffer = batch
    if (batch.length < EXPORT_BATCH) c.done = true
    const lastId = batch[batch.length - 1]?.[0]
    if (lastId) c.start = `(${lastId}`
  }
  await Promise.all(cursors.map(refill))
  for (;;) {
    let pick: (typeof cursors)[number] | null = null
    for (const c of cursors) {
      const head = c.buffer[0]
      if (head && (pick === null || compareStreamIds(head[0], (pick.buffer[0] as [string, string[]])[0]) < 0)) pick = c
    }
    if (pick === null) return
    const [id, flat] = pick.buffer.shift() as [string, string[]]
    if (pick.buffer.length === 0 && !pick.done) await refill(pick)
    const record = parseAuditEntry(toFields(flat))
    if (record === null || (q.service !== undefined && record.service !== q.service)) {
      skipped.count++
      continue
    }
    yield { id, ...record }
  }
}
