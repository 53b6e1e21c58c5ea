/**
 * Shared pieces of the acceptance specs: login, the page list with a "real data is shown" check per page, the
 * storefront instances' own view of their breakers, offline/online switching and the theme.
 *
 * The UI contract (routes, headings, test ids) is the one in docs/ARCHITECTURE.md / issue #5.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { test as base, expect, type APIRequestContext, type BrowserContext, type Locator, type Page } from '@playwright/test'
import { E2E_DEMO_PORT_BASE, E2E_OPERATOR_TOKEN, E2E_PORT } from '../playwright.config'

/** The demo service and its two instances (server/demo/fleet.ts). */
export const SERVICE = 'storefront'
export const INSTANCES = ['storefront-1', 'storefront-2'] as const
/** The demo fleet's second service (one instance, `warehouse-1`, on demo-port-base + 20): with it, `/` lands on the fleet view. */
export const WAREHOUSE = 'warehouse'
/** Every service the demo fleet runs, by name. */
export const DEMO_SERVICES = [SERVICE, WAREHOUSE] as const
/** The storefront instances' own HTTP ports: `GET /_demo/breakers` answers with their breaker objects. */
export const STOREFRONTS = [E2E_DEMO_PORT_BASE + 10, E2E_DEMO_PORT_BASE + 11]
/** Headers of a tRPC mutation (JSON body + the CSRF header). */
export const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }
/** Demo data (first flushes, first breaker transitions) appears within ~30 s of the server start. */
export const DATA_TIMEOUT = 60_000

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

export interface InstanceBreaker {
  name: string
  state: string
  mode: string
  appliedGeneration: number
  opossum: { opened: boolean; closed: boolean; halfOpen: boolean }
}

type StorageState = Awaited<ReturnType<APIRequestContext['storageState']>>

/** Where the operator session is kept for the run (test-results/ is emptied at the start of every run). */
const SESSION_FILE = 'test-results/.operator-session.json'

/**
 * `test` with every context signed in as the operator. The server allows 10 sign-ins per 5 minutes per client and
 * the specs open dozens of contexts (and Playwright starts a new worker after every failed test), so the session is
 * made once per run and kept in SESSION_FILE; it is checked with `auth.me` and renewed only when refused. A spec that
 * tests signing in itself uses `test.use({ storageState: SIGNED_OUT })`.
 */
export const test = base.extend<object, { operatorState: StorageState }>({
  operatorState: [
    async ({ playwright }, use) => {
      const baseURL = `http://127.0.0.1:${E2E_PORT}`
      if (existsSync(SESSION_FILE)) {
        const saved = JSON.parse(readFileSync(SESSION_FILE, 'utf8')) as StorageState
        const check = await playwright.request.newContext({ baseURL, storageState: saved })
        const ok = (await check.get('/trpc/auth.me')).ok()
        await check.dispose()
        if (ok) return use(saved)
      }
      const api = await playwright.request.newContext({ baseURL })
      const res = await api.post('/trpc/auth.login', { headers: JSON_HEADERS, data: { token: E2E_OPERATOR_TOKEN } })
      expect(res.status(), `auth.login: ${await res.text()}`).toBe(200)
      const state = await api.storageState()
      await api.dispose()
      mkdirSync(dirname(SESSION_FILE), { recursive: true })
      writeFileSync(SESSION_FILE, JSON.stringify(state))
      await use(state)
    },
    { scope: 'worker' },
  ],
  storageState: async ({ operatorState }, use) => use(operatorState),
})
export { expect }

/** A context without a session. */
export const SIGNED_OUT = { cookies: [], origins: [] }

/** Asks a storefront instance itself (not the dashboard) for one of its breaker objects. */
export async function instanceBreaker(request: APIRequestContext, port: number, name: string): Promise<InstanceBreaker> {
  const res = await request.get(`http://127.0.0.1:${port}/_demo/breakers`)
  expect(res.ok(), `GET :${port}/_demo/breakers`).toBe(true)
  const body = (await res.json()) as { instance: string; breakers: InstanceBreaker[] }
  const b = body.breakers.find((x) => x.name === name)
  if (!b) throw new Error(`instance on ${port} has no breaker ${name}`)
  return b
}

/** Issues a breaker command through the real API with the page's session (no UI). */
export async function commandViaApi(page: Page, breaker: string, command: 'reset' | 'forceOpen' | 'forceClosed' | 'release', reason: string): Promise<void> {
  const res = await page.request.post('/trpc/breakers.command', {
    headers: JSON_HEADERS,
    data: { service: SERVICE, breaker, command, reason },
  })
  expect(res.status(), `breakers.command ${command} ${breaker}: ${await res.text()}`).toBe(200)
}

/** The number in a text ("1,234.5 req/s" → 1234.5); NaN when there is none. */
export function number(text: string | null): number {
  const m = /-?\d[\d,]*(?:\.\d+)?/.exec(text ?? '')
  return m ? Number(m[0].replace(/,/g, '')) : Number.NaN
}

/** A tRPC query through the page's session (GET `?input=`): the API's own answer, for waiting and for comparing. */
export async function query<T>(page: Page, path: string, input: unknown): Promise<T> {
  const res = await page.request.get(`/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`)
  expect(res.ok(), `${path}: ${await res.text()}`).toBe(true)
  return ((await res.json()) as { result: { data: T } }).result.data
}

/** Half the last digit the dashboard shows of a req/s figure (`formatRps`: 2 decimals below 10, 1 below 100, else whole). */
export function rpsHalfStep(rps: number): number {
  return rps < 10 ? 0.005 : rps < 100 ? 0.05 : 0.5
}

/** Signs in with a `#token=` link (a configured token: reusable) and waits for the shell (the "Pages" navigation). Only failed sign-ins count against the login limit. */
export async function loginWithLink(page: Page, token = E2E_OPERATOR_TOKEN, path = '/'): Promise<void> {
  await page.goto(`${path}#token=${token}`)
  await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 30_000 })
  await expect(page).not.toHaveURL(/token=/)
}

/** Opens `path` with the worker's operator session (see `test`) and waits for the shell. */
export async function signedIn(page: Page, path = '/'): Promise<void> {
  await page.goto(path)
  await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 30_000 })
}

/** Waits until the service worker is active and controls the page (a reload after the first visit). */
export async function waitUntilControlled(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload()
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
}

/** Network off for the page and its service worker: setOffline plus an abort of every request of the context. */
export async function goOffline(context: BrowserContext): Promise<void> {
  await context.setOffline(true)
  await context.route('**/*', (route) => route.abort('internetdisconnected'))
}

export async function goOnline(context: BrowserContext): Promise<void> {
  await context.unroute('**/*')
  await context.setOffline(false)
}

/** Count of elements matching `locator` whose text holds a number > 0. */
async function positiveNumbers(locator: Locator): Promise<number> {
  const texts = await locator.allTextContents()
  return texts.filter((t) => number(t) > 0).length
}

/** One page of the dashboard, with what "real data" means on it. */
export interface DashboardPage {
  /** File-name slug (docs/screenshots/<slug>-<w>x<h>.png). */
  slug: string
  /** Link text in the "Pages" navigation (null: not in the nav, e.g. the breaker detail). */
  nav: string | null
  /** The page's one h1. */
  heading: string
  path: string
  /** Resolves once the page shows data from the demo fleet (not placeholders). */
  ready: (page: Page) => Promise<void>
  /** Buttons that change something (must be disabled offline). */
  actions: RegExp | null
}

const q = `service=${SERVICE}`
const ACTION_BUTTONS = /^(Reset|Force open|Force closed|Release|Invalidate.*|Clear.*|Delete.*)$/

export const PAGES: DashboardPage[] = [
  {
    slug: 'fleet',
    nav: 'Fleet',
    heading: 'Fleet',
    path: '/fleet',
    actions: null,
    ready: async (page) => {
      // A row per demo service with a current throughput, and the storefront's instances both up.
      for (const s of DEMO_SERVICES) {
        await expect.poll(async () => number(await page.getByTestId(`fleet-throughput-${s}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      }
      await expect(page.getByTestId(`fleet-instances-${SERVICE}`)).toHaveText(/^2\/2/, { timeout: DATA_TIMEOUT })
    },
  },
  {
    slug: 'overview',
    nav: 'Overview',
    heading: 'Overview',
    path: `/?${q}`,
    actions: ACTION_BUTTONS,
    ready: async (page) => {
      await expect.poll(async () => number(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      await expect.poll(async () => number(await page.getByTestId(`p95-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      for (const i of INSTANCES) await expect(page.getByTestId(`instance-status-${i}`)).toHaveText('up', { timeout: DATA_TIMEOUT })
    },
  },
  {
    slug: 'endpoints',
    nav: 'Endpoints',
    heading: 'Endpoints',
    path: `/endpoints?${q}`,
    actions: null,
    ready: async (page) => {
      // Rows naming a route template of the storefront (e.g. "GET /products/:id") with numbers in them.
      const rows = page.getByRole('row').filter({ hasText: /\/[a-z]/ })
      await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      await expect.poll(() => positiveNumbers(rows), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    },
  },
  {
    slug: 'breakers',
    nav: 'Breakers',
    heading: 'Breakers',
    path: `/breakers?${q}`,
    actions: ACTION_BUTTONS,
    ready: async (page) => {
      for (const b of ['payments', 'inventory', 'recommendations']) {
        await expect(page.getByTestId(`breakers-page-row-${SERVICE}-${b}`)).toBeVisible({ timeout: DATA_TIMEOUT })
        await expect(page.getByTestId(`breakers-page-state-${SERVICE}-${b}`)).toHaveText(/CLOSED|OPEN|HALF_OPEN|FORCED_OPEN|FORCED_CLOSED/)
      }
      for (const i of INSTANCES) {
        await expect(page.getByTestId(`breaker-instance-state-${SERVICE}-payments-${i}`)).toHaveText(/CLOSED|OPEN|HALF_OPEN|FORCED/, { timeout: DATA_TIMEOUT })
      }
    },
  },
  {
    slug: 'breaker-detail',
    nav: null,
    heading: 'payments',
    path: `/breakers/${SERVICE}/payments`,
    actions: ACTION_BUTTONS,
    ready: async (page) => {
      // Both instances are listed with a state.
      for (const i of INSTANCES) await expect(page.getByText(i, { exact: false }).first()).toBeVisible({ timeout: DATA_TIMEOUT })
      await expect(page.getByText(/CLOSED|OPEN|HALF_OPEN/).first()).toBeVisible()
    },
  },
  {
    slug: 'requests',
    nav: 'Requests',
    heading: 'Requests',
    path: `/requests?${q}`,
    actions: null,
    ready: async (page) => {
      const grid = page.getByTestId('requests-grid')
      await expect(grid).toHaveAttribute('role', 'grid')
      await expect.poll(async () => Number(await grid.getAttribute('aria-rowcount')), { timeout: DATA_TIMEOUT }).toBeGreaterThan(1)
      const rows = page.getByTestId('request-row')
      await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      await expect(rows.first()).toContainText(/\d{3}/) // a status code
    },
  },
  {
    slug: 'events',
    nav: 'Events & audit',
    heading: 'Events & audit',
    path: `/events?${q}`,
    actions: null,
    ready: async (page) => {
      const grid = page.getByTestId('events-grid')
      const rows = grid.getByRole('row').filter({ hasText: /payments|inventory|recommendations/ })
      await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    },
  },
  {
    slug: 'caches',
    nav: 'Caches',
    heading: 'Caches',
    path: `/caches?${q}`,
    actions: null,
    ready: async (page) => {
      const rows = page.getByRole('row').filter({ hasText: 'catalog' })
      await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
      await expect.poll(() => positiveNumbers(rows), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    },
  },
  {
    slug: 'instances',
    nav: 'Instances',
    heading: 'Instances',
    path: `/instances?${q}`,
    actions: null,
    ready: async (page) => {
      for (const i of INSTANCES) await expect(page.getByText(i, { exact: false }).first()).toBeVisible({ timeout: DATA_TIMEOUT })
    },
  },
]

/** Opens a page by URL and waits for its heading and its data. */
export async function openPage(page: Page, p: DashboardPage): Promise<void> {
  await page.goto(p.path)
  await expect(page.getByRole('heading', { level: 1, name: p.heading, exact: true })).toBeVisible({ timeout: 30_000 })
  await p.ready(page)
  await drawAllCharts(page)
}

/**
 * Scrolls the page through to its end and back to the top, so every chart has come near the viewport and is drawn
 * (charts below the fold wait until then, decision 042), then waits until no chart placeholder is left.
 */
export async function drawAllCharts(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const step = Math.max(200, window.innerHeight - 100)
    for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
      window.scrollTo(0, y)
      await new Promise((r) => requestAnimationFrame(() => r(null)))
    }
    window.scrollTo(0, 0)
  })
  await expect(page.locator('.chart-pending')).toHaveCount(0, { timeout: 15_000 })
}

/** Relative luminance (0 dark … 1 light) of the body's computed background. */
export async function backgroundLuminance(page: Page): Promise<number> {
  return page.evaluate(() => {
    const pick = (el: Element | null): string => {
      for (let e = el; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor
        if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) return c
      }
      return getComputedStyle(document.documentElement).backgroundColor
    }
    const c = pick(document.querySelector('main') ?? document.body)
    const [r, g, b] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((x) => Number(x) / 255) as [number, number, number]
    const lin = (v: number) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
  })
}

/**
 * Puts the page in the light or dark theme: the system preference first (emulated), then the shell's theme toggle
 * if the resolved background does not match yet. Fails when neither gets there.
 */
export async function useTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  await page.emulateMedia({ colorScheme: theme })
  const matches = async () => {
    const l = await backgroundLuminance(page)
    return theme === 'light' ? l > 0.5 : l < 0.2
  }
  for (let i = 0; i < 3 && !(await matches()); i++) {
    const toggle = page.getByRole('button', { name: /theme|dark|light/i }).or(page.getByRole('switch', { name: /theme|dark|light/i })).first()
    await toggle.click()
    await page.waitForTimeout(200) // a CSS transition, if any
  }
  expect(await matches(), `could not switch the dashboard to the ${theme} theme`).toBe(true)
}

/** Where playwright.config.ts's webServer keeps the embedded Redis (its FUSEBOX_REDIS_DIR, relative to the repo). */
export const E2E_REDIS_DIR = '.fusebox/e2e-redis'

/**
 * The Redis the e2e stack's server and demo fleet use, for a spec that writes to it itself (e.g. through the SDK):
 * `REDIS_URL` when the run was given one (the webServer inherits it, so `start.mjs` uses it), else the embedded
 * redis-server started by `start.mjs`. That one listens on a free port it prints but writes nowhere; its pidfile
 * (E2E_REDIS_DIR/redis.pid) leads to the process, whose title redis-server sets to `redis-server 127.0.0.1:<port>`.
 * @throws Error when neither is there (the stack is not running, or Redis is not the embedded one)
 */
export function e2eRedisUrl(): string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL
  const pidFile = `${E2E_REDIS_DIR}/redis.pid`
  if (!existsSync(pidFile)) throw new Error(`no REDIS_URL and no ${pidFile}: is the e2e stack (playwright.config.ts webServer) running?`)
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+/g, ' ').trim()
  const port = /--port (\d+)/.exec(cmdline)?.[1] ?? /redis-server \S*:(\d+)/.exec(cmdline)?.[1]
  if (!cmdline.includes('redis-server') || port === undefined) throw new Error(`pid ${pid} of ${pidFile} is not a redis-server with a port: "${cmdline}"`)
  return `redis://127.0.0.1:${port}`
}

/** The Redis key prefix of the e2e stack's server and demo fleet (the server's FUSEBOX_PREFIX, default `fusebox`). */
export const E2E_PREFIX = process.env.FUSEBOX_PREFIX || 'fusebox'
