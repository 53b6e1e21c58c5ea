/** Formatting for log tables: date and time in the display time zone (format.ts), compact and locale-independent. */
import { wallClock } from '../../format'


const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/**
 * `YYYY-MM-DD HH:MM:SS.mmm` local time (log rows): `formatDateTime`, the dashboard's one date format (issue #15), with
 * milliseconds, which order a burst of entries.
 */
export function formatLogTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  return `${formatDateTime(epochMs)}.${pad(wallClock(epochMs).millis, 3)}`
}

/**
 * `YYYY-MM-DD HH:MM:SS` in the display time zone (local, or UTC when chosen): the one format every full date and time
 * on the dashboard uses (issue #15).
 */
export function formatDateTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  const w = wallClock(epochMs)
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hours)}:${pad(w.minutes)}:${pad(w.seconds)}`
}

/** Grouped integer, e.g. `1,000,000`. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'
}
