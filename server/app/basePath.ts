/**
 * The URL path the dashboard is served under (FUSEBOX_BASE_PATH, `HttpOptions.basePath`; docs/decisions/024): '' for
 * the origin's root, else `/seg/seg`. One definition of what is accepted, shared by the env schema (env.ts) and the
 * HTTP app (http.ts), and how the app shell learns it (`<base href>`).
 */

/** Longest accepted base path, characters. */
export const MAX_BASE_PATH_LENGTH = 200

/**
 * One segment: RFC 3986 unreserved characters (A-Z a-z 0-9 . _ ~ -). No percent-encoding, no `:`, `@`, `;` or
 * quotes: the path is written into HTML and Location headers, and Express mount paths treat some of those specially.
 */
const SEGMENT = /^[A-Za-z0-9._~-]+$/

/**
 * Checks a base path and returns it normalized: '' for `''` or `/`, else the path itself (`/ops/fusebox`).
 * @returns `{ ok: true, basePath }`, or `{ ok: false, message }` saying what is wrong (without echoing the value)
 */
export function checkBasePath(raw: string): { ok: true; basePath: string } | { ok: false; message: string } {
  if (raw === '' || raw === '/') return { ok: true, basePath: '' }
  if (raw.length > MAX_BASE_PATH_LENGTH) return { ok: false, message: `must be at most ${MAX_BASE_PATH_LENGTH} characters` }
  if (!raw.startsWith('/')) return { ok: false, message: 'must start with "/" (e.g. /ops/fusebox)' }
  if (raw.endsWith('/')) return { ok: false, message: 'must not end with "/" (e.g. /ops/fusebox)' }
  const segments = raw.slice(1).split('/')
  if (segments.some((s) => s === '')) return { ok: false, message: 'must not contain "//"' }
  if (segments.some((s) => s === '.' || s === '..')) return { ok: false, message: 'must not contain "." or ".." segments' }
  if (!segments.every((s) => SEGMENT.test(s))) return { ok: false, message: 'may contain only A-Z a-z 0-9 . _ ~ - between slashes' }
  return { ok: true, basePath: raw }
}

/**
 * `checkBasePath` that throws.
 * @throws Error `Invalid base path: <message>`
 */
export function normalizeBasePath(raw: string): string {
  const checked = checkBasePath(raw)
  if (!checked.ok) throw new Error(`Invalid base path: ${checked.message}`)
  return checked.basePath
}

/** Escapes text for a double-quoted HTML attribute value. */
export function escapeHtmlAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** index.html's `<base …>` element (the build writes `<base href="/" />`: client/index.html). */
const BASE_ELEMENT = /<base\b[^>]*>/i
const HEAD_OPEN = /<head\b[^>]*>/i

/**
 * index.html with its `<base href>` set to `<baseUrl>/` (`baseUrl`: '' or the mount path, Express `req.baseUrl`;
 * trailing slashes dropped, HTML-escaped), so every relative URL of the app — scripts, styles, manifest, tRPC, the
 * service worker — resolves under the base. A page without a `<base>` element (not built by this repo's vite config)
 * is served as it is at the root, and gets one first in `<head>` (before any URL) under a base.
 */
export function withBaseHref(html: string, baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '')
  const element = `<base href="${escapeHtmlAttribute(base)}/" />`
  if (BASE_ELEMENT.test(html)) return html.replace(BASE_ELEMENT, () => element)
  if (base === '') return html
  if (HEAD_OPEN.test(html)) return html.replace(HEAD_OPEN, (head) => `${head}\n    ${element}`)
  return element + html
}
