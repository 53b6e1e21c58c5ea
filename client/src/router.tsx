/**
 * The dashboard's routes (react-router data router). Every page is lazy-loaded, so recharts and the heavy
 * tables are not in the first-route bundle; the service worker precaches the chunks for offline use.
 * Shared URL state (`service`, `range`, `live`) lives in search params, see uiState.ts.
 */
import { createBrowserRouter, type RouteObject } from 'react-router'
import { currentRouterBasename } from './basePath'
import { AppShell } from './components/shell/AppShell'
import { PageLoading } from './components/shell/PageLoading'
import { RouteError } from './components/shell/RouteError'

/** The route table: the shell (layout) with one lazy child per page. */
export const ROUTES: RouteObject[] = [
  {
    path: '/',
    Component: AppShell,
    HydrateFallback: PageLoading,
    ErrorBoundary: RouteError,
    children: [
      // `/`: the fleet view or one service's Overview (pages/LandingPage.tsx, landing.ts); `/fleet` is always the fleet.
      // The Overview and its charts load beside the landing chunk, not after it (Lighthouse, decision 041): `/` is
      // mostly a service's Overview, and the charts are its largest element.
      {
        index: true,
        lazy: async () => {
          void import('./pages/OverviewPage')
          void import('./components/charts/SeriesCharts')
          return { Component: (await import('./pages/LandingPage')).LandingPage }
        },
      },
      { path: 'fleet', lazy: async () => ({ Component: (await import('./pages/FleetPage')).FleetPage }) },
      { path: 'endpoints', lazy: async () => ({ Component: (await import('./pages/EndpointsPage')).EndpointsPage }) },
      { path: 'breakers', lazy: async () => ({ Component: (await import('./pages/BreakersPage')).BreakersPage }) },
      {
        path: 'breakers/:service/:breaker',
        lazy: async () => ({ Component: (await import('./pages/BreakerDetailPage')).BreakerDetailPage }),
      },
      { path: 'requests', lazy: async () => ({ Component: (await import('./pages/RequestsPage')).RequestsPage }) },
      { path: 'events', lazy: async () => ({ Component: (await import('./pages/EventsPage')).EventsPage }) },
      { path: 'caches', lazy: async () => ({ Component: (await import('./pages/CachesPage')).CachesPage }) },
      { path: 'instances', lazy: async () => ({ Component: (await import('./pages/InstancesPage')).InstancesPage }) },
      { path: 'queues', lazy: async () => ({ Component: (await import('./pages/QueuesPage')).QueuesPage }) },
      { path: 'alerts', lazy: async () => ({ Component: (await import('./pages/AlertsPage')).AlertsPage }) },
      { path: '*', Component: NotFound },
    ],
  },
]

let router: ReturnType<typeof createBrowserRouter> | null = null

/**
 * The router of the signed-in (or offline) dashboard, created on first use: after `boot()` has removed a
 * `#token=` fragment from the address, so the router never starts from (or re-writes) a URL holding it.
 * main.tsx creates it right after starting `boot()`, so the current page's lazy code loads while the
 * persisted data is read and the session checked (not after). Its basename is the dashboard's base path with a
 * trailing slash (from index.html's `<base href>`, basePath.ts), so route paths and links stay `/…` however deep the
 * dashboard is mounted.
 */
export function getRouter(): ReturnType<typeof createBrowserRouter> {
  router ??= createBrowserRouter(ROUTES, { basename: currentRouterBasename() })
  return router
}

function NotFound(): never {
  throw new Response('Not found', { status: 404 })
}
