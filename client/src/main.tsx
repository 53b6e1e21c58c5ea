/** Entry point: starts the session logic (reads the one-time login token first), then renders the app. */
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { applyTheme } from './components/shell/theme'
import { boot } from './session'
import './installPrompt'
import './styles.css'

applyTheme()
void boot()

const rootElement = document.getElementById('root')
if (!rootElement) throw new Error('index.html must contain <div id="root">')
createRoot(rootElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
