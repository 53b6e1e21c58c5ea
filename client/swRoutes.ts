/**
 * The service worker's routes that depend on where the dashboard is mounted (docs/decisions/024-base-path.md). The
 * service worker is generated once (vite-plugin-pwa generateSW) and serves any base: nothing here is anchored at `/`.
 * Used by vite.config.ts only; it is build configuration, not part of the page bundle.
 */

/**
 * Page routes that get the precached app shell on a navigation (workbox `navigateFallbackAllowlist`, matched against
 * `pathname + search`): the base itself (`…/`) and each page of client/src/router.tsx — `fleet`, `endpoints`, `breakers`,
 * `breakers/<service>/<breaker>`, `requests`, `events`, `caches`, `queues`, `instances`, `alerts` — as the LAST segments of the path, so
 * they hold under any base. An allowlist rather than a denylist of the server's own paths (`trpc/…`, `api/…`,
 * `metrics`, `healthz`): a denylist regex cannot tell `<base>/api/audit.jsonl` from a base that itself contains
 * `/api/`, nor `<base>/trpc/…` from the page of a service named `trpc`. Anything else navigates over the network
 * (the server answers with the shell, a file or a 404).
 */
export const NAVIGATE_FALLBACK_ALLOWLIST: RegExp[] = [
  /^[^?]*\/(?:fleet|endpoints|breakers|requests|events|caches|queues|instances|alerts)?(?:\?.*)?$/,
  /^[^?]*\/breakers\/[^/?]+\/[^/?]+(?:\?.*)?$/,
]

/**
 * Whether the service worker answers a request from its `fusebox-api` cache (network first): a same-origin GET of a
 * tRPC query under the worker's scope (`<scope>trpc/…`), except the live subscription (`live.*`, SSE) and `auth.*` (a
 * cached role would outlive a sign-out). Runs inside the service worker: workbox-build copies it into sw.js with
 * `Function.prototype.toString`, so it must stay self-contained (no imports, no outer names) and reads the scope from
 * the worker's global `registration` at run time.
 */
export function isCachedApiGet({ url, request }: { url: URL; request: Request }): boolean {
  const scope = new URL((globalThis as unknown as { registration: { scope: string } }).registration.scope)
  if (url.origin !== scope.origin || !url.pathname.startsWith(`${scope.pathname}trpc/`)) return false
  const procedure = url.pathname.slice(scope.pathname.length + 'trpc/'.length)
  return (
    !procedure.startsWith('live.') &&
    !procedure.startsWith('auth.') &&
    request.method === 'GET' &&
    !(request.headers.get('accept') ?? '').includes('text/event-stream')
  )
}
