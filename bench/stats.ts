/** Small helpers shared by the benchmarks: medians, timing loops, formatting. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  if (s.length === 0) return Number.NaN
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

/** Wall time of `fn()` in ns (process.hrtime.bigint). */
export function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0)
}

/** Wall time of `await fn()` in ns. */
export async function timeNsAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - t0)
}

/** A number with `digits` significant-ish decimals, for tables. */
export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  return n.toFixed(digits)
}

/** Relative error |estimate − exact| / exact, as a percentage. */
export function relErrorPct(estimate: number, exact: number): number {
  return (Math.abs(estimate - exact) / exact) * 100
}
