/**
 * The dashboard under `/ops/fusebox` in a real Chromium (issue #12, docs/decisions/024-base-path.md): the real server
 * (`createHttpApp` with `basePath`) serving the built `dist/` (npm test's build step makes it; by hand:
 * `npx vite build`) against the test Redis, fed by a real collector. Signs in with a `#token=` link, sees the
 * Overview, checks the service worker's scope and script, the manifest and installability, a deep link without a
 * service worker, then goes offline: a reload and a deep link still show the shell and the last snapshot, while the
 * server's own paths are not answered with the shell.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from '@playwright/test'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../../playwright.config'
import { createKeySpace } from '../../shared/keys'
import { createCollector, type Collector } from '../sdk/index'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { Auth } from './auth'
import { createHttpApp } from './http'
import { createOverviewHub } from './readModel'
import { NO_RATE_LIMITS, OPERATOR_TOKEN, VIEWER_TOKEN } from './testing/testServer'

const BASE = '/ops/fusebox'
const SERVICE = 'storefront'
const UI_TIMEOUT_MS = 20_000
const prefix = `bpb${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)

let redis: Redis
let collector: Collector
let hub: ReturnType<typeof createOverviewHub>
let server: Server
let origin: string
let profileDir: string
let context: BrowserContext

beforeAll(async () => {
  // A clear failure, not a confusing one, when the build is missing or predates relative URLs.
  const index = 'dist/index.html'
  if (!existsSync(index) || !existsSync('dist/sw.js') || !readFileSync(index, 'utf8').includes('<base href="/"')) {
    throw new Error('dist/ is missing or was built before the base-path change: run `npx vite build` (npm test builds it first)')
  }
  redis = new Redis(testRedisUrl())
  collector = createCollector({ redis: testRedisUrl(), service: SERVICE, instance: `${SERVICE}-1`, prefix, flushIntervalMs: 60_000 })
  for (let i = 0; i < 50; i++) collector.recordRequest({ method: 'GET', route: '/api/products/:id', status: i % 10 === 0 ? 503 : 200, durationMs: 5 + i })
  await collector.flush()
  hub = createOverviewHub(redis, keys)
  const app = createHttpApp(
    { redis, keys, auth: new Auth(redis, keys, [OPERATOR_TOKEN], [VIEWER_TOKEN], 3600), tls: false, hub },
    { staticDir: 'dist', rateLimits: NO_RATE_LIMITS, basePath: BASE },
  )
  server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // A persistent (non-incognito) profile: incognito reports an installability error by itself.
  profileDir = mkdtempSync(join(tmpdir(), 'fusebox-basepath-'))
  context = await chromium.launchPersistentContext(profileDir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
})

afterAll(async () => {
  await context?.close()
  if (profileDir) rmSync(profileDir, { recursive: true, force: true })
  server?.closeAllConnections()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  hub?.close()
  await collector?.close()
  if (redis) {
    await deletePrefix(redis, prefix)
    await redis.quit()
  }
})

/** Waits until the Overview shows the service's section (its data came through tRPC under the base). */
async function overviewShown(page: Page): Promise<void> {
  await page.getByRole('heading', { level: 1, name: 'Overview', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
  await page.getByTestId(`service-${SERVICE}`).waitFor({ timeout: UI_TIMEOUT_MS })
}

it('serves, installs and runs offline under /ops/fusebox: sign-in on a deep link, worker scope, Overview, manifest, offline reload', async () => {
  const page = context.pages()[0] ?? (await context.newPage())
  const requested: string[] = []
  page.on('request', (r) => requested.push(r.url()))

  // First visit on a deep link, with a login link: no service worker yet, so the server's shell and its <base href>
  // alone load the assets; the token leaves the address at once.
  await page.goto(`${origin}${BASE}/endpoints?service=${SERVICE}#token=${OPERATOR_TOKEN}`)
  await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: UI_TIMEOUT_MS })
  await page.getByRole('heading', { level: 1, name: 'Endpoints', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
  expect(page.url()).toBe(`${origin}${BASE}/endpoints?service=${SERVICE}`)
  expect(await page.evaluate(() => document.baseURI)).toBe(`${origin}${BASE}/`)

  // The service worker, registered from that deep link: <base>/sw.js with scope <base>/.
  const registration = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => ({ scope: r.scope, script: r.active?.scriptURL })))
  expect(registration).toEqual({ scope: `${origin}${BASE}/`, script: `${origin}${BASE}/sw.js` })

  // The Overview through the router's links (basename = the base), then under the worker's control.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview' }).click()
  await overviewShown(page)
  expect(new URL(page.url()).pathname).toBe(`${BASE}/`)
  await page.reload()
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null), { timeout: UI_TIMEOUT_MS }).toBe(`${origin}${BASE}/sw.js`)
  await overviewShown(page)

  // Every request of the page went under the base: tRPC queries, the live stream (SSE), assets, manifest, icons.
  expect(requested.filter((u) => !u.startsWith(`${origin}${BASE}/`))).toEqual([])
  expect(requested.some((u) => u.startsWith(`${origin}${BASE}/trpc/live.snapshot`))).toBe(true)
  expect(requested.some((u) => u.startsWith(`${origin}${BASE}/trpc/auth.login`))).toBe(true)

  // The manifest: linked under the base, parsed by Chromium with start_url and scope at the base, installable.
  const cdp = await context.newCDPSession(page)
  const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[]; data?: string }
  expect(manifest.url).toBe(`${origin}${BASE}/manifest.webmanifest`)
  expect(manifest.errors).toEqual([])
  const data = JSON.parse(manifest.data ?? '{}') as { start_url: string; scope: string; icons: { src: string }[] }
  expect(new URL(data.start_url, manifest.url).href).toBe(`${origin}${BASE}/`)
  expect(new URL(data.scope, manifest.url).href).toBe(`${origin}${BASE}/`)
  for (const icon of data.icons) expect((await page.request.get(new URL(icon.src, manifest.url).href)).status(), icon.src).toBe(200)
  await expect
    .poll(async () => ((await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }).installabilityErrors, { timeout: UI_TIMEOUT_MS })
    .toEqual([])

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
    await overviewShown(page)
    await page.goto(`${origin}${BASE}/breakers?service=${SERVICE}`)
    await page.getByRole('heading', { level: 1, name: 'Breakers', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
    // The server's own paths are never answered with the shell: offline they fail.
    await expect(page.goto(`${origin}${BASE}/healthz`)).rejects.toThrow(/ERR_INTERNET_DISCONNECTED|ERR_FAILED/)
  } finally {
    await context.unroute('**/*')
    await context.setOffline(false)
  }
}, 60_000)
