import { RouterProvider } from 'react-router'
import { LoginForm } from './components/LoginForm'
import { Toasts } from './components/Toasts'
import { UpdatePrompt } from './components/UpdatePrompt'
import { getRouter } from './router'
import { useSessionStore } from './store'

/**
 * Top level: the update prompt and toasts on every screen, then the routed dashboard or the login form by auth
 * status.
 */
export function App() {
  const auth = useSessionStore((s) => s.auth)
  return (
    <>
      <UpdatePrompt />
      <Toasts />
      {auth === 'checking' ? (
        <main className="splash">
          <p role="status">Connecting to Fusebox…</p>
        </main>
      ) : auth === 'signedIn' || auth === 'offline' ? (
        <RouterProvider router={getRouter()} />
      ) : (
        <LoginForm />
      )}
    </>
  )
}
