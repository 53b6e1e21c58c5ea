/**
 * The layout of every Redis stream entry Fusebox writes — a service's events stream, its sampled request log, and
 * the audit log — as typed writers (record → flat XADD field list) and validating parsers (field map → record, or
 * null when the entry is not one Fusebox could have written). Both the SDK and the server use these, so the
 * layout is written once; the parsers treat Redis as an input (docs/PRODUCT.md "Rules for every part").
 * Pure: no imports beyond the vocabulary, no I/O.
 */
import {
  EVENT_TYPES,
  HTTP_METHODS,
  NAME_PATTERN,
  REQUEST_LOG_KINDS,
  type EventType,
  type HttpMethod,
  type RequestLogKind,
} from './vocabulary'

/** Longest text a parser accepts in one free-text field (routes, reasons, actors); a longer value drops the entry. */
export const MAX_TEXT_FIELD_CHARS = 8192

/** One entry of a service's events stream. Times epoch ms. */
export interface EventRecord {
  atMs: number
  type: EventType
  breaker: string
  /** The instance it happened on (`transition`, `commandApplied`) or was aimed at; '' for every instance. */
  instance: string
  /** State before (transitions) or ''. */
  from: string
  /** State after, or the mode a command leaves in force. */
  to: string
  reason: string
  /** Command generation (commands), or null. */
  generation: number | null
}

/** One sampled request (slow or failed) of a service's request log. Time epoch ms, duration ms. */
export interface RequestLogEntry {
  atMs: number
  method: HttpMethod
  /** Route template, never a raw URL. */
  route: string
  status: number
  durationMs: number
  instance: string
  /** OpenTelemetry `error.type`: an exception class, or the status code for a failed response; '' otherwise. */
  errorType: string
  kind: RequestLogKind
}

/** One operator action in the audit log. `actor` comes from the session, never from the client. */
export interface AuditRecord {
  atMs: number
  actor: string
  service: string
  /** What was done: a breaker command (`reset`, `forceOpen`, …) or `invalidateTag`. */
  action: string
  /** Breaker name (breaker commands), or '' for other actions. */
  breaker: string
  /** Instance targeted, `*` for all; '' for non-breaker actions. */
  target: string
  /** Human description of the target for non-breaker actions, e.g. `catalog tag product:42`. */
  targetDescription: string
  reason: string
  commandId: string
  generation: number | null
  /** What happened: `issued` (commands are then applied asynchronously) or e.g. `removed 3 keys`. */
  outcome: string
}

const str = (n: number | null): string => (n === null ? '' : String(n))

/** XADD fields of an events entry, in the stored order. */
export function eventFields(e: EventRecord): string[] {
  return ['type', e.type, 'breaker', e.breaker, 'instance', e.instance, 'from', e.from, 'to', e.to,
    'reason', e.reason, 'generation', str(e.generation), 'atMs', String(e.atMs)]
}

/** XADD fields of a request-log entry, in the stored order (duration to µs). */
export function requestLogFields(r: RequestLogEntry): string[] {
  return ['atMs', String(r.atMs), 'method', r.method, 'route', r.route, 'status', String(r.status),
    'durationMs', r.durationMs.toFixed(3), 'instance', r.instance, 'errorType', r.errorType, 'kind', r.kind]
}

/** XADD fields of an audit entry, in the stored order (the action is stored as `command`). */
export function auditFields(r: AuditRecord): string[] {
  return ['atMs', String(r.atMs), 'actor', r.actor, 'service', r.service, 'command', r.action,
    'breaker', r.breaker, 'target', r.target, 'targetDescription', r.targetDescription,
    'reason', r.reason, 'commandId', r.commandId, 'generation', str(r.generation), 'outcome', r.outcome]
}

/** Epoch ms or a count: a non-negative safe integer written in decimal; else undefined. */
function wholeNumber(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,16}$/.test(s)) return undefined
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : undefined
}

/** A finite number ≥ 0 (decimal, as `toFixed` writes it); else undefined. */
function nonNegative(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,16}(\.\d{1,9})?$/.test(s)) return undefined
  return Number(s)
}

/** A text field: absent reads as '' (older writers left some out); over MAX_TEXT_FIELD_CHARS is invalid. */
function text(s: string | undefined): string | undefined {
  if (s === undefined) return ''
  return s.length <= MAX_TEXT_FIELD_CHARS ? s : undefined
}

/** '' or absent → null; otherwise a whole number, or undefined when malformed. */
function optionalWhole(s: string | undefined): number | null | undefined {
  return s === undefined || s === '' ? null : wholeNumber(s)
}

function oneOf<T extends string>(values: readonly T[], s: string | undefined): T | undefined {
  return (values as readonly string[]).includes(s ?? '') ? (s as T) : undefined
}

const isName = (s: string | undefined): s is string => s !== undefined && NAME_PATTERN.test(s)

/** Parses an events entry; null when any field is malformed (unknown type, bad name, non-numeric time …). */
export function parseEvent(x: Readonly<Record<string, string>>): EventRecord | null {
  const atMs = wholeNumber(x.atMs)
  const type = oneOf(EVENT_TYPES, x.type)
  const generation = optionalWhole(x.generation)
  const instance = x.instance ?? ''
  const from = text(x.from)
  const to = text(x.to)
  const reason = text(x.reason)
  if (atMs === undefined || type === undefined || generation === undefined || !isName(x.breaker)) return null
  if ((instance !== '' && !isName(instance)) || from === undefined || to === undefined || reason === undefined) return null
  return { atMs, type, breaker: x.breaker, instance, from, to, reason, generation }
}

/** Parses a request-log entry; null when any field is malformed. Status is any whole number 0–999. */
export function parseRequestLogEntry(x: Readonly<Record<string, string>>): RequestLogEntry | null {
  const atMs = wholeNumber(x.atMs)
  const method = oneOf(HTTP_METHODS, x.method)
  const status = wholeNumber(x.status)
  const durationMs = nonNegative(x.durationMs)
  const kind = oneOf(REQUEST_LOG_KINDS, x.kind)
  const route = x.route
  const errorType = text(x.errorType)
  if (atMs === undefined || method === undefined || status === undefined || status > 999 || durationMs === undefined) return null
  if (kind === undefined || route === undefined || route === '' || route.length > MAX_TEXT_FIELD_CHARS) return null
  if (!isName(x.instance) || errorType === undefined) return null
  return { atMs, method, route, status, durationMs, instance: x.instance, errorType, kind }
}

/** Parses an audit entry; null when the time or generation is malformed or a text field is oversized. */
export function parseAuditEntry(x: Readonly<Record<string, string>>): AuditRecord | null {
  const atMs = wholeNumber(x.atMs)
  const generation = optionalWhole(x.generation)
  const fields = {
    actor: text(x.actor),
    service: text(x.service),
    // `command` is the stored name; `action` is accepted for entries written by hand.
    action: text(x.command ?? x.action),
    breaker: text(x.breaker),
    target: text(x.target),
    targetDescription: text(x.targetDescription),
    reason: text(x.reason),
    commandId: text(x.commandId),
    outcome: text(x.outcome),
  }
  if (atMs === undefined || generation === undefined) return null
  for (const v of Object.values(fields)) if (v === undefined) return null
  return { atMs, generation, ...(fields as { [K in keyof typeof fields]: string }) }
}
