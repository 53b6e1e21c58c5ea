import { formatClock } from '../format'
import { useIsOffline, useSnapshotStore } from '../store'

/** "Offline — data as of HH:MM:SS" while the browser is offline or the last fetch/subscription failed. */
export function OfflineBanner() {
  const offline = useIsOffline()
  const asOfMs = useSnapshotStore((s) => s.snapshot?.asOfMs ?? null)
  if (!offline) return null
  return (
    <div className="banner banner-offline" role="status" data-testid="offline-banner">
      {asOfMs === null ? 'Offline — no data saved yet' : `Offline — data as of ${formatClock(asOfMs)}`}
    </div>
  )
}
