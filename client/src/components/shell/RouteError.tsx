import { isRouteErrorResponse, Link, useRouteError } from 'react-router'
import { useIsOffline } from '../../store'

/** Error boundary of the routes: unknown path, or a page chunk that failed to load (offline before caching). */
export function RouteError() {
  const error = useRouteError()
  const offline = useIsOffline()
  const notFound = isRouteErrorResponse(error) && error.status === 404
  return (
    <main className="page">
      <h1>{notFound ? 'Page not found' : 'Something went wrong'}</h1>
      <p className="muted" role="alert">
        {notFound
          ? 'There is no page at this address.'
          : offline
            ? 'This page could not be loaded while offline.'
            : error instanceof Error
              ? error.message
              : 'The page failed to load.'}
      </p>
      <p>
        <Link to="/">Back to the overview</Link> ·{' '}
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </p>
    </main>
  )
}
