/**
 * Dark/light theme: follows `prefers-color-scheme` until the person picks one, then their pick (localStorage,
 * read synchronously before the first paint so there is no flash). Applied as `<html data-theme="…">`; the
 * CSS variables in styles.css do the rest.
 */

/** The two themes. */
export type Theme = 'dark' | 'light'

/** localStorage key of an explicit pick; absent = follow the system. */
export const THEME_STORAGE_KEY = 'fusebox-theme'

const listeners = new Set<() => void>()

function storedTheme(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_STORAGE_KEY)
    return v === 'dark' || v === 'light' ? v : null
  } catch {
    return null
  }
}

function systemTheme(): Theme {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'
}

/** The theme in effect: the stored pick, else the system's. */
export function currentTheme(): Theme {
  return storedTheme() ?? systemTheme()
}

/** Sets `data-theme` on `<html>` (only when picked) and the `theme-color` meta. Call once before rendering. */
export function applyTheme(): void {
  const picked = storedTheme()
  const root = document.documentElement
  if (picked) root.dataset.theme = picked
  else delete root.dataset.theme
  const meta = document.querySelector('meta[name="theme-color"]')
  meta?.setAttribute('content', currentTheme() === 'light' ? '#f4f6f8' : '#0f1419')
}

/** Picks a theme for good (persisted) and applies it. */
export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_STORAGE_KEY, theme)
  } catch {
    // Private mode without storage: the pick lasts for this page only.
  }
  applyTheme()
  for (const l of listeners) l()
}

/** Subscribes to theme changes (a pick, or the system theme while following it); for useSyncExternalStore. */
export function subscribeTheme(listener: () => void): () => void {
  listeners.add(listener)
  const mq = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: light)') : null
  const onSystem = () => {
    applyTheme()
    listener()
  }
  mq?.addEventListener('change', onSystem)
  return () => {
    listeners.delete(listener)
    mq?.removeEventListener('change', onSystem)
  }
}
