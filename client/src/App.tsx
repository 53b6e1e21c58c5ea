import { Dashboard } from './components/Dashboard'
import { LoginForm } from './components/LoginForm'
import { UpdatePrompt } from './components/UpdatePrompt'
import { useSessionStore } from './store'

/** Top level: the update prompt on every screen, then the dashboard or the login form by auth status. */
export function App() {
  const auth = useSessionStore((s) => s.auth)
  return (
    <>
      <UpdatePrompt />
      {auth === 'checking' ? (
        <main className="splash">
          <p role="status">Connecting to Fusebox…</p>
        </main>
      ) : auth === 'signedIn' || auth === 'offline' ? (
        <Dashboard />
      ) : (
        <LoginForm />
      )}
    </>
  )
}
