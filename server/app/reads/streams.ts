/**
 * Cursor-paged reads of the capped streams — sampled request log, events, audit log — newest first.
 *
 * The cursor is the stream ID of the last entry returned; the next page starts strictly before it (`XREVRANGE
 * (<id>`, Redis ≥ 6.2). Time bounds map onto stream IDs (epoch ms). Other filters are applied here while scanning
 * pages of the stream; one call scans at most MAX_SCAN entries, so a rare filter returns a short page with a cursor
 * rather than a slow request.
 */
import type { RedisClient } from '../../sdk/redisTopology'
import {
  parseAuditEntry,
  parseEvent,
  parseRequestLogEntry,
  type EventRecord,
  type RequestLogEntry,
} from '../../../shared/streamEntries'
import type { EventType } from '../../../shared/vocabulary'
import { readKey, reportInvalidValue } from './redisInput'

/** Entries examined per call at most (bounded work whatever the filter). */
export const MAX_SCAN = 5000
const PAGE = 500

/** One stream entry: its ID and its fields as strings, and the stream's key when read from Redis (for reports). */
export interface StreamEntry {
  id: string
  fields: Record<string, string>
  key?: string
}

/** `parsed`, or null after reporting entry `e` as malformed (`stream_entry`, logged once per stream key). */
function reported<T>(e: StreamEntry, parsed: T | null): T | null {
  if (parsed === null && e.key !== undefined) reportInvalidValue('stream_entry', e.key, `entry ${e.id} is malformed`)
  return parsed
}

/** A page of entries, newest first; `nextCursor` null when the stream has nothing older (within the bounds). */
export interface StreamPage<T> {
  entries: T[]
  nextCursor: string | null
  /** Entries examined for this page (≤ MAX_SCAN). */
  scanned: number
}

/** Paging request: `limit` entries older than `cursor` (exclusive), within [fromMs, toMs]. */
export interface StreamQuery {
  cursor?: string | null
  limit: number
  fromMs?: number
  toMs?: number
}

function toFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

/**
 * Reads one page of `key` newest first, keeping entries for which `keep` is true. A key of another type than a
 * stream reads as an empty stream (counted and logged once, see redisInput.ts).
 * @throws Redis errors but WRONGTYPE (the API turns them into a 503 or an internal error with an id)
 */
export async function readStreamPage<T>(
  redis: RedisClient,
  key: string,
  q: StreamQuery,
  map: (e: StreamEntry) => T | null,
): Promise<StreamPage<T>> {
  const start = q.fromMs !== undefined ? String(Math.max(0, Math.floor(q.fromMs))) : '-'
  let end = q.cursor ? `(${q.cursor}` : q.toMs !== undefined ? String(Math.floor(q.toMs)) : '+'
  const entries: T[] = []
  let scanned = 0
  let last: string | null = null
  // Exhausted: the stream has nothing older than `last` within the bounds (a short read was fully consumed).
  let exhausted = false
  pages: while (entries.length < q.limit && scanned < MAX_SCAN) {
    const count = Math.min(PAGE, MAX_SCAN - scanned)
    const page = await readKey(key, () => redis.xrevrange(key, end, start, 'COUNT', count), [])
    for (let i = 0; i < page.length; i++) {
      const [id, flat] = page[i] as [string, string[]]
      scanned++
      last = id
      const mapped = map({ id, fields: toFields(flat), key })
      if (mapped === null) continue
      entries.push(mapped)
      if (entries.length >= q.limit) {
        exhausted = i === page.length - 1 && page.length < count
        break pages
      }
    }
    if (page.length < count) {
      exhausted = true
      break
    }
    end = `(${last}`
  }
  return { entries, nextCursor: exhausted || last === null ? null : last, scanned }
}

/**
 * True when every filter value that is set equals the entry's field of the same name (exact, case-sensitive);
 * unset (undefined) filter values match everything.
 */
function fieldsMatch(fields: Record<string, string>, filter: object): boolean {
  for (const [name, want] of Object.entries(filter)) if (want !== undefined && fields[name] !== want) return false
  return true
}

/** A stream entry as the API returns it: its stream ID and the parsed record. */
export type StreamRow<T> = { id: string } & T

/** A sampled request (slow or failed) with its stream ID (layout: shared/streamEntries.ts). */
export type RequestLogRow = StreamRow<RequestLogEntry>

/** Filters of the request log; `status` is a code (`503`) or a class (`5xx`). */
export interface RequestLogFilter {
  route?: string
  status?: string
  instance?: string
}

/**
 * Maps a request-log stream entry, or null when it is malformed (see `parseRequestLogEntry`) or does not match the
 * filter (route and instance exactly, status by code or class); a malformed entry read from Redis is counted
 * (`stream_entry`, see redisInput.ts).
 */
export function requestLogEntry(e: StreamEntry, f: RequestLogFilter = {}): RequestLogRow | null {
  const x = e.fields
  if (!fieldsMatch(x, { route: f.route, instance: f.instance })) return null
  const r = reported(e, parseRequestLogEntry(x))
  if (r === null) return null
  if (f.status !== undefined) {
    const cls = /^([1-5])xx$/.exec(f.status)
    if (cls ? Math.floor(r.status / 100) !== Number(cls[1]) : String(r.status) !== f.status) return null
  }
  return { id: e.id, ...r }
}

/** A breaker transition, applied command or issued command, with its stream ID (layout: shared/streamEntries.ts). */
export type EventEntry = StreamRow<EventRecord>

/** Filters of the events stream. */
export interface EventFilter {
  breaker?: string
  instance?: string
  type?: EventType
}

/** Maps an events stream entry, or null when it is malformed or does not match the filter (every set field exactly). */
export function eventEntry(e: StreamEntry, f: EventFilter = {}): EventEntry | null {
  if (!fieldsMatch(e.fields, f)) return null
  const r = reported(e, parseEvent(e.fields))
  return r === null ? null : { id: e.id, ...r }
}

/** One operator action as the audit page shows it: who, when, what, why, and the outcome. */
export interface AuditEntry {
  id: string
  atMs: number
  actor: string
  service: string
  action: string
  /** `<breaker>` or `<breaker> @ <instance>` for breaker commands, else the target description. */
  target: string
  reason: string
  commandId: string
  generation: number | null
  outcome: string
}

/** Filters of the audit log. */
export interface AuditFilter {
  service?: string
  actor?: string
}

/** Maps an audit stream entry, or null when it is malformed or does not match the filter (every set field exactly). */
export function auditEntry(e: StreamEntry, f: AuditFilter): AuditEntry | null {
  if (!fieldsMatch(e.fields, f)) return null
  const r = reported(e, parseAuditEntry(e.fields))
  if (r === null) return null
  return {
    id: e.id,
    atMs: r.atMs,
    actor: r.actor,
    service: r.service,
    action: r.action,
    target: r.breaker ? `${r.breaker}${r.target && r.target !== '*' ? ` @ ${r.target}` : ''}` : r.targetDescription,
    reason: r.reason,
    commandId: r.commandId,
    generation: r.generation,
    outcome: r.outcome,
  }
}

/** Offsets up to this are served exactly (one XREVRANGE of offset + limit entries); beyond, by time. */
export const EXACT_WINDOW = 5000

/** A window of rows for a virtualized table over a whole stream, newest first. */
export interface StreamWindow<T> {
  /** Entries in the stream (XLEN). */
  total: number
  /** Offset (0 = newest) of the first entry returned. */
  offset: number
  entries: T[]
  /** False when the offset was mapped to a time (beyond EXACT_WINDOW): rows are the right neighbourhood, not index-exact. */
  exact: boolean
  /**
   * ID of the entry at offset 0 that the offsets count from: `untilId` when given, else the stream's newest entry
   * (null for an empty stream). A paused view passes it back as `untilId` so its offsets stop moving.
   */
  newestId: string | null
}

function idMs(id: string | undefined): number {
  return Number((id ?? '0-0').split('-')[0])
}

/**
 * Rows `[offset, offset + limit)` of a stream, newest first, for random access while scrolling (the 1,000,000-row
 * log). Exact for offsets < EXACT_WINDOW; beyond, the offset is mapped to a time by linear interpolation between the
 * oldest and newest entry IDs and the window starts there (`exact: false`) — a stream cannot skip N entries cheaply.
 *
 * `untilId` (a stream ID) anchors the offsets: offset 0 is the newest entry at or before it, so entries added later
 * do not shift the rows of a paused view. `total` stays the stream's XLEN either way (counting the entries newer than
 * the anchor would mean reading them); the caller keeps the count it had when it anchored. An entry `map` returns
 * null for (malformed: Redis is an input) is left out of `entries`, so a window may hold fewer than `limit` rows; a
 * key of another type than a stream reads as an empty stream (counted and logged once, see redisInput.ts).
 */
export async function readStreamWindow<T>(
  redis: RedisClient,
  key: string,
  offset: number,
  limit: number,
  map: (e: StreamEntry) => T | null,
  untilId?: string,
): Promise<StreamWindow<T>> {
  const total = await readKey(key, () => redis.xlen(key), 0)
  const off = Math.max(0, Math.min(offset, total - 1))
  if (total === 0) return { total, offset: 0, entries: [], exact: true, newestId: untilId ?? null }
  const end = untilId ?? '+'
  const toEntries = (page: [string, string[]][]): T[] => {
    const out: T[] = []
    for (const [id, flat] of page) {
      const mapped = map({ id, fields: toFields(flat), key })
      if (mapped !== null) out.push(mapped)
    }
    return out
  }
  if (off + limit <= EXACT_WINDOW) {
    const page = await redis.xrevrange(key, end, '-', 'COUNT', off + limit)
    return { total, offset: off, entries: toEntries(page.slice(off)), exact: true, newestId: untilId ?? page[0]?.[0] ?? null }
  }
  const [[newest], [oldest]] = await Promise.all([redis.xrevrange(key, end, '-', 'COUNT', 1), redis.xrange(key, '-', '+', 'COUNT', 1)])
  const newestMs = idMs(newest?.[0])
  const oldestMs = idMs(oldest?.[0])
  const targetMs = Math.floor(newestMs - (off / Math.max(1, total - 1)) * (newestMs - oldestMs))
  const page = await redis.xrevrange(key, String(targetMs), '-', 'COUNT', limit)
  return { total, offset: off, entries: toEntries(page), exact: false, newestId: untilId ?? newest?.[0] ?? null }
}
