import { useLive } from '../../uiState'

/** "Live" (pressed) / "Paused" toggle: while paused nothing refetches or streams. */
export function LiveToggle() {
  const [live, setLive] = useLive()
  return (
    <button
      type="button"
      className={live ? 'live-toggle is-live' : 'live-toggle'}
      aria-pressed={live}
      title={live ? 'Updating — click to pause' : 'Paused — click to resume live updates'}
      onClick={() => setLive(!live)}
    >
      <span className="live-dot" aria-hidden="true" />
      {live ? 'Live' : 'Paused'}
    </button>
  )
}
