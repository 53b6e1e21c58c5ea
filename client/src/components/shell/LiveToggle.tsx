import { useEffect, useState } from 'react'
import { formatClock } from '../../format'
import { useIsOffline, useSessionStore } from '../../store'
import { useAbsoluteRange, useLive, usePollInterval, useRefresh, useWindowEnd } from '../../uiState'
import { useShownAsOf } from './AsOf'

/**
 * What the data on screen is (issue #15: the indicator never says "Live" over old data):
 * - `offline`: the browser is offline or the server unreachable — saved data is shown;
 * - `stalled`: live, but the server cannot give live data (e.g. 503 "Redis is unreachable") or nothing new arrived for
 *   STALLED_AFTER_MS;
 * - `paused`: the person paused updates; every window ends at the pause moment;
 * - `live`: updating.
 */
export type LiveState = 'live' | 'paused' | 'offline' | 'stalled'

/**
 * Live data older than this is stalled, ms: 4 polls of the slowest live page (LIVE_POLL_INTERVAL_MS = 5 s), 20
 * pushes of the Overview's stream.
 */
export const STALLED_AFTER_MS = 20_000

/**
 * @param i.refreshMs  the chosen refresh interval (`?refresh=`), ms; data is stalled only once older than 3 of them
 *   (and never before STALLED_AFTER_MS)
 * @returns the LiveState for these inputs (pure): offline before stalled before paused
 */
export function liveStateOf(i: { live: boolean; offline: boolean; serverError: string | null; asOfMs: number | null; nowMs: number; refreshMs?: number | null }): LiveState {
  if (i.offline) return 'offline'
  if (i.serverError !== null) return 'stalled'
  if (!i.live) return 'paused'
  const after = Math.max(STALLED_AFTER_MS, 3 * (i.refreshMs ?? 0))
  if (i.asOfMs !== null && i.nowMs - i.asOfMs > after) return 'stalled'
  return 'live'
}

/** The current time (epoch ms), re-read every `periodMs` (for staleness checks). */
function useNow(periodMs: number): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs)
    return () => clearInterval(timer)
  }, [periodMs])
  return now
}

const LABEL: Record<LiveState, string> = { live: 'Live', paused: 'Paused', offline: 'Offline', stalled: 'Stalled' }

/**
 * The live indicator and "Live" / "Paused" toggle (`aria-pressed` = live updates on): its text is the LiveState, so it
 * reads Offline or Stalled when the data stopped though updates are on. While paused nothing refetches or streams.
 */
export function LiveToggle() {
  const [live, setLive] = useLive()
  const { untilMs } = useWindowEnd()
  const offline = useIsOffline()
  const serverError = useSessionStore((s) => s.liveError)
  const asOfMs = useShownAsOf()
  const nowMs = useNow(1000)
  const [refresh] = useRefresh()
  const refreshMs = usePollInterval(0)
  const absolute = useAbsoluteRange()
  const state = liveStateOf({ live, offline, serverError, asOfMs, nowMs, refreshMs: refresh === 'live' ? null : refreshMs })
  const pausedTitle = absolute
    ? 'Paused: an absolute time range is shown'
    : untilMs === undefined
      ? 'Paused'
      : `Paused: windows end at ${formatClock(untilMs)}`
  const why: Record<LiveState, string> = {
    live: 'Updating — click to pause',
    paused: `${pausedTitle} — click to resume live updates`,
    offline: `Offline — showing saved data${asOfMs === null ? '' : ` as of ${formatClock(asOfMs)}`}; ${live ? 'click to pause' : 'click to resume'}`,
    stalled: `Stalled — ${serverError ?? `nothing new since ${asOfMs === null ? 'the start' : formatClock(asOfMs)}`}; ${live ? 'click to pause' : 'click to resume'}`,
  }
  return (
    <button
      type="button"
      className={`live-toggle is-${state}`}
      aria-pressed={live}
      title={why[state]}
      data-testid="live-indicator"
      data-state={state}
      onClick={() => setLive(!live)}
    >
      <span className="live-dot" aria-hidden="true" />
      {LABEL[state]}
    </button>
  )
}
