/*
 * Imported by the generated service worker (vite.config.ts, workbox `importScripts`): a click on an alert
 * notification (client/src/components/alerts/desktopNotifications.ts) focuses an open dashboard tab on the Alerts
 * page, or opens one. The URL comes from the notification's own data and must be under this worker's scope.
 * Service-worker scope: the project's DOM typings do not describe it, hence the `any` annotations.
 */
/** @type {any} */
const worker = self
worker.addEventListener('notificationclick', (/** @type {any} */ event) => {
  event.notification.close()
  const scope = worker.registration.scope
  const data = event.notification.data
  const wanted = data && typeof data.url === 'string' ? data.url : scope
  const url = wanted.startsWith(scope) ? wanted : scope
  event.waitUntil(
    worker.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((/** @type {any[]} */ tabs) => {
      const tab = tabs.find((t) => t.url.startsWith(scope))
      if (tab) return tab.navigate(url).then((/** @type {any} */ t) => (t ?? tab).focus())
      return worker.clients.openWindow(url)
    }),
  )
})
