import { afterEach, describe, expect, it, vi } from 'vitest'
import { ROUTES } from './src/router'
import { NAVIGATE_FALLBACK_ALLOWLIST, isCachedApiGet } from './swRoutes'

/** Whether workbox's NavigationRoute would answer a navigation to `path` (pathname + search) with the app shell. */
function getsShell(path: string): boolean {
  return NAVIGATE_FALLBACK_ALLOWLIST.some((re) => re.test(path))
}

/** Every page route of the router, with its parameters filled in (`breakers/:service/:breaker` → `breakers/s/b`). */
const PAGE_PATHS = (ROUTES[0]?.children ?? [])
  .map((r) => (r.index ? '' : r.path))
  .filter((p): p is string => p !== undefined && p !== '*')
  .map((p) => p.replace(/:[a-z]+/g, 'x'))

afterEach(() => vi.unstubAllGlobals())

describe('service worker navigation fallback', () => {
  it('gives the app shell to every page route, with or without a query, under any base', () => {
    expect(PAGE_PATHS).toContain('breakers/x/x')
    for (const base of ['/', '/ops/fusebox/', '/api/fusebox/', '/trpc/'])
      for (const page of PAGE_PATHS)
        for (const search of ['', '?service=storefront&range=1h', '?route=%2Fapi%2Forders'])
          expect(getsShell(`${base}${page}${search}`), `${base}${page}${search}`).toBe(true)
  })

  it('gives it to breaker pages of services and breakers named like server paths', () => {
    for (const path of ['/breakers/trpc/api', '/ops/fusebox/breakers/metrics/healthz', '/ops/breakers/api/trpc?range=1h']) expect(getsShell(path), path).toBe(true)
  })

  it('never gives it to the server own paths (tRPC, audit export, metrics, health, files), under any base', () => {
    for (const base of ['/', '/ops/fusebox/', '/api/'])
      for (const path of ['trpc/overview.get?input=%7B%7D', 'trpc/live.snapshot', 'api/audit.jsonl', 'api/audit.jsonl?service=a', 'metrics', 'healthz', 'sw.js', 'manifest.webmanifest', 'assets/index-abc.js'])
        expect(getsShell(`${base}${path}`), `${base}${path}`).toBe(false)
    // A slash inside the query does not make a server path look like a page root.
    expect(getsShell('/ops/fusebox/healthz?next=/')).toBe(false)
  })
})

describe('service worker API cache route (isCachedApiGet)', () => {
  const request = (method = 'GET', accept = 'application/json') => ({ method, headers: new Headers({ accept }) }) as Request

  function cachedUnder(scope: string, url: string, req = request()): boolean {
    vi.stubGlobal('registration', { scope })
    return isCachedApiGet({ url: new URL(url), request: req })
  }

  it('caches GET queries under the worker scope, at / and under a base', () => {
    expect(cachedUnder('http://h/', 'http://h/trpc/overview.get?input=%7B%7D')).toBe(true)
    expect(cachedUnder('http://h/ops/fusebox/', 'http://h/ops/fusebox/trpc/overview.get?input=%7B%7D')).toBe(true)
  })

  it('leaves alone the live stream, auth, mutations, SSE, other scopes and other origins', () => {
    const scope = 'http://h/ops/fusebox/'
    expect(cachedUnder(scope, 'http://h/ops/fusebox/trpc/live.snapshot')).toBe(false)
    expect(cachedUnder(scope, 'http://h/ops/fusebox/trpc/auth.me')).toBe(false)
    expect(cachedUnder(scope, 'http://h/ops/fusebox/trpc/breakers.command', request('POST'))).toBe(false)
    expect(cachedUnder(scope, 'http://h/ops/fusebox/trpc/overview.get', request('GET', 'text/event-stream'))).toBe(false)
    expect(cachedUnder(scope, 'http://h/trpc/overview.get')).toBe(false)
    expect(cachedUnder(scope, 'http://h/ops/fusebox/breakers/trpc/x')).toBe(false)
    expect(cachedUnder(scope, 'http://other/ops/fusebox/trpc/overview.get')).toBe(false)
  })
})
