/**
 * The browser half of "the dashboard under a base path" (issue #12, docs/decisions/024-base-path.md and 025): one
 * check that a real Chromium signs in, installs and runs the PWA offline under a base such as `/ops/fusebox`,
 * whoever serves it — the in-repo server (`createHttpApp` with `basePath`, server/app/basePathBrowser.test.ts) or a host
 * app mounting the packed `fusebox-dashboard` (server/app/dashboardTarball.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from '@playwright/test'
import { expect } from 'vitest'
import { CHROMIUM_ARGS } from '../../playwright.config'

/** How long one UI step (a heading, the worker, the manifest) may take, ms. */
const UI_TIMEOUT_MS = 20_000

/** What `checkPwaUnderBase` is pointed at. */
export interface PwaUnderBaseTarget {
  /**
   * A persistent (non-incognito) Chromium context, with service workers allowed — `launchPersistentChromium` makes
   * one; incognito reports an installability error by itself. Left offline-free and un-routed on return or throw.
   */
  context: BrowserContext
  /** The server's origin, no trailing slash: `http://127.0.0.1:4173`. */
  origin: string
  /** The base path: a leading slash, no trailing slash (`/ops/fusebox`). */
  base: string
  /** A service the server already has data for: the Overview must show its section (`data-testid="service-<name>"`). */
  service: string
  /**
   * A Fusebox operator or viewer token: the first visit carries it as a `#token=` login link (and `auth.login` must be
   * asked under the base). Omit it when the context is already signed in another way — e.g. a host app's session
   * cookie, for a mount with an `authenticate` hook; then the first visit is a plain deep link.
   */
  token?: string
}

/** Waits until the Overview shows the service's section (its data came through tRPC under the base). */
async function overviewShown(page: Page, service: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name: 'Overview', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
  await page.getByTestId(`service-${service}`).waitFor({ timeout: UI_TIMEOUT_MS })
}

/**
 * Checks, with vitest's `expect` (so it runs inside a vitest test; throws on the first failed step), that the dashboard served at
 * `<origin><base>/` works as an installed PWA there:
 * 1. a first visit on a deep link (`<base>/endpoints?service=…`, with `#token=` when `token` is given) shows the
 *    Endpoints page, the token leaves the address, and `document.baseURI` is `<base>/`;
 * 2. the service worker is `<base>/sw.js` with scope `<base>/`, and controls the Overview after a reload;
 * 3. every request of the page (assets, tRPC, the SSE live stream, manifest, icons) went under `<base>/`;
 * 4. Chromium parses the manifest at `<base>/manifest.webmanifest` with start_url and scope `<base>/`, its icons
 *    load, and CDP `Page.getInstallabilityErrors` reports none;
 * 5. offline (context offline and every request aborted): a reload shows the Overview with the offline banner, a
 *    deep link (`<base>/breakers`) shows its page, and `<base>/healthz` is not answered with the shell.
 * Uses the context's first page (or a new one) and leaves it open. Takes about 5 s.
 */
export async function checkPwaUnderBase({ context, origin, base, service, token }: PwaUnderBaseTarget): Promise<void> {
  const page = context.pages()[0] ?? (await context.newPage())
  const requested: string[] = []
  page.on('request', (r) => requested.push(r.url()))
  const deepLink = `${origin}${base}/endpoints?service=${encodeURIComponent(service)}`

  // First visit on a deep link: no service worker yet, so the server's shell and its <base href> alone load the
  // assets; a login token leaves the address at once.
  await page.goto(token === undefined ? deepLink : `${deepLink}#token=${token}`)
  await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: UI_TIMEOUT_MS })
  await page.getByRole('heading', { level: 1, name: 'Endpoints', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
  expect(page.url()).toBe(deepLink)
  expect(await page.evaluate(() => document.baseURI)).toBe(`${origin}${base}/`)

  // The service worker, registered from that deep link: <base>/sw.js with scope <base>/. `ready` never settles when no
  // registration covers the page (a wrong scope), so it is bounded and then answers what was registered instead.
  const registration = await page.evaluate(
    (ms) =>
      Promise.race([
        navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active?.scriptURL })),
        new Promise((resolve) => setTimeout(resolve, ms)).then(async () => ({
          notReadyAfterMs: ms,
          registered: (await navigator.serviceWorker.getRegistrations()).map((r) => ({ scope: r.scope, script: (r.active ?? r.waiting ?? r.installing)?.scriptURL })),
        })),
      ]),
    UI_TIMEOUT_MS,
  )
  expect(registration).toEqual({ scope: `${origin}${base}/`, script: `${origin}${base}/sw.js` })

  // The Overview through the router's links (basename = the base), then under the worker's control.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).click()
  await overviewShown(page, service)
  expect(new URL(page.url()).pathname).toBe(`${base}/`)
  await page.reload()
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null), { timeout: UI_TIMEOUT_MS }).toBe(`${origin}${base}/sw.js`)
  await overviewShown(page, service)

  // Every request of the page went under the base: tRPC queries, the live stream (SSE), assets, manifest, icons.
  expect(requested.filter((u) => !u.startsWith(`${origin}${base}/`))).toEqual([])
  expect(requested.some((u) => u.startsWith(`${origin}${base}/trpc/live.snapshot`))).toBe(true)
  if (token !== undefined) expect(requested.some((u) => u.startsWith(`${origin}${base}/trpc/auth.login`))).toBe(true)

  // The manifest: linked under the base, parsed by Chromium with start_url and scope at the base, installable.
  const cdp = await context.newCDPSession(page)
  try {
    const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[]; data?: string }
    expect(manifest.url).toBe(`${origin}${base}/manifest.webmanifest`)
    expect(manifest.errors).toEqual([])
    const data = JSON.parse(manifest.data ?? '{}') as { start_url: string; scope: string; icons: { src: string }[] }
    expect(new URL(data.start_url, manifest.url).href).toBe(`${origin}${base}/`)
    expect(new URL(data.scope, manifest.url).href).toBe(`${origin}${base}/`)
    for (const icon of data.icons) expect((await page.request.get(new URL(icon.src, manifest.url).href)).status(), icon.src).toBe(200)
    await expect
      .poll(async () => ((await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }).installabilityErrors, { timeout: UI_TIMEOUT_MS })
      .toEqual([])
  } finally {
    await cdp.detach()
  }

  // Offline: the cached answers and the persisted snapshot carry a reload and a deep link.
  await expect
    .poll(() => page.evaluate(async () => ((await caches.has('fusebox-api')) ? (await (await caches.open('fusebox-api')).keys()).length : 0)), {
      timeout: UI_TIMEOUT_MS,
    })
    .toBeGreaterThan(0)
  await page.waitForTimeout(1500) // the persisted snapshot is written coalesced (client/src/writeCoalescer.ts)
  await context.setOffline(true)
  await context.route('**/*', (route) => route.abort('internetdisconnected'))
  try {
    await page.reload()
    await page.getByTestId('offline-banner').waitFor({ timeout: UI_TIMEOUT_MS })
    await overviewShown(page, service)
    await page.goto(`${origin}${base}/breakers?service=${encodeURIComponent(service)}`)
    await page.getByRole('heading', { level: 1, name: 'Breakers', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
    // The server's own paths are never answered with the shell: offline they fail.
    await expect(page.goto(`${origin}${base}/healthz`)).rejects.toThrow(/ERR_INTERNET_DISCONNECTED|ERR_FAILED/)
  } finally {
    await context.unroute('**/*')
    await context.setOffline(false)
  }
}

/** A headless Debian Chromium (`/usr/bin/chromium`, playwright.config.ts's args) in a fresh persistent profile. */
export interface PersistentChromium {
  context: BrowserContext
  /** Closes the browser and deletes the profile folder; safe to call twice. */
  close(): Promise<void>
}

/**
 * Launches `/usr/bin/chromium` headless with `CHROMIUM_ARGS` in a new profile folder under the OS temp folder
 * (`<tmp>/<profilePrefix>XXXXXX`): persistent, not incognito, so installability can be asked (see `checkPwaUnderBase`).
 * @throws whatever Playwright throws when the browser cannot start (the profile folder is removed first)
 */
export async function launchPersistentChromium(profilePrefix = 'fusebox-pwa-'): Promise<PersistentChromium> {
  const dir = mkdtempSync(join(tmpdir(), profilePrefix))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  let closed: Promise<void> | undefined
  return {
    context,
    close: () => (closed ??= context.close().finally(() => rmSync(dir, { recursive: true, force: true }))),
  }
}
