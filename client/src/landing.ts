/** Which page the dashboard's root `/` shows (issue #15: the fleet view is the landing page of a fleet). Pure. */

/** What `/` shows: the fleet, one service's Overview, or nothing yet (`services.list` has not answered). */
export type Landing = 'fleet' | 'overview' | 'loading'

/**
 * @param serviceParam  `?service=` of the URL (null when absent)
 * @param services  `services.list`, undefined before it answers
 * @returns 'overview' when the URL names a service or at most one service reports; 'fleet' with more than one;
 *   'loading' until the list is known
 */
export function landingPage(serviceParam: string | null, services: readonly unknown[] | undefined): Landing {
  if (serviceParam !== null) return 'overview'
  if (services === undefined) return 'loading'
  return services.length > 1 ? 'fleet' : 'overview'
}

/**
 * Whether the page nav's entry `path` is the page on screen at `pathname` (router-relative): `/` is the Overview only
 * when it does not land on the fleet (`landing`), and then the Fleet entry (`/fleet`) is current; any other entry
 * also covers its sub-paths (`/breakers/<service>/<breaker>` is under Breakers).
 */
export function isCurrentPage(path: string, pathname: string, landing: Landing): boolean {
  if (path === '/') return pathname === '/' && landing === 'overview'
  if (path === '/fleet' && pathname === '/' && landing === 'fleet') return true
  return pathname === path || pathname.startsWith(`${path}/`)
}
