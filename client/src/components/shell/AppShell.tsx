import { Outlet, useNavigation } from 'react-router'
import { listServices } from '../../api'
import { useSessionStore } from '../../store'
import { SERVICES_PAGE_KEY, useKeepPauseMoment, useLive } from '../../uiState'
import { usePolled } from '../../usePolled'
import { AlertBar } from '../alerts/AlertBar'
import { InstallButton } from '../InstallButton'
import { LiveErrorBanner } from '../LiveErrorBanner'
import { OfflineBanner } from '../OfflineBanner'
import { SignOutButton } from '../SignOutButton'
import { SignOutEverywhereButton } from '../SignOutEverywhereButton'
import { AsOf } from './AsOf'
import { LiveToggle } from './LiveToggle'
import { PageNav } from './PageNav'
import { RangePicker } from './RangePicker'
import { ServicePicker } from './ServicePicker'
import { ThemeToggle } from './ThemeToggle'

/** How often the services list (picker) is refreshed while live. */
const SERVICES_POLL_INTERVAL_MS = 30_000

/**
 * The layout of every page: header (brand, service, time range, live/paused, as-of, role, theme, install, sign
 * out), the page nav, the offline banner, then the page. Keeps `services.list` current for the picker.
 */
export function AppShell() {
  const auth = useSessionStore((s) => s.auth)
  const role = useSessionStore((s) => s.role)
  const [live] = useLive()
  const navigation = useNavigation()
  useKeepPauseMoment()
  usePolled((signal) => listServices({ signal }), [], live ? SERVICES_POLL_INTERVAL_MS : null, {
    pageKey: SERVICES_PAGE_KEY,
    reportAsOf: false,
  })

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <h2 className="brand">Fusebox</h2>
        <div className="topbar-controls">
          <ServicePicker />
          <RangePicker />
          <LiveToggle />
        </div>
        <AsOf />
        <div className="topbar-actions">
          {role && (
            <span className="role-badge" data-testid="role">
              {role}
            </span>
          )}
          <ThemeToggle />
          <InstallButton />
          {auth === 'signedIn' && <SignOutButton />}
          {auth === 'signedIn' && <SignOutEverywhereButton />}
        </div>
      </header>
      <PageNav />
      <OfflineBanner />
      <LiveErrorBanner />
      {auth !== null && <AlertBar />}
      {navigation.state === 'loading' && (
        <div className="route-progress" role="status">
          <span className="visually-hidden">Loading page…</span>
        </div>
      )}
      <main id="main" className="page" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  )
}
