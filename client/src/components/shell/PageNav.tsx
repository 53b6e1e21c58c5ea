import { Link, useLocation, useSearchParams } from 'react-router'
import { isCurrentPage } from '../../landing'
import { useLanding } from '../../useLanding'
import { useService } from '../../uiState'

/** The pages, in nav order; `name` is both the link text and the page's `<h1>`. */
export const PAGES = [
  { path: '/fleet', name: 'Fleet' },
  { path: '/', name: 'Overview' },
  { path: '/endpoints', name: 'Endpoints' },
  { path: '/breakers', name: 'Breakers' },
  { path: '/requests', name: 'Requests' },
  { path: '/events', name: 'Events & audit' },
  { path: '/caches', name: 'Caches' },
  { path: '/queues', name: 'Queues' },
  { path: '/instances', name: 'Instances' },
  { path: '/alerts', name: 'Alerts' },
] as const

/** Params every page shares (uiState.ts); page-specific ones (`route`, filters) are dropped when switching pages. */
const SHARED_PARAMS = ['service', 'range', 'from', 'to', 'live', 'refresh', 'tz'] as const

/**
 * The search string (`?…`, or '' when empty) of a link to another page: the shared params of `params`, then `extra`
 * (which wins; e.g. `{ service, route }` for a drill-down).
 */
export function sharedSearch(params: URLSearchParams, extra: Record<string, string> = {}): string {
  const shared = new URLSearchParams()
  for (const p of SHARED_PARAMS) {
    const v = params.get(p)
    if (v !== null) shared.set(p, v)
  }
  for (const [k, v] of Object.entries(extra)) shared.set(k, v)
  const search = shared.toString()
  return search ? `?${search}` : ''
}

/**
 * `<nav aria-label="Pages">`: one link per page, keeping service, range and live (the Overview's link always names the
 * selected service, so it never lands back on the fleet view); wraps on a phone.
 */
export function PageNav() {
  const [params] = useSearchParams()
  const { pathname } = useLocation()
  const landing = useLanding()
  const [service] = useService()
  const search = sharedSearch(params)
  const overviewSearch = sharedSearch(params, service === null ? {} : { service })
  return (
    <nav aria-label="Pages" className="page-nav">
      <ul>
        {PAGES.map((p) => {
          const current = isCurrentPage(p.path, pathname, landing)
          return (
            <li key={p.path}>
              <Link
                to={{ pathname: p.path, search: p.path === '/' ? overviewSearch : search }}
                className={current ? 'active' : undefined}
                aria-current={current ? 'page' : undefined}
              >
                {p.name}
              </Link>
            </li>
          )
        })}
      </ul>
    </nav>
  )
}
