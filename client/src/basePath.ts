/**
 * Where the dashboard lives: at `/`, or under a base path such as `/ops/fusebox` (docs/decisions/024-base-path.md).
 * The build is the same for every base (vite `base: './'`); the server that serves index.html writes the base into its
 * `<base href="…/">`, and everything the client addresses — tRPC and the live stream, the audit export, the router's
 * basename, the service worker's script and scope — is resolved against `document.baseURI` here. Pure functions
 * take the base URI as a parameter; the `current*` ones read the document's (and fall back to `/` outside a browser,
 * e.g. in unit tests of modules that import the API client).
 */

/**
 * The base path of a base URI: '' at the origin's root, else '/seg/seg' (no trailing slash) — the form the router's
 * `basename` and the server's `FUSEBOX_BASE_PATH` use. A base URI that names a file (`…/index.html`) counts by its
 * folder, as URL resolution does.
 */
export function basePathOf(baseUri: string): string {
  const folder = new URL('./', baseUri).pathname
  return folder.replace(/\/+$/, '')
}

/**
 * An absolute URL of `path` inside the dashboard (`path` relative, no leading slash: `trpc`, `sw.js`,
 * `api/audit.jsonl?x=1`). A leading slash is dropped, so a path can never escape the base.
 */
export function appUrl(path: string, baseUri: string): string {
  return new URL(path.replace(/^\/+/, ''), new URL('./', baseUri)).href
}

/** The document's base URI (index.html's `<base href>` as the server wrote it), or `http://localhost/` outside a browser. */
export function currentBaseUri(): string {
  return typeof document === 'undefined' ? 'http://localhost/' : document.baseURI
}

/** `appUrl` against the document's base URI. */
export function currentAppUrl(path: string): string {
  return appUrl(path, currentBaseUri())
}

/**
 * The router's basename for a base URI: the base path WITH its trailing slash (`/`, `/ops/fusebox/`). react-router
 * writes the root route as the basename itself, and the root must be `/ops/fusebox/`: `/ops/fusebox` lies outside the
 * service worker's scope (`/ops/fusebox/`), so a reload there would not be served offline.
 */
export function routerBasenameOf(baseUri: string): string {
  return `${basePathOf(baseUri)}/`
}

/** `routerBasenameOf` the document's base URI. */
export function currentRouterBasename(): string {
  return routerBasenameOf(currentBaseUri())
}
