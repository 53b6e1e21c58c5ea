/**
 * Issue #5, offline: after one online visit, with the service worker's network blocked as well, a reload shows each
 * page's last data and the offline banner; actions are disabled, with the reason; back online, the page goes live
 * again without a reload ("as of" moves, the banner goes).
 */
import type { Page } from '@playwright/test'
import { DATA_TIMEOUT, PAGES, SERVICE, SIGNED_OUT, expect, goOffline, goOnline, loginWithLink, number, openPage, signedIn, test, waitUntilControlled } from './helpers'

/** Waits until the service worker's API cache holds at least one answer (the last data of this page). */
async function apiCacheFilled(page: Page): Promise<void> {
  await expect
    .poll(() => page.evaluate(async () => ((await caches.has('fusebox-api')) ? (await (await caches.open('fusebox-api')).keys()).length : 0)))
    .toBeGreaterThan(0)
}

for (const p of PAGES) {
  test(`offline: ${p.slug} shows its last data and the banner after a reload, then goes live again`, async ({ page, context }) => {
    await signedIn(page)
    await waitUntilControlled(page)
    await openPage(page, p) // the one online visit of this page
    await apiCacheFilled(page)
    await page.waitForTimeout(1500) // the persisted snapshot is written coalesced (client/src/writeCoalescer.ts)

    await goOffline(context)
    try {
      await page.reload()
      const banner = page.getByTestId('offline-banner')
      await expect(banner).toBeVisible()
      await expect(banner).toContainText(/Offline — data as of \d{2}:\d{2}:\d{2}/)
      // The live indicator says so too (issue #15), and never "Live" over saved data.
      await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'offline')
      await expect(page.getByTestId('live-indicator')).toHaveText('Offline')
      await expect(page.getByRole('heading', { level: 1, name: p.heading, exact: true })).toBeVisible()
      await p.ready(page) // the same "real data" check as online, answered from what was saved

      if (p.actions) {
        const actions = page.getByRole('button', { name: p.actions })
        if (['overview', 'breakers', 'breaker-detail'].includes(p.slug)) expect(await actions.count(), 'action buttons on the page').toBeGreaterThan(0)
        for (const button of await actions.all()) await expect(button).toBeDisabled()
        // …with the reason shown (client/src/commandGate.ts), wherever there is a command to disable.
        if ((await actions.count()) > 0) {
          await expect(page.getByText(/^Commands disabled: Offline — commands need a connection to the Fusebox server$/).first()).toBeVisible()
        }
      }
    } finally {
      await goOnline(context)
    }

    // Back online: live again without a reload — a marker on window survives, "as of" moves, the banner goes.
    await page.evaluate(() => ((window as unknown as { __e2eSamePage: boolean }).__e2eSamePage = true))
    const asOf = page.getByTestId('as-of')
    const offlineAsOf = await asOf.textContent()
    await expect(page.getByTestId('offline-banner')).toBeHidden({ timeout: 30_000 })
    await expect.poll(() => asOf.textContent(), { timeout: 30_000 }).not.toBe(offlineAsOf)
    expect(await page.evaluate(() => (window as unknown as { __e2eSamePage?: boolean }).__e2eSamePage)).toBe(true)
    if (p.actions && ['overview', 'breakers', 'breaker-detail'].includes(p.slug)) {
      await expect(page.getByRole('button', { name: p.actions }).first()).toBeEnabled()
    }
  })
}

test.describe('sign-out', () => {
  // Its own session: signing out ends it, so the shared operator session of the other specs stays valid.
  test.use({ storageState: SIGNED_OUT })

  test('clears the cached API answers and the persisted snapshot: an offline reload then shows no data', async ({ page, context }) => {
    await loginWithLink(page, undefined, `/?service=${SERVICE}`)
    await waitUntilControlled(page)
    await expect.poll(async () => number(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    await apiCacheFilled(page)
    await expect.poll(() => persistedSnapshotExists(page)).toBe(true)

    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await expect(page.locator('form.login-form')).toBeVisible()
    expect(await page.evaluate(() => caches.has('fusebox-api'))).toBe(false)
    expect(await persistedSnapshotExists(page)).toBe(false)

    await goOffline(context)
    try {
      await page.reload()
      await expect(page.locator('form.login-form')).toBeVisible({ timeout: 30_000 })
      await expect(page.getByTestId(`throughput-${SERVICE}`)).toHaveCount(0)
    } finally {
      await goOnline(context)
    }
  })
})

/** Whether IndexedDB (idb-keyval's default store) still holds the persisted snapshot. */
function persistedSnapshotExists(page: Page): Promise<boolean> {
  return page.evaluate(
    () =>
      new Promise<boolean>((resolve) => {
        const open = indexedDB.open('keyval-store')
        open.onerror = () => resolve(false)
        open.onsuccess = () => {
          const db = open.result
          if (!db.objectStoreNames.contains('keyval')) return resolve(false)
          const get = db.transaction('keyval').objectStore('keyval').get('fusebox-snapshot')
          get.onsuccess = () => resolve(get.result !== undefined)
          get.onerror = () => resolve(false)
        }
      }),
  )
}

test('the service worker never answers /trpc or /metrics with the app shell and never caches the live stream or auth', async ({ page, context }) => {
  await signedIn(page, `/?service=${SERVICE}`)
  await waitUntilControlled(page)
  await expect.poll(async () => number(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  await apiCacheFilled(page)
  const cached = await page.evaluate(async () => (await (await caches.open('fusebox-api')).keys()).map((r) => new URL(r.url).pathname))
  expect(cached.some((p) => p.startsWith('/trpc/'))).toBe(true)
  expect(cached.filter((p) => p.startsWith('/trpc/live.') || p.startsWith('/trpc/auth.'))).toEqual([])

  await goOffline(context)
  try {
    // Navigations the shell's fallback would otherwise catch: offline they must fail, not show the app.
    for (const path of ['/metrics', '/trpc/no.such.procedure', '/healthz']) {
      await page.goto(path).catch(() => null)
      await expect(page.locator('#root'), path).toHaveCount(0)
    }
  } finally {
    await goOnline(context)
  }
})
