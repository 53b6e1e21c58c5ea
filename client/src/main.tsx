/**
 * Entry point: starts the session logic (reads the one-time login token first), creates the router (which starts
 * loading the current page's code), then renders the app.
 */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { applyTheme } from './components/shell/theme'
import { getRouter } from './router'
import { boot } from './session'
import './installPrompt'
import './styles.css'
import './shell.css'
import './pages.css'

applyTheme()
void boot()
// After boot() took the token from the URL (synchronously): the router starts loading this page's code now, while
// the persisted data is read and the session checked, so the page renders as soon as auth is known.
getRouter()

const rootElement = document.getElementById('root')
if (!rootElement) throw new Error('index.html must contain <div id="root">')
createRoot(rootElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
