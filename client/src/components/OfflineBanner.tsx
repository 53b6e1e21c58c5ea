import { formatClock } from '../format'
import { useIsOffline, useSessionStore } from '../store'
import { useShownAsOf } from './shell/AsOf'

/**
 * "Offline — data as of HH:MM:SS" while the browser is offline or the last fetch/subscription failed; when the server
 * answered with an error instead (e.g. 503 at the session check), "Server unavailable (<its reason>) — data as of …".
 */
export function OfflineBanner() {
  const offline = useIsOffline()
  const reason = useSessionStore((s) => s.liveError)
  const asOfMs = useShownAsOf()
  if (!offline) return null
  const head = reason === null ? 'Offline' : `Server unavailable (${reason})`
  return (
    <div className="banner banner-offline" role="status" data-testid="offline-banner">
      {asOfMs === null ? `${head} — no data saved yet` : `${head} — data as of ${formatClock(asOfMs)}`}{' '}
      <span className="small">(commands are disabled until the connection is back)</span>
    </div>
  )
}
