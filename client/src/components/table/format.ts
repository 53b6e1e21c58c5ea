/** Formatting for log tables: local date and time, compact and locale-independent. */

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/**
 * `YYYY-MM-DD HH:MM:SS.mmm` local time (log rows): `formatDateTime`, the dashboard's one date format (issue #15), with
 * milliseconds, which order a burst of entries.
 */
export function formatLogTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  return `${formatDateTime(epochMs)}.${pad(new Date(epochMs).getMilliseconds(), 3)}`
}

/** `YYYY-MM-DD HH:MM:SS` local time: the one format every full date and time on the dashboard uses (issue #15). */
export function formatDateTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '—'
  const d = new Date(epochMs)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** Grouped integer, e.g. `1,000,000`. */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—'
}
