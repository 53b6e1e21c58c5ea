import { useRegisterSW } from 'virtual:pwa-register/react'

/** How often an open tab asks the server for a new service worker. */
const UPDATE_CHECK_INTERVAL_MS = 60 * 60_000

/**
 * Registers the service worker (prompt mode) and shows "Update available — Reload" when a new version is
 * waiting. Never reloads by itself: the operator may be in the middle of a command.
 */
export function UpdatePrompt() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    updateServiceWorker,
  } = useRegisterSW({
    onRegisteredSW: (_url, registration) => {
      if (registration) setInterval(() => void registration.update(), UPDATE_CHECK_INTERVAL_MS)
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
