import { useState } from 'react'
import { signOutEverywhere } from '../session'

/** "Sign out everywhere": ends every session of this access token (all devices) and forgets this device's data. */
export function SignOutEverywhereButton() {
  const [busy, setBusy] = useState(false)
  return (
    <button
      type="button"
      disabled={busy}
      title="End every session signed in with this access token, on all devices"
      onClick={() => {
        setBusy(true)
        void signOutEverywhere().finally(() => setBusy(false))
      }}
    >
      Sign out everywhere
    </button>
  )
}
