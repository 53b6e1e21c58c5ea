/**
 * The two streams alerting appends to, written and read here only (one owner per format, docs/decisions/011, as
 * shared/streamEntries.ts does for the audit): `P:alerts:{alerts}:history` (state changes, by the evaluator) and
 * `P:alerts:{alerts}:deliveries` (every notification attempt). Both are read back through the API; what does not
 * parse is left out.
 */
import type { AlertInstance, AlertTransition } from '../../../shared/alerts'
import type { StreamEntry } from '../reads/streams'
import type { OutboxEntry } from './notify'

/** XADD fields of a history entry: one alert's change at `atMs`, and the silence that covered it ('' if none). */
export function historyFields(alert: AlertInstance, transition: AlertTransition, atMs: number, silencedBy: string): string[] {
  return [
    'atMs', String(atMs), 'ruleId', alert.ruleId, 'alertname', alert.labels.alertname ?? '', 'severity', alert.labels.severity ?? '',
    'key', alert.key, 'labels', JSON.stringify(alert.labels), 'transition', transition, 'value', alert.value === null ? '' : String(alert.value),
    'activeSinceMs', String(alert.activeSinceMs), 'silencedBy', silencedBy,
  ]
}

/** XADD fields of a delivery-log entry: attempt `o.attempts + 1` of one outbox entry and its outcome. */
export function deliveryFields(o: OutboxEntry, outcome: string, status: number | null, error: string | null, atMs: number): string[] {
  return [
    'atMs', String(atMs), 'notification', o.id, 'receiver', o.receiver, 'status', o.notification.status,
    'alertname', o.notification.labels.alertname ?? '', 'ruleId', o.notification.ruleId, 'attempt', String(o.attempts + 1),
    'outcome', outcome, 'httpStatus', status === null ? '' : String(status), 'error', error ?? '',
  ]
}

/** One history entry (stream `history`). */
export interface AlertHistoryEntry {
  id: string
  atMs: number
  ruleId: string
  alertname: string
  severity: string
  labels: Record<string, string>
  transition: string
  value: number | null
  activeSinceMs: number
  silencedBy: string
}

/** Parses one history entry; null (left out) when it lacks its time, rule or transition, or its labels are not JSON. */
export function historyEntry(e: StreamEntry): AlertHistoryEntry | null {
  const f = e.fields
  const atMs = Number(f.atMs)
  if (!Number.isFinite(atMs) || !f.ruleId || !f.transition) return null
  let labels: Record<string, string> = {}
  try {
    const parsed = JSON.parse(f.labels ?? '{}') as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) labels = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<string, string>
  } catch {
    return null
  }
  const value = f.value === undefined || f.value === '' ? null : Number(f.value)
  return {
    id: e.id,
    atMs,
    ruleId: f.ruleId,
    alertname: f.alertname ?? '',
    severity: f.severity ?? '',
    labels,
    transition: f.transition,
    value: value !== null && Number.isFinite(value) ? value : null,
    activeSinceMs: Number(f.activeSinceMs) || atMs,
    silencedBy: f.silencedBy ?? '',
  }
}

/** One delivery-log entry (stream `deliveries`). */
export interface DeliveryLogEntry {
  id: string
  atMs: number
  notification: string
  receiver: string
  status: string
  alertname: string
  ruleId: string
  attempt: number
  outcome: string
  httpStatus: number | null
  error: string
}

/** Parses one delivery-log entry; null (left out) when it lacks its time, notification or outcome. */
export function deliveryEntry(e: StreamEntry): DeliveryLogEntry | null {
  const f = e.fields
  const atMs = Number(f.atMs)
  if (!Number.isFinite(atMs) || !f.notification || !f.outcome) return null
  return {
    id: e.id,
    atMs,
    notification: f.notification,
    receiver: f.receiver ?? '',
    status: f.status ?? '',
    alertname: f.alertname ?? '',
    ruleId: f.ruleId ?? '',
    attempt: Number(f.attempt) || 0,
    outcome: f.outcome,
    httpStatus: f.httpStatus ? Number(f.httpStatus) || null : null,
    error: f.error ?? '',
  }
}
