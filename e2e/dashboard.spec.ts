import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, expect, test, type APIRequestContext, type Page } from '@playwright/test'
import { CHROMIUM_ARGS, E2E_DEMO_PORT_BASE, E2E_OPERATOR_TOKEN, E2E_PORT, E2E_VIEWER_TOKEN } from '../playwright.config'

const STOREFRONTS = [E2E_DEMO_PORT_BASE + 10, E2E_DEMO_PORT_BASE + 11]
const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }

interface InstanceBreakers {
  instance: string
  breakers: { name: string; state: string; mode: string; appliedGeneration: number; opossum: { opened: boolean; closed: boolean; halfOpen: boolean } }[]
}

/** Asks a storefront instance itself (not the dashboard) for its breaker objects. */
async function instanceBreaker(request: APIRequestContext, port: number, name: string) {
  const res = await request.get(`http://127.0.0.1:${port}/_demo/breakers`)
  expect(res.ok()).toBe(true)
  const body = (await res.json()) as InstanceBreakers
  const b = body.breakers.find((x) => x.name === name)
  if (!b) throw new Error(`instance on ${port} has no breaker ${name}`)
  return b
}

async function loginWithLink(page: Page, token = E2E_OPERATOR_TOKEN): Promise<void> {
  await page.goto(`/#token=${token}`)
  await expect(page.getByRole('heading', { name: 'Fusebox' }).first()).toBeVisible()
  await expect(page).not.toHaveURL(/token=/)
}

function number(text: string | null): number {
  return Number((text ?? '').replace(/,/g, ''))
}

test('logging in with the link shows live throughput, p95 and both storefront instances', async ({ page }) => {
  await loginWithLink(page)
  const throughput = page.getByTestId('throughput-storefront')
  await expect.poll(async () => number(await throughput.textContent()), { timeout: 60_000 }).toBeGreaterThan(0)
  await expect.poll(async () => number(await page.getByTestId('p95-storefront').textContent())).toBeGreaterThan(0)
  for (const instance of ['storefront-1', 'storefront-2']) {
    await expect(page.getByTestId(`instance-status-${instance}`)).toHaveText('up')
  }
  await expect(page.getByTestId('breaker-storefront-payments')).toBeVisible()

  // Live: the snapshot keeps arriving over SSE without a reload — "as of" moves and the request count grows.
  const asOf = page.getByTestId('as-of')
  const first = await asOf.textContent()
  await expect.poll(() => asOf.textContent(), { timeout: 10_000 }).not.toBe(first)
  const before = number(await throughput.textContent())
  await expect.poll(async () => number(await throughput.textContent()), { timeout: 30_000 }).not.toBe(before)
})

test('Reset on an open breaker closes it in the dashboard and in both instances', async ({ page, request }) => {
  await loginWithLink(page)
  // Open it through the real command path (desired state in Redis + nudge), then check the instances obeyed.
  const forced = await page.request.post('/trpc/breakers.command', {
    headers: JSON_HEADERS,
    data: { service: 'storefront', breaker: 'inventory', command: 'forceOpen', reason: 'e2e: open before reset' },
  })
  expect(forced.status()).toBe(200)
  for (const port of STOREFRONTS) {
    await expect.poll(async () => (await instanceBreaker(request, port, 'inventory')).opossum.opened).toBe(true)
  }
  const state = page.getByTestId('breaker-state-storefront-inventory')
  await expect(state).toHaveText('FORCED_OPEN')

  const row = page.getByTestId('breaker-storefront-inventory')
  await row.getByRole('button', { name: 'Reset' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('textbox', { name: 'Reason' }).fill('e2e: upstream recovered')
  await dialog.getByRole('button', { name: 'Confirm reset' }).click()

  await expect(state).toHaveText('CLOSED')
  await expect(page.getByTestId('breaker-progress-storefront-inventory')).toContainText('applied on 2/2')
  for (const port of STOREFRONTS) {
    const b = await instanceBreaker(request, port, 'inventory')
    expect(b).toMatchObject({ state: 'CLOSED', mode: 'NORMAL', opossum: { closed: true, opened: false } })
  }
})

test('a mutation without a session gets 401 and with a viewer session 403', async ({ playwright }) => {
  const anonymous = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}` })
  const body = { service: 'storefront', breaker: 'inventory', command: 'reset', reason: 'not allowed' }
  expect((await anonymous.post('/trpc/breakers.command', { headers: JSON_HEADERS, data: body })).status()).toBe(401)
  const viewer = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}` })
  expect((await viewer.post('/trpc/auth.login', { headers: JSON_HEADERS, data: { token: E2E_VIEWER_TOKEN } })).status()).toBe(200)
  expect((await viewer.post('/trpc/breakers.command', { headers: JSON_HEADERS, data: body })).status()).toBe(403)
  await anonymous.dispose()
  await viewer.dispose()
})

test('offline, with the service worker cut off too, a reload shows the last data and the offline banner', async ({ page, context }) => {
  await loginWithLink(page)
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
  await page.reload() // now controlled by the service worker
  await expect.poll(async () => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
  const throughput = page.getByTestId('throughput-storefront')
  await expect.poll(async () => number(await throughput.textContent()), { timeout: 30_000 }).toBeGreaterThan(0)
  await page.waitForTimeout(1500) // let the persisted snapshot be written

  // setOffline alone may not stop the worker's fetches: abort every request at the context too.
  await context.setOffline(true)
  await context.route('**/*', (route) => route.abort('internetdisconnected'))
  await page.reload()
  await expect(page.getByTestId('offline-banner')).toBeVisible()
  await expect(page.getByTestId('offline-banner')).toContainText(/data as of \d{2}:\d{2}:\d{2}/)
  expect(number(await throughput.textContent())).toBeGreaterThan(0)
  await expect(page.getByTestId('breaker-storefront-payments').getByRole('button', { name: 'Reset' })).toBeDisabled()
  await context.unroute('**/*')
  await context.setOffline(false)
})

test('Chromium reports no installability errors for the dashboard', async () => {
  // A persistent (non-incognito) profile: incognito reports an installability error by itself.
  const dir = mkdtempSync(join(tmpdir(), 'fusebox-pw-'))
  const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
  try {
    const page = await context.newPage()
    await page.goto(`http://127.0.0.1:${E2E_PORT}/`)
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
    const cdp = await context.newCDPSession(page)
    await expect
      .poll(async () => ((await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }).installabilityErrors, { timeout: 20_000 })
      .toEqual([])
    const manifest = (await cdp.send('Page.getAppManifest')) as { errors: unknown[] }
    expect(manifest.errors).toEqual([])
  } finally {
    await context.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
