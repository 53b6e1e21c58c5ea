import { formatClock } from '../format'
import { useIsOffline, useSessionStore } from '../store'
import { useShownAsOf } from './shell/AsOf'

/**
 * "Live data stopped — <the server's reason>. Showing data as of HH:MM:SS." while the server is reachable but cannot
 * give live data (e.g. 503 "Redis is unreachable: …"; see liveFeed.ts). The offline banner takes precedence.
 */
export function LiveErrorBanner() {
  const offline = useIsOffline()
  const liveError = useSessionStore((s) => s.liveError)
  const asOfMs = useShownAsOf()
  if (offline || liveError === null) return null
  return (
    <div className="banner banner-error" role="alert" data-testid="live-error-banner">
      Live data stopped — {liveError}.{' '}
      <span className="small">{asOfMs === null ? 'No data saved yet.' : `Showing data as of ${formatClock(asOfMs)}.`}</span>
    </div>
  )
}
