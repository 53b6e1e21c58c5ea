import { useRegisterSW } from 'virtual:pwa-register/react'
import { watchForUpdates } from './updateChecks'

/**
 * Registers the service worker (prompt mode) and shows "Update available — Reload" when a new version is
 * waiting. Never reloads by itself: the operator may be in the middle of a command. Checks for a new version
 * hourly, and when the tab becomes visible or the browser comes back online (at most once a minute; updateChecks.ts).
 */
export function UpdatePrompt() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW: (_url, registration) => {
      if (registration) watchForUpdates(registration)
    },
    onRegisterError: (err: unknown) => console.error('Service worker registration failed', err),
  })

  if (!needRefresh) return null
  return (
    <div className="banner banner-update" role="status" data-testid="update-prompt">
      <span>Update available</span>
      <button type="button" className="primary" onClick={() => void updateServiceWorker(true)}>
        Reload
      </button>
      <button type="button" onClick={() => setNeedRefresh(false)}>
        Later
      </button>
    </div>
  )
}
