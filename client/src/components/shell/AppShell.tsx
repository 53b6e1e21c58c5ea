import { useId, useState, useSyncExternalStore } from 'react'
import { Outlet, useLocation, useNavigation } from 'react-router'
import { listServices } from '../../api'
import { useSessionStore } from '../../store'
import { setDisplayTimeZone } from '../../format'
import { SERVICES_PAGE_KEY, useKeepPauseMoment, usePollInterval, useTimeZone } from '../../uiState'
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
import { CopyLinkButton, RefreshPicker, TimeZonePicker } from './TimeControls'

/** How often the services list (picker) is refreshed while live. */
const SERVICES_POLL_INTERVAL_MS = 30_000
/** Below this width the account actions fold into a "Menu" button (the phone header stays two rows; issue #15). */
const NARROW_QUERY = '(max-width: 560px)'

/** Whether the CSS media query matches, kept current (false where `matchMedia` does not exist). */
function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      if (typeof window === 'undefined' || !window.matchMedia) return () => undefined
      const m = window.matchMedia(query)
      m.addEventListener('change', onChange)
      return () => m.removeEventListener('change', onChange)
    },
    () => (typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query).matches : false),
  )
}

/**
 * The layout of every page: header (brand, service, time range, live/paused, as-of, role, theme, install, sign
 * out), the page nav, the offline banner, then the page. Keeps `services.list` current for the picker.
 */
export function AppShell() {
  const auth = useSessionStore((s) => s.auth)
  const role = useSessionStore((s) => s.role)
  const [tz] = useTimeZone()
  // Before any page renders: every formatter reads the zone (format.ts); the page remounts when it changes (below).
  setDisplayTimeZone(tz)
  const servicesInterval = usePollInterval(SERVICES_POLL_INTERVAL_MS)
  const navigation = useNavigation()
  const location = useLocation()
  const narrow = useMediaQuery(NARROW_QUERY)
  // Open on the page it was opened on: a page change closes it.
  const [menuOpenOn, setMenuOpenOn] = useState<string | null>(null)
  const menuOpen = menuOpenOn === location.pathname
  const menuId = useId()
  useKeepPauseMoment()
  usePolled((signal) => listServices({ signal }), [], servicesInterval, {
    pageKey: SERVICES_PAGE_KEY,
    reportAsOf: false,
  })

  const timeExtras = (
    <>
      <RefreshPicker />
      <TimeZonePicker />
      <CopyLinkButton />
    </>
  )
  const actions = (
    <>
      {narrow && <div className="topbar-time">{timeExtras}</div>}
      {role && (
        <span className="role-badge" data-testid="role">
          {role}
        </span>
      )}
      <ThemeToggle />
      <InstallButton />
      {auth === 'signedIn' && <SignOutButton />}
      {auth === 'signedIn' && <SignOutEverywhereButton />}
    </>
  )

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
          {!narrow && timeExtras}
        </div>
        <AsOf />
        {narrow ? (
          <div className="topbar-menu">
            <button type="button" aria-expanded={menuOpen} aria-controls={menuId} onClick={() => setMenuOpenOn(menuOpen ? null : location.pathname)}>
              Menu
            </button>
            {menuOpen && (
              <div id={menuId} className="topbar-actions topbar-menu-panel">
                {actions}
              </div>
            )}
          </div>
        ) : (
          <div className="topbar-actions">{actions}</div>
        )}
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
      <main id="main" className="page" tabIndex={-1} key={tz}>
        <Outlet />
      </main>
    </div>
  )
}
