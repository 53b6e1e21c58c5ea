import { useId, useState, type FormEvent } from 'react'
import { signIn, tokenFromInput } from '../session'
import { useSessionStore } from '../store'

/** Sign-in form: one password-type "Access token" field and a "Sign in" button; shows why a sign-in failed. */
export function LoginForm() {
  const notice = useSessionStore((s) => s.authNotice)
  const [token, setToken] = useState('')
  const [busy, setBusy] = useState(false)
  const inputId = useId()
  const headingId = useId()

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    // A whole login link pasted into the field signs in with its token.
    const given = tokenFromInput(token)
    if (!given) return
    setBusy(true)
    try {
      await signIn(given.token, given.source)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="login">
      <h1 className="brand">Fusebox</h1>
      <form className="card login-form" aria-labelledby={headingId} onSubmit={onSubmit}>
        <h2 id={headingId}>Sign in</h2>
        <p className="muted">Open the login link the server printed, or paste it or an access token here.</p>
        <label htmlFor={inputId}>Access token or login link</label>
        <input
          id={inputId}
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        {notice && (
          <p className="notice" role="alert" data-testid="login-error">
            {notice}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
