/**
 * Captures the browser's `beforeinstallprompt` event as early as possible (at module load, before React
 * mounts) and exposes it to `useSyncExternalStore`, so the Install button appears whenever the browser
 * offers installation.
 */

/** Chromium's install prompt event (not in the DOM lib typings). */
export interface BeforeInstallPromptEvent extends Event {
  prompt: () => Promise<void>
  userChoice: Promise<{ outcome: 'accepted' | 'dismissed'; platform: string }>
}

let deferred: BeforeInstallPromptEvent | null = null
const listeners = new Set<() => void>()

function emit(): void {
  for (const l of listeners) l()
}

if (typeof window !== 'undefined') {
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault() // keep the mini-infobar away; we show our own button
    deferred = e as BeforeInstallPromptEvent
    emit()
  })
  window.addEventListener('appinstalled', () => {
    deferred = null
    emit()
  })
}

/** Subscribe function for `useSyncExternalStore`. */
export function subscribeInstallPrompt(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Whether the browser currently offers installation. */
export function canInstall(): boolean {
  return deferred !== null
}

/** Shows the browser's install dialog; the event can be used once, so the button hides afterwards. */
export async function promptInstall(): Promise<void> {
  const event = deferred
  if (!event) return
  deferred = null
  emit()
  await event.prompt()
  await event.userChoice
}
