/**
 * State-over-time series of one breaker for the timeline chart: one step line per instance, built from the
 * transitions and applied commands in the breaker's timeline (newest first from the server) and each instance's current state.
 */
import type { BreakerState } from '../../../../shared/schemas'

/** Y level of each state, bottom to top (forced closed … forced open). */
export const STATE_LEVELS: Record<BreakerState, number> = {
  FORCED_CLOSED: 0,
  CLOSED: 1,
  HALF_OPEN: 2,
  OPEN: 3,
  FORCED_OPEN: 4,
}
/** The state at each Y level (index = level): the inverse of `STATE_LEVELS`. */
export const LEVEL_STATES: BreakerState[] = ['FORCED_CLOSED', 'CLOSED', 'HALF_OPEN', 'OPEN', 'FORCED_OPEN']

/** The parts of a timeline event the chart needs. */
export interface TransitionLike {
  atMs: number
  type: string
  instance: string
  from: string
  to: string
}

/** One chart row: time, and the state level of each instance (key = instance name). */
export type TimelineRow = { t: number } & Record<string, number>

function level(state: string): number | undefined {
  return Object.hasOwn(STATE_LEVELS, state) ? STATE_LEVELS[state as BreakerState] : undefined
}

/**
 * Rows from `startMs` to `endMs`: one at the start (each instance's state before its first transition in the
 * window, else its current state), one per transition, one at the end (current states).
 */
export function buildTimelineRows(
  events: readonly TransitionLike[],
  current: readonly { instance: string; state: BreakerState }[],
  startMs: number,
  endMs: number,
): { rows: TimelineRow[]; instances: string[] } {
  const transitions = events
    .filter((e) => (e.type === 'transition' || e.type === 'commandApplied') && e.instance !== '' && level(e.to) !== undefined && e.atMs >= startMs && e.atMs <= endMs)
    .sort((a, b) => a.atMs - b.atMs)
  const names = [...new Set([...current.map((c) => c.instance), ...transitions.map((t) => t.instance)])].sort()
  const state: Record<string, number> = {}
  for (const name of names) {
    const first = transitions.find((t) => t.instance === name)
    const now = current.find((c) => c.instance === name)
    const initial = first ? level(first.from) : now ? STATE_LEVELS[now.state] : undefined
    if (initial !== undefined) state[name] = initial
  }
  const rows: TimelineRow[] = [{ t: startMs, ...state }]
  for (const t of transitions) {
    const to = level(t.to)
    if (to !== undefined) state[t.instance] = to
    rows.push({ t: t.atMs, ...state })
  }
  for (const c of current) state[c.instance] = STATE_LEVELS[c.state]
  rows.push({ t: Math.max(endMs, rows[rows.length - 1]?.t ?? endMs), ...state })
  return { rows, instances: names }
}
