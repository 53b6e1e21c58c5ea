/**
 * Axis ticks people read without effort (issue #15): value ticks at 1-2-5 multiples of a power of ten from 0, and time
 * ticks at round intervals aligned to the local clock. Pure; every chart of a page that is handed the same points gets
 * the same time ticks, so their axes line up.
 */
import { displayOffsetMin } from '../../format'

/**
 * The smallest 1-2-5 step (1, 2 or 5 × 10^k) at least `raw`.
 * @param raw  > 0 and finite, else 1
 */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1
  const power = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * power >= raw * (1 - 1e-12)) return m * power
  return 10 * power
}

/** Rounds away float noise of a multiple of `step` (0.30000000000000004 → 0.3). */
function clean(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  return Number(v.toFixed(Math.min(20, digits)))
}

/**
 * Ticks of a value axis from 0: 0, s, 2s, … up to the first multiple of s at or above `max`, where s = niceStep(top ÷
 * `target`), so the axis shows about `target` intervals.
 * @param max  the data's largest value (≤ 0, not finite → `minTop`)
 * @param opts.minTop  the top when the data is all 0 or tiny (default 1); opts.cap: never above (e.g. 1 for a ratio)
 * @returns ticks ascending, the last one the axis top
 */
export function valueTicks(max: number, opts: { target?: number; minTop?: number; cap?: number } = {}): number[] {
  const target = opts.target ?? 4
  let top = Number.isFinite(max) && max > 0 ? Math.max(max, opts.minTop ?? 0) : (opts.minTop ?? 1)
  if (opts.cap !== undefined) top = Math.min(top, opts.cap)
  const step = niceStep(top / target)
  const n = Math.max(1, Math.ceil(top / step - 1e-9))
  const ticks = Array.from({ length: n + 1 }, (_, i) => clean(i * step, step))
  return opts.cap !== undefined ? ticks.filter((t) => t <= opts.cap! + 1e-12) : ticks
}

const S = 1000
const MIN = 60 * S
const H = 60 * MIN
const D = 24 * H
/** Round time intervals, shortest first (Grafana's set, which keeps minutes and hours on the clock's own divisions). */
export const TIME_INTERVALS_MS = [10 * S, 20 * S, 30 * S, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, H, 2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D]

/**
 * Time ticks in [fromMs, toMs]: the shortest interval of TIME_INTERVALS_MS giving at most `target` ticks, at its
 * multiples in local time (an interval of a day or more at local midnights).
 * @param tzOffsetMin  minutes to add to UTC for the display time zone (default format.ts `displayOffsetMin(fromMs)`: 0 in UTC, else the browser's)
 * @returns `{ ticks, intervalMs }`, ticks ascending; none when the span is empty
 */
export function timeTicks(fromMs: number, toMs: number, target = 5, tzOffsetMin = displayOffsetMin(fromMs)): { ticks: number[]; intervalMs: number } {
  const span = toMs - fromMs
  if (!(span > 0) || !Number.isFinite(span)) return { ticks: [], intervalMs: TIME_INTERVALS_MS[0] as number }
  const intervalMs = TIME_INTERVALS_MS.find((i) => span / i <= target) ?? (TIME_INTERVALS_MS.at(-1) as number)
  const offset = tzOffsetMin * MIN
  const first = Math.ceil((fromMs + offset) / intervalMs) * intervalMs - offset
  const ticks: number[] = []
  for (let t = first; t <= toMs; t += intervalMs) ticks.push(t)
  return { ticks, intervalMs }
}
