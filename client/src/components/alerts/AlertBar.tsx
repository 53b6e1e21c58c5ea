import { Link, useSearchParams } from 'react-router'
import { getActiveAlerts, type ActiveAlertsData } from '../../api'
import { currentAppUrl } from '../../basePath'
import { usePolled } from '../../usePolled'
import { notifyNewFiring } from './desktopNotifications'

/** How often every page asks for the alerts (the evaluation interval's default). */
export const ALERTS_POLL_INTERVAL_MS = 10_000
/** Page-data key of the active alerts: the bar and the Alerts page show the last known ones offline. */
export const ACTIVE_ALERTS_PAGE_KEY = 'alerts-active'

/**
 * The alert bar on every page: "2 firing: Breaker not CLOSED (payments), High error rate" linking to the Alerts
 * page, red while a critical alert fires, amber for warnings; hidden while none fires. Polls every 10 s whether the
 * page is live or paused (alerts are about now), keeps the last answer for offline, and hands new firing episodes
 * to the desktop notifications (when the person turned them on).
 */
export function AlertBar() {
  const [params] = useSearchParams()
  const polled = usePolled<ActiveAlertsData>(
    async (signal) => {
      const data = await getActiveAlerts({ signal })
      void notifyNewFiring(data.alerts, currentAppUrl('alerts')).catch(() => undefined)
      return data
    },
    [],
    ALERTS_POLL_INTERVAL_MS,
    { pageKey: ACTIVE_ALERTS_PAGE_KEY, reportAsOf: false },
  )
  const firing = (polled.data?.alerts ?? []).filter((a) => a.state === 'firing')
  if (firing.length === 0) return null
  const critical = firing.some((a) => a.severity === 'critical')
  const names = [...new Set(firing.map((a) => (a.labels.service ? `${a.ruleName} (${a.labels.service})` : a.ruleName)))]
  const silenced = firing.filter((a) => a.silencedBy !== null).length
  const service = params.get('service')
  return (
    <div className={`banner alert-bar ${critical ? 'alert-bar-critical' : 'alert-bar-warning'}`} role="status" data-testid="alert-bar">
      <span>
        {firing.length} firing{silenced > 0 ? ` (${silenced} silenced)` : ''}: {names.slice(0, 3).join(', ')}
        {names.length > 3 ? ` and ${names.length - 3} more` : ''}
      </span>
      <Link to={{ pathname: '/alerts', search: service ? `?service=${encodeURIComponent(service)}` : '' }}>Open alerts</Link>
    </div>
  )
}
