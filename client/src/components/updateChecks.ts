/**
 * When an open tab asks the server for a new service worker (`registration.update()`): every hour, and also when
 * the tab becomes visible again or the browser comes back online — the moments a new build is most likely to
 * have been missed — at most once per `throttleMs` for those two. Never while the browser says it is offline.
 */

/** How often an open tab asks the server for a new service worker. */
export const UPDATE_CHECK_INTERVAL_MS = 60 * 60_000
/** Least time between two checks triggered by `visibilitychange` (to visible) or `online`. */
export const UPDATE_CHECK_THROTTLE_MS = 60_000

/** What `watchForUpdates` needs from its environment (the browser's by default; injectable for tests). */
export interface UpdateCheckEnv {
  /** Window-like target of `online`. */
  win: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>
  /** Document-like target of `visibilitychange`, with its `visibilityState`. */
  doc: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & { readonly visibilityState: DocumentVisibilityState }
  /** `navigator.onLine`. */
  isOnline: () => boolean
  /** Clock (ms). */
  now: () => number
  intervalMs: number
  throttleMs: number
}

function withDefaults(o: Partial<UpdateCheckEnv>): UpdateCheckEnv {
  return {
    win: o.win ?? window,
    doc: o.doc ?? document,
    isOnline: o.isOnline ?? (() => navigator.onLine),
    now: o.now ?? Date.now,
    intervalMs: o.intervalMs ?? UPDATE_CHECK_INTERVAL_MS,
    throttleMs: o.throttleMs ?? UPDATE_CHECK_THROTTLE_MS,
  }
}

/**
 * Starts the update checks for `registration`; returns a function that stops them. A failed check (server
 * unreachable) is ignored: the next trigger tries again.
 */
export function watchForUpdates(
  registration: Pick<ServiceWorkerRegistration, 'update'>,
  overrides: Partial<UpdateCheckEnv> = {},
): () => void {
  const env = withDefaults(overrides)
  let lastCheck = Number.NEGATIVE_INFINITY

  const check = (): void => {
    if (!env.isOnline()) return
    lastCheck = env.now()
    registration.update().catch(() => undefined)
  }
  const checkThrottled = (): void => {
    if (env.now() - lastCheck >= env.throttleMs) check()
  }
  const onVisibilityChange = (): void => {
    if (env.doc.visibilityState === 'visible') checkThrottled()
  }

  env.doc.addEventListener('visibilitychange', onVisibilityChange)
  env.win.addEventListener('online', checkThrottled)
  const timer = setInterval(check, env.intervalMs)
  return () => {
    clearInterval(timer)
    env.doc.removeEventListener('visibilitychange', onVisibilityChange)
    env.win.removeEventListener('online', checkThrottled)
  }
}
