import { useSyncExternalStore } from 'react'
import { currentTheme, setTheme, subscribeTheme } from './theme'

/** Switches between dark and light; its name is the theme it switches to ("Light theme" while dark). */
export function ThemeToggle() {
  const theme = useSyncExternalStore(subscribeTheme, currentTheme, () => 'dark' as const)
  const next = theme === 'dark' ? 'light' : 'dark'
  return (
    <button type="button" className="theme-toggle" title={`Switch to the ${next} theme`} onClick={() => setTheme(next)}>
      {next === 'light' ? 'Light theme' : 'Dark theme'}
    </button>
  )
}
