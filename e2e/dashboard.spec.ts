/**
 * The dashboard's core journeys: login + live throughput, Reset on an open breaker (checked on both instances),
 * 401/403 for mutations, the offline reload of the Overview, installability. Per-page checks live in pages.spec.ts,
 * offline.spec.ts, breakers.spec.ts, update.spec.ts and a11y.spec.ts; shared pieces in helpers.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from '@playwright/test'
import { CHROMIUM_ARGS, E2E_OPERATOR_TOKEN, E2E_PORT, E2E_VIEWER_TOKEN } from '../playwright.config'
import {
  DATA_TIMEOUT,
  INSTANCES,
  JSON_HEADERS,
  SERVICE,
  SIGNED_OUT,
  STOREFRONTS,
  commandViaApi,
  goOffline,
  goOnline,
  instanceBreaker,
  loginWithLink,
  number,
  signedIn,
  test,
  expect,
  waitUntilControlled,
} from './helpers'

test.describe('signed out at first', () => {
  test.use({ storageState: SIGNED_OUT })
  test('logging in with the link shows live throughput, p95 and both storefront instances', async ({ page }) => {
    // The demo fleet has two services, so `/` alone lands on the fleet view (e2e/fleet.spec.ts): ask for the storefront's Overview.
    await loginWithLink(page, undefined, `/?service=${SERVICE}`)
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible()
    const throughput = page.getByTestId(`throughput-${SERVICE}`)
    await expect.poll(async () => number(await throughput.textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    await expect.poll(async () => number(await page.getByTestId(`p95-${SERVICE}`).textContent())).toBeGreaterThan(0)
    for (const instance of INSTANCES) {
      await expect(page.getByTestId(`instance-status-${instance}`)).toHaveText('up')
    }
    await expect(page.getByTestId(`breaker-${SERVICE}-payments`)).toBeVisible()

    // Live: the snapshot keeps arriving over SSE without a reload — "as of" moves and the figures change (the demo's
    // rate is steady, so throughput alone may hold still for a while; its latency percentiles do not).
    const asOf = page.getByTestId('as-of')
    const first = await asOf.textContent()
    await expect.poll(() => asOf.textContent(), { timeout: 10_000 }).not.toBe(first)
    const figures = async () =>
      (await Promise.all(['throughput', 'error-rate', 'p50', 'p95', 'p99'].map((id) => page.getByTestId(`${id}-${SERVICE}`).textContent()))).join(' | ')
    const before = await figures()
    await expect.poll(figures, { timeout: 30_000 }).not.toBe(before)
    expect(number(await throughput.textContent())).toBeGreaterThan(0)
  })
  test('a login link pasted into the form or into the address bar of an open login tab signs in; a rejected link says why', async ({ page }) => {
    await page.goto(`/?service=${SERVICE}`)
    const field = page.getByLabel('Access token or login link')
    await expect(field).toBeVisible({ timeout: 30_000 })
    const origin = new URL(page.url()).origin
    // A whole link pasted into the field is taken as a link: rejected, it says used or expired (not "check the token").
    await field.fill(`${origin}/#token=not-a-login-link-token-0123456789`)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByText('That login link was not accepted: it was used already or has expired.')).toBeVisible()
    // A typed token that is wrong talks about the token.
    await field.fill('not-an-access-token-0123456789')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByText('That access token was not accepted. Check it and try again')).toBeVisible()
    // The link pasted into the address bar of this open tab changes only the hash (no reload): it signs in and the
    // token leaves the address bar.
    await page.evaluate((token) => {
      window.location.hash = `token=${token}`
    }, E2E_OPERATOR_TOKEN)
    await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 30_000 })
    await expect(page).not.toHaveURL(/token=/)
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible()
  })
})

test('Reset on an open breaker closes it in the dashboard and in both instances', async ({ page, request }) => {
  await signedIn(page, `/?service=${SERVICE}`)
  // Open it through the real command path (desired state in Redis + nudge), then check the instances obeyed.
  await commandViaApi(page, 'inventory', 'forceOpen', 'e2e: open before reset')
  for (const port of STOREFRONTS) {
    await expect.poll(async () => (await instanceBreaker(request, port, 'inventory')).opossum.opened).toBe(true)
  }
  const state = page.getByTestId(`breaker-state-${SERVICE}-inventory`)
  await expect(state).toHaveText('FORCED_OPEN')

  const row = page.getByTestId(`breaker-${SERVICE}-inventory`)
  await row.getByRole('button', { name: 'Reset' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('textbox', { name: 'Reason' }).fill('e2e: upstream recovered')
  await dialog.getByRole('button', { name: 'Confirm reset' }).click()

  await expect(state).toHaveText('CLOSED')
  await expect(page.getByTestId(`breaker-progress-${SERVICE}-inventory`)).toContainText('2/2 applied')
  for (const port of STOREFRONTS) {
    const b = await instanceBreaker(request, port, 'inventory')
    expect(b).toMatchObject({ state: 'CLOSED', mode: 'NORMAL', opossum: { closed: true, opened: false } })
  }
})

test('a mutation without a session gets 401 and with a viewer session 403', async ({ playwright }) => {
  // Explicitly without the operator session the test contexts carry (see helpers.ts `test`).
  const anonymous = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}`, storageState: SIGNED_OUT })
  const body = { service: SERVICE, breaker: 'inventory', command: 'reset', reason: 'not allowed' }
  expect((await anonymous.post('/trpc/breakers.command', { headers: JSON_HEADERS, data: body })).status()).toBe(401)
  const viewer = await playwright.request.newContext({ baseURL: `http://127.0.0.1:${E2E_PORT}`, storageState: SIGNED_OUT })
  expect((await viewer.post('/trpc/auth.login', { headers: JSON_HEADERS, data: { token: E2E_VIEWER_TOKEN } })).status()).toBe(200)
  expect((await viewer.post('/trpc/breakers.command', { headers: JSON_HEADERS, data: body })).status()).toBe(403)
  await anonymous.dispose()
  await viewer.dispose()
})

test('offline, with the service worker cut off too, a reload shows the last data and the offline banner', async ({ page, context }) => {
  await signedIn(page, `/?service=${SERVICE}`)
  await waitUntilControlled(page)
  const throughput = page.getByTestId(`throughput-${SERVICE}`)
  await expect.poll(async () => number(await throughput.textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  await page.waitForTimeout(1500) // let the persisted snapshot be written

  // setOffline alone may not stop the worker's fetches: abort every request at the context too.
  await goOffline(context)
  try {
    await page.reload()
    await expect(page.getByTestId('offline-banner')).toBeVisible()
    await expect(page.getByTestId('offline-banner')).toContainText(/data as of \d{2}:\d{2}:\d{2}/)
    expect(number(await throughput.textContent())).toBeGreaterThan(0)
    await expect(page.getByTestId(`breaker-${SERVICE}-payments`).getByRole('button', { name: 'Reset' })).toBeDisabled()
  } finally {
    await goOnline(context)
  }
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
