import { useRef } from 'react'
import { useServiceWorker } from './serviceWorker'
import { watchForUpdates } from './updateChecks'

/**
 * Registers the service worker (prompt mode, under the dashboard's base: serviceWorker.ts) and shows "Update
 * available — Reload" when a new version is waiting. Never reloads by itself: the operator may be in the middle of a command. Checks for a new version
 * hourly, and when the tab becomes visible or the browser comes back online (at most once a minute; updateChecks.ts).
 */
export function UpdatePrompt() {
  const registration = useRef<ServiceWorkerRegistration | null>(null)
  const [needRefresh, setNeedRefresh] = useServiceWorker({
    onRegistered: (r) => {
      registration.current = r
      watchForUpdates(r)
    },
    onRegisterError: (err: unknown) => console.error('Service worker registration failed', err),
  })

  if (!needRefresh) return null
  return (
    <div className="banner banner-update" role="status" data-testid="update-prompt">
      <span>Update available</span>
      <button type="button" className="primary" onClick={() => activateWaitingWorker(registration.current)}>
        Reload
      </button>
      <button type="button" onClick={() => setNeedRefresh(false)}>
        Later
      </button>
    </div>
  )
}

/**
 * Lets the waiting worker take over, then reloads once it controls the page. Done here rather than with
 * `updateServiceWorker(true)`, which reloads only if workbox-window's `controlling` event reports `isUpdate` (its
 * own bookkeeping of whether a controller existed when the page registered): the browser's `controllerchange`
 * does not depend on that. (The full e2e suite once saw "Reload" do nothing through the old path.)
 */
function activateWaitingWorker(registration: ServiceWorkerRegistration | null): void {
  const waiting = registration?.waiting
  if (!waiting) {
    // Nothing waiting any more (another tab accepted it): the new version already controls; just reload.
    window.location.reload()
    return
  }
  navigator.serviceWorker.addEventListener('controllerchange', () => window.location.reload(), { once: true })
  waiting.postMessage({ type: 'SKIP_WAITING' })
}
