import { formatClock } from '../format'
import { useIsOffline } from '../store'
import { useShownAsOf } from './shell/AsOf'

/** "Offline — data as of HH:MM:SS" while the browser is offline or the last fetch/subscription failed. */
export function OfflineBanner() {
  const offline = useIsOffline()
  const asOfMs = useShownAsOf()
  if (!offline) return null
  return (
    <div className="banner banner-offline" role="status" data-testid="offline-banner">
      {asOfMs === null ? 'Offline — no data saved yet' : `Offline — data as of ${formatClock(asOfMs)}`}{' '}
      <span className="small">(commands are disabled until the connection is back)</span>
    </div>
  )
}
