/**
 * Registers the dashboard's service worker (vite-plugin-pwa's generated `sw.js`, prompt mode: docs/decisions/002)
 * under the dashboard's base, and reports when a new version waits. This replaces `virtual:pwa-register`, whose
 * script URL is fixed at build time: built once for any base (docs/decisions/024), that URL would be the relative
 * `./sw.js`, and workbox-window compares script URLs resolved against `location.href` — on a deep link
 * (`…/breakers/a/b`) `./sw.js` names another file than the registered `…/sw.js`, so its own worker would count as
 * "external" and a worker already waiting at load would never be reported. Here both URLs are absolute, from
 * `document.baseURI` (index.html's `<base href>`). The event logic is vite-plugin-pwa's prompt mode, unchanged.
 */
import { useEffect, useState, useSyncExternalStore } from 'react'
import { currentAppUrl } from '../basePath'

/** File name of the generated service worker (vite-plugin-pwa's default `filename`), relative to the base. */
export const SW_FILE = 'sw.js'

/** What the page learns from the registration. */
export interface ServiceWorkerHandlers {
  /** The worker is registered (called once, with its registration). */
  onRegistered: (registration: ServiceWorkerRegistration) => void
  /** Registration failed (unsupported context, script 404, …). */
  onRegisterError: (error: unknown) => void
}

let started = false
let needRefresh = false
const listeners = new Set<() => void>()

function setNeedRefresh(value: boolean): void {
  needRefresh = value
  for (const listener of listeners) listener()
}

/**
 * Registers `<base>/sw.js` with scope `<base>/` once per page (later calls do nothing; nothing where service workers
 * are unavailable, nor under the Vite dev server, which builds no worker: vite-plugin-pwa's devOptions are off). A
 * worker that is installed by another tab or found waiting sets "update available".
 */
export function registerServiceWorker(handlers: ServiceWorkerHandlers): void {
  if (started || !import.meta.env.PROD || typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return
  started = true
  void (async () => {
    try {
      // Loaded on demand, as virtual:pwa-register does: workbox-window stays out of the first-route bundle.
      const { Workbox } = await import('workbox-window')
      const wb = new Workbox(currentAppUrl(SW_FILE), { scope: currentAppUrl('') })
      wb.addEventListener('installed', (event) => {
        if (event.isUpdate === undefined && event.isExternal === true) setNeedRefresh(true)
      })
      wb.addEventListener('waiting', () => setNeedRefresh(true))
      const registration = await wb.register({ immediate: true })
      if (registration) handlers.onRegistered(registration)
    } catch (error) {
      handlers.onRegisterError(error)
    }
  })()
}

/**
 * Registers the service worker once mounted (`registerServiceWorker`, with the first render's `handlers`) and returns
 * `[needRefresh, setNeedRefresh]`: whether a new version waits, and a setter (false = "Later").
 */
export function useServiceWorker(handlers: ServiceWorkerHandlers): [boolean, (value: boolean) => void] {
  const [initial] = useState(handlers)
  useEffect(() => registerServiceWorker(initial), [initial])
  const value = useSyncExternalStore(
    (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    () => needRefresh,
    () => false,
  )
  return [value, setNeedRefresh]
}
