/**
 * Number and time formatting for the dashboard. Pure and locale-independent (en-US digits and grouping),
 * so what the tests and the end-to-end specs read does not depend on the browser's language.
 */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Placeholder for a value that does not exist (no requests in the window, nothing loaded yet). */
export const NO_VALUE = '—'

/**
 * What a throughput shows when the window has no data at all (no instance flushed any of its buckets): not "0.00",
 * which would claim the service served nothing (docs/METRICS.md "Coverage and gaps").
 */
export const NO_DATA = 'No data'

/** Time zone the dashboard shows times in: the browser's (`local`, default) or `utc` (the header's toggle, `?tz=`). */
let displayZone: 'local' | 'utc' = 'local'

/** Sets the time zone every formatter below uses (the shell calls it from `?tz=` before its pages render). */
export function setDisplayTimeZone(zone: 'local' | 'utc'): void {
  displayZone = zone
}

/** The time zone formatters use now. */
export function displayTimeZone(): 'local' | 'utc' {
  return displayZone
}

/** Wall-clock fields of an instant in the display time zone (month 1–12). */
export interface WallClock {
  year: number
  month: number
  day: number
  hours: number
  minutes: number
  seconds: number
  millis: number
}

/** The wall-clock fields of `epochMs` in the display time zone (local, or UTC when chosen). */
export function wallClock(epochMs: number): WallClock {
  const d = new Date(epochMs)
  return displayZone === 'utc'
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), millis: d.getUTCMilliseconds() }
    : { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), millis: d.getMilliseconds() }
}

/** Minutes to add to UTC for the display time zone at `epochMs` (0 in UTC; e.g. 60 for local CET in winter). */
export function displayOffsetMin(epochMs: number): number {
  return displayZone === 'utc' ? 0 : -new Date(epochMs).getTimezoneOffset()
}

/** The display time zone as people read it at `epochMs`: `UTC`, or the local offset `UTC+01:00` / `UTC−05:30`. */
export function timeZoneLabel(epochMs: number): string {
  const off = displayOffsetMin(epochMs)
  if (displayZone === 'utc') return 'UTC'
  const sign = off < 0 ? '−' : '+'
  const a = Math.abs(off)
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
}

/** Formats epoch ms as wall-clock time `HH:MM:SS` (24 h) in the display time zone. */
export function formatClock(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return NO_VALUE
  const w = wallClock(epochMs)
  return [w.hours, w.minutes, w.seconds].map((n) => String(n).padStart(2, '0')).join(':')
}

/** Formats epoch ms as `HH:MM` (24 h) in the display time zone. */
export function formatMinute(epochMs: number): string {
  return formatClock(epochMs).slice(0, 5)
}

/** Formats epoch ms as `MM-DD HH:MM` (24 h) in the display time zone, for axes and notes of windows a day or longer. */
export function formatDayTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return NO_VALUE
  const w = wallClock(epochMs)
  return `${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')} ${formatMinute(epochMs)}`
}

/**
 * Formats requests per second: 2 decimals below 10, 1 below 100, then whole numbers with grouping; null (no data)
 * → "—" (tiles say NO_DATA instead).
 */
export function formatRps(rps: number | null): string {
  if (rps === null || !Number.isFinite(rps)) return NO_VALUE
  if (rps < 10) return rps.toFixed(2)
  if (rps < 100) return rps.toFixed(1)
  return INTEGER.format(rps)
}

/** A throughput figure as a tile or header shows it: `formatRps`, or NO_DATA when the window has no data (null). */
export function formatThroughput(rps: number | null): string {
  return rps === null ? NO_DATA : formatRps(rps)
}

/**
 * Formats a fraction 0–1 as a percentage number (no `%` sign): 2 decimals below 1 %, else 1 decimal; null (nothing
 * to divide, e.g. an error rate without requests) → "—".
 */
export function formatPercent(fraction: number | null): string {
  if (fraction === null || !Number.isFinite(fraction)) return NO_VALUE
  const pct = fraction * 100
  return pct < 1 ? pct.toFixed(2) : pct.toFixed(1)
}

/** Formats a latency in ms (no unit): null → "—", 1 decimal below 10 ms, else whole ms with grouping. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return NO_VALUE
  if (ms < 10) return ms.toFixed(1)
  return INTEGER.format(ms)
}

/**
 * Formats an elapsed time (ms) in words an operator reads at a glance, two units at most: "45 s", "3 min 12 s",
 * "2 h 5 min", "3 d 4 h"; below 1 s "just now"; negative or not finite → "—".
 */
export function formatSince(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return NO_VALUE
  const s = Math.floor(ms / 1000)
  if (s < 1) return 'just now'
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`
}

/** Formats a byte count in MiB with no decimals, e.g. `"123 MB"`. */
export function formatMegabytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return NO_VALUE
  return `${INTEGER.format(bytes / 1_048_576)} MB`
}
