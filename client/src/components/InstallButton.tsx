import { useSyncExternalStore } from 'react'
import { canInstall, promptInstall, subscribeInstallPrompt } from '../installPrompt'

/** "Install" — only rendered while the browser offers to install the app (`beforeinstallprompt`). */
export function InstallButton() {
  const available = useSyncExternalStore(subscribeInstallPrompt, canInstall, () => false)
  if (!available) return null
  return (
    <button type="button" onClick={() => void promptInstall()}>
      Install
    </button>
  )
}
