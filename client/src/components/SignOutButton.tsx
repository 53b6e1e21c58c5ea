import { useState } from 'react'
import { signOut } from '../session'

/** "Sign out": ends the session and forgets this device's cached data. */
export function SignOutButton() {
  const [busy, setBusy] = useState(false)
  return (
    <button
      type="button"
      disabled={busy}
      onClick={() => {
        setBusy(true)
        void signOut().finally(() => setBusy(false))
      }}
    >
      Sign out
    </button>
  )
}
