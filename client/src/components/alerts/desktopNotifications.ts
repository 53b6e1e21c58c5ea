/**
 * System notifications for alerts while a dashboard is open (issue #14): shown through the service worker
 * (`ServiceWorkerRegistration.showNotification`, so they work on Android too, where `new Notification()` throws),
 * once per alert episode per tab, only after the person turned them on with a click (`Notification.requestPermission`
 * is never called otherwise: browsers block prompts that come without a user gesture, and they annoy).
 */
import type { AlertViewData } from '../../api'
import { labelPairs } from '../../alertsView'

/** localStorage key remembering that this person turned desktop notifications on. */
const ENABLED_KEY = 'fusebox.alerts.desktopNotifications'

/** Whether this browser can show notifications at all. */
export function notificationsSupported(): boolean {
  return typeof Notification !== 'undefined' && 'serviceWorker' in navigator
}

/** On when the person turned them on here and the browser still grants the permission. */
export function desktopNotificationsOn(): boolean {
  return notificationsSupported() && Notification.permission === 'granted' && localStorage.getItem(ENABLED_KEY) === '1'
}

/**
 * Asks for the permission (call from a click handler only) and remembers the choice.
 * @returns the permission now: 'granted', 'denied' or 'default' (dismissed)
 */
export async function enableDesktopNotifications(): Promise<NotificationPermission> {
  if (!notificationsSupported()) return 'denied'
  const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission()
  if (permission === 'granted') localStorage.setItem(ENABLED_KEY, '1')
  return permission
}

/** Turns them off here (the browser's permission stays as the person set it). */
export function disableDesktopNotifications(): void {
  localStorage.removeItem(ENABLED_KEY)
}

/** Episodes already notified in this tab: `<rule id>\t<key>\t<activeSinceMs>`. */
const shown = new Set<string>()
/** The first answer only fills `shown`: opening the dashboard must not replay every alert already firing. */
let primed = false

/**
 * Shows one notification per firing, unsilenced alert episode not seen before in this tab. The first call only
 * records what is already firing.
 */
export async function notifyNewFiring(alerts: readonly AlertViewData[], alertsUrl: string): Promise<void> {
  const firing = alerts.filter((a) => a.state === 'firing' && a.silencedBy === null)
  const fresh = firing.filter((a) => !shown.has(`${a.ruleId}\t${a.key}\t${a.activeSinceMs}`))
  for (const a of fresh) shown.add(`${a.ruleId}\t${a.key}\t${a.activeSinceMs}`)
  const wasPrimed = primed
  primed = true
  if (!wasPrimed || fresh.length === 0 || !desktopNotificationsOn()) return
  const registration = await navigator.serviceWorker.ready
  for (const a of fresh) {
    await registration.showNotification(`${a.severity === 'critical' ? 'CRITICAL' : 'Warning'}: ${a.ruleName}`, {
      body: [a.summary, labelPairs(a.labels).join(', ')].filter(Boolean).join('\n'),
      tag: `${a.ruleId}\t${a.key}`,
      data: { url: alertsUrl },
    })
  }
}
