/** Formatting for log tables: local date and time, compact and locale-independent. */

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** `MM-DD HH:MM:SS.mmm` local time (log rows; the year is rarely useful in a 30-day log). */
export function formatLogTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  const d = new Date(epochMs)
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** `YYYY-MM-DD HH:MM:SS` local time. */
export function formatDateTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  const d = new Date(epochMs)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** Grouped integer, e.g. `1,000,000`. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'
}
