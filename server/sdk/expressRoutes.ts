/**
 * The full route template of an Express 5 request, nested routers included (`/users/:userId/orders/:orderId`), from
 * the app's routing tree — never from the raw URL. Structural types only: the SDK does not depend on Express.
 *
 * Why not `req.baseUrl + req.route.path`: `baseUrl` is the *raw* path a router was mounted under (`/users/1000`),
 * so one series per id. OpenTelemetry's instrumentation-express gets `http.route` by patching `Router.use`,
 * `Router.route` and `app.use` at require time to remember each layer's path argument, and pushing/popping those on
 * the request as layers run; a guest SDK should not patch its host's framework. Instead (docs/decisions/013):
 * 1. while the request is routed, an accessor on `req.route` notes `req.baseUrl` at the moment a router picks the
 *    route — that is the raw prefix of the router holding it, even when an error handler higher up answers later
 *    (Express restores `baseUrl` on the way out, not `route`);
 * 2. at the end, the routing tree under `req.app.router` is searched for the chains of mount layers that lead to a
 *    router holding that very `Route` object (cached per route, recomputed once when none fits);
 * 3. each chain is replayed against the request path with the layers' own matchers (router ≥ 2.3 keeps
 *    `layer.rawPath` and pure `layer.matchers`) until one consumes exactly that raw prefix; its mount *patterns*,
 *    joined, plus `route.path`, are the template. That handles deep nesting, a router mounted at several paths
 *    (the path decides), array mounts (the element that matched), RegExp mounts (their source, as OpenTelemetry
 *    labels them) and `app.use(router)` with no path.
 *
 * When no chain fits — a sub-app (`app.use(path, subApp)` hides the sub-app in a closure), Express 4 or an older
 * router without `rawPath`, a tree changed beyond recognition — the answer is null and the caller records a fixed
 * label: a raw path segment never becomes part of a label.
 */

/** The parts of an Express/router `Layer` read here. */
interface LayerLike {
  route?: unknown
  handle?: unknown
  /** One matcher per path pattern: `(path) => { path, params } | false` (path-to-regexp `match`, or a RegExp's). */
  matchers?: unknown
  /** The path pattern(s) the layer was created with (router ≥ 2.3); arrays flattened, matching `matchers`. */
  rawPath?: unknown
  /** True for a `use('/')` layer: matches every path, consumes nothing. */
  slash?: unknown
}

/** A router: its `stack` of layers. */
interface RouterLike {
  stack: LayerLike[]
}

/** An Express request as seen at the end: the matched route, the raw URLs. */
interface ExpressRequestLike {
  route?: { path?: unknown }
  baseUrl?: unknown
  originalUrl?: unknown
  url?: unknown
  app?: { router?: unknown; _router?: unknown }
}

/** Mount layers leading from the root router to the router holding one route, outermost first. */
type Chain = readonly LayerLike[]

/** Bounds of the tree search (a pathological or cyclic tree costs at most this much, once per route). */
const MAX_DEPTH = 32
const MAX_LAYERS_VISITED = 20_000
const MAX_CHAINS = 16

function isRouter(x: unknown): x is RouterLike {
  return (typeof x === 'function' || (typeof x === 'object' && x !== null)) && Array.isArray((x as { stack?: unknown }).stack)
}

/** Every chain of mount layers from `root` to a router whose stack holds `route` (bounded, cycle-safe). */
function chainsTo(root: RouterLike, route: object): Chain[] {
  const chains: Chain[] = []
  const path: LayerLike[] = []
  const onPath = new Set<RouterLike>()
  let visited = 0
  const walk = (router: RouterLike): void => {
    if (onPath.has(router) || path.length > MAX_DEPTH) return
    onPath.add(router)
    for (const layer of router.stack) {
      if (++visited > MAX_LAYERS_VISITED || chains.length >= MAX_CHAINS) break
      if (layer === null || typeof layer !== 'object') continue
      if (layer.route === route) chains.push([...path])
      else if (layer.route === undefined && isRouter(layer.handle)) {
        path.push(layer)
        walk(layer.handle)
        path.pop()
      }
    }
    onPath.delete(router)
  }
  walk(root)
  return chains
}

/** Label of one path pattern: a string as is, a RegExp as its source (OpenTelemetry's choice); else null. */
function patternLabel(pattern: unknown): string | null {
  if (typeof pattern === 'string') return pattern === '/' ? '' : pattern
  if (pattern instanceof RegExp) return String(pattern)
  return null
}

/** Label of a route's own path: string, RegExp, or an array of them joined with `,` (as OpenTelemetry does). */
function routePathLabel(path: unknown): string | null {
  if (Array.isArray(path)) {
    const parts = path.flat(Infinity).map(patternLabel)
    return parts.every((p) => p !== null) ? parts.join(',') : null
  }
  return patternLabel(path)
}

/** `a` + `b` with one slash where they meet (`/users/` + `/orders` → `/users/orders`). */
function joinPath(a: string, b: string): string {
  if (a.endsWith('/') && b.startsWith('/')) return a + b.slice(1)
  return a + b
}

/** The raw pathname the router matched: the original URL up to `?`, without a `scheme://host` part. */
function rawPathname(url: string): string {
  const q = url.indexOf('?')
  let p = q < 0 ? url : url.slice(0, q)
  if (!p.startsWith('/')) {
    const scheme = p.indexOf('://')
    const slash = scheme < 0 ? -1 : p.indexOf('/', scheme + 3)
    p = slash < 0 ? '/' : p.slice(slash)
  }
  return p
}

/**
 * The mount-template prefix of `chain` when replaying it on `pathname` consumes exactly `baseUrl` (what the router
 * does in `trimPrefix`: the match must end at a `/`, the base URL gets it without its trailing slash); else null.
 */
function replay(chain: Chain, pathname: string, baseUrl: string): string | null {
  let path = pathname
  let consumedBase = 0
  let label = ''
  for (const layer of chain) {
    if (layer.slash === true) continue // `use('/')`: every path, nothing consumed
    const matchers = layer.matchers
    if (!Array.isArray(matchers)) return null
    let matched = false
    for (let i = 0; i < matchers.length && !matched; i++) {
      const matcher: unknown = matchers[i]
      if (typeof matcher !== 'function') continue
      let m: unknown
      try {
        m = (matcher as (p: string) => unknown)(path)
      } catch {
        continue // e.g. a malformed %-escape in a parameter: the router would not have routed through it
      }
      const consumed = typeof m === 'object' && m !== null ? (m as { path?: unknown }).path : undefined
      if (typeof consumed !== 'string' || !path.startsWith(consumed)) continue
      const next = path[consumed.length]
      if (consumed.length > 0 && next !== undefined && next !== '/') continue
      const piece = consumed.endsWith('/') ? consumed.slice(0, -1) : consumed
      if (!baseUrl.startsWith(piece, consumedBase)) continue
      const pattern = Array.isArray(layer.rawPath) ? (layer.rawPath as unknown[])[i] : layer.rawPath
      const part = patternLabel(pattern)
      if (part === null) return null
      label = joinPath(label, part)
      consumedBase += piece.length
      path = path.slice(consumed.length)
      if (!path.startsWith('/')) path = '/' + path
      matched = true
    }
    if (!matched) return null
  }
  return consumedBase === baseUrl.length ? label : null
}

/** Per-route cache of the chains leading to it (weak: routes of a discarded app go with it). */
interface CachedChains {
  root: RouterLike
  chains: Chain[]
  /** The chains were searched again once after none fitted: no further searches for this route. */
  refreshed: boolean
}

/** See the module comment. One per HTTP adapter set; holds only a weak per-route cache. */
export class ExpressRoutes {
  private readonly cache = new WeakMap<object, CachedChains>()

  /**
   * Starts watching a request while it is routed: an accessor on `req.route` notes `req.baseUrl` when a router sets
   * the route. Only for Express requests (`req.app` present) without an own `route` property; never throws.
   * @returns a function giving the base URL noted with the last route set (undefined before any)
   */
  watch(req: object): () => string | undefined {
    const r = req as ExpressRequestLike
    if (r.app === undefined || Object.prototype.hasOwnProperty.call(req, 'route')) return () => undefined
    let route: unknown
    let baseAtRoute: string | undefined
    try {
      Object.defineProperty(req, 'route', {
        configurable: true,
        enumerable: true,
        get: () => route,
        set: (v: unknown) => {
          route = v
          baseAtRoute = typeof r.baseUrl === 'string' ? r.baseUrl : undefined
        },
      })
    } catch {
      return () => undefined // a frozen or exotic request: fall back to req.baseUrl at the end
    }
    return () => baseAtRoute
  }

  /**
   * The full template of an Express request's matched route (see the module comment). `baseAtRoute` is what
   * `watch` noted (default: `req.baseUrl` now).
   * @returns undefined when the request matched no Express route; null when it did but no template can be known
   */
  templateOf(req: object, baseAtRoute?: string): string | null | undefined {
    const r = req as ExpressRequestLike
    const route = r.route
    if (route === null || typeof route !== 'object') return undefined
    const own = routePathLabel(route.path)
    if (own === null) return null
    const baseUrl = baseAtRoute ?? (typeof r.baseUrl === 'string' ? r.baseUrl : '')
    if (baseUrl === '') return own === '' ? '/' : own // the route sits at the top (or under path-less mounts only)
    const app = r.app
    const root = app?.router ?? app?._router
    if (!isRouter(root)) return null
    const url = typeof r.originalUrl === 'string' ? r.originalUrl : typeof r.url === 'string' ? r.url : null
    if (url === null) return null
    const pathname = rawPathname(url)
    let cached = this.cache.get(route)
    if (cached === undefined || cached.root !== root) {
      cached = { root, chains: chainsTo(root, route), refreshed: false }
      this.cache.set(route, cached)
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const chain of cached.chains) {
        const prefix = replay(chain, pathname, baseUrl)
        if (prefix !== null) return joinPath(prefix, own) || '/'
      }
      // None fits: the tree may have changed since the chains were found. Search once more, then give up.
      if (cached.refreshed) break
      cached.chains = chainsTo(root, route)
      cached.refreshed = true
    }
    return null
  }
}
