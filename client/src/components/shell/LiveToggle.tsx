import { formatClock } from '../../format'
import { useLive, useWindowEnd } from '../../uiState'

/** "Live" (pressed) / "Paused" toggle: while paused nothing refetches or streams, and every window ends at one moment. */
export function LiveToggle() {
  const [live, setLive] = useLive()
  const { untilMs } = useWindowEnd()
  const pausedTitle = untilMs === undefined ? 'Paused' : `Paused: windows end at ${formatClock(untilMs)}`
  return (
    <button
      type="button"
      className={live ? 'live-toggle is-live' : 'live-toggle'}
      aria-pressed={live}
      title={live ? 'Updating — click to pause' : `${pausedTitle} — click to resume live updates`}
      onClick={() => setLive(!live)}
    >
      <span className="live-dot" aria-hidden="true" />
      {live ? 'Live' : 'Paused'}
    </button>
  )
}
