/**
 * Number and time formatting for the dashboard. Pure and locale-independent (en-US digits and grouping),
 * so what the tests and the end-to-end specs read does not depend on the browser's language.
 */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Placeholder for a value that does not exist (no requests in the window, no data yet). */
export const NO_VALUE = '—'

/** Formats epoch ms as local wall-clock time `HH:MM:SS` (24 h). */
export function formatClock(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return NO_VALUE
  const d = new Date(epochMs)
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
}

/** Formats requests per second: 2 decimals below 10, 1 below 100, then whole numbers with grouping. */
export function formatRps(rps: number): string {
  if (!Number.isFinite(rps)) return NO_VALUE
  if (rps < 10) return rps.toFixed(2)
  if (rps < 100) return rps.toFixed(1)
  return INTEGER.format(rps)
}

/** Formats a fraction 0–1 as a percentage number (no `%` sign): 2 decimals below 1 %, else 1 decimal. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return NO_VALUE
  const pct = fraction * 100
  return pct < 1 ? pct.toFixed(2) : pct.toFixed(1)
}

/** Formats a latency in ms (no unit): null → "—", 1 decimal below 10 ms, else whole ms with grouping. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return NO_VALUE
  if (ms < 10) return ms.toFixed(1)
  return INTEGER.format(ms)
}

/** Formats a byte count in MiB with no decimals, e.g. `"123 MB"`. */
export function formatMegabytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return NO_VALUE
  return `${INTEGER.format(bytes / 1_048_576)} MB`
}
