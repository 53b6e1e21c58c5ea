import { formatClock } from '../../format'
import { useSnapshotStore } from '../../store'
import { useAsOfStore } from '../../uiState'

/** The "as of HH:MM:SS" of the data on screen (the page's, else the last overview snapshot's). */
export function useShownAsOf(): number | null {
  const pageAsOf = useAsOfStore((s) => s.asOfMs)
  const snapshotAsOf = useSnapshotStore((s) => s.snapshot?.asOfMs ?? null)
  return pageAsOf ?? snapshotAsOf
}

/** "as of HH:MM:SS" (`data-testid="as-of"`), or "no data yet". */
export function AsOf() {
  const asOfMs = useShownAsOf()
  return (
    <p className="as-of muted">
      {asOfMs !== null ? (
        <>
          as of{' '}
          <time data-testid="as-of" dateTime={new Date(asOfMs).toISOString()}>
            {formatClock(asOfMs)}
          </time>
        </>
      ) : (
        <span data-testid="as-of">no data yet</span>
      )}
    </p>
  )
}
