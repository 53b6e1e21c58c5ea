/**
 * Issue #5, update: a new build served while a tab runs the old one → the "Update available" prompt appears;
 * accepting ("Reload") loads the new one.
 *
 * A new build is simulated by changing dist/sw.js on disk (the server serves it with `Cache-Control: no-cache`): the
 * appended code makes the new worker answer an `E2E_BUILD` message with a marker, so the spec can tell which worker
 * controls the page. The original file is restored afterwards.
 */
import { copyFileSync, appendFileSync, existsSync, renameSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { DATA_TIMEOUT, SERVICE, expect, number, signedIn, test, waitUntilControlled } from './helpers'

const SW = 'dist/sw.js'

/**
 * Runs `fn`, which may append a "new build" to dist/sw.js, and restores the original file afterwards. Skips the test
 * when there is no production build.
 */
async function withNewBuildRestored(fn: () => Promise<void>): Promise<void> {
  test.skip(!existsSync(SW), 'no production build (run `npx vite build`)')
  const backup = `${SW}.e2e-backup`
  copyFileSync(SW, backup)
  try {
    await fn()
  } finally {
    renameSync(backup, SW)
  }
}

/** The marker of the worker controlling the page (null: the original build, which does not answer). */
function controllerBuild(page: Page): Promise<string | null> {
  return page.evaluate(
    () =>
      new Promise<string | null>((resolve) => {
        const controller = navigator.serviceWorker.controller
        if (!controller) return resolve(null)
        const channel = new MessageChannel()
        channel.port1.onmessage = (e: MessageEvent) => resolve(String(e.data))
        controller.postMessage({ type: 'E2E_BUILD' }, [channel.port2])
        setTimeout(() => resolve(null), 2000)
      }),
  )
}

test('a new build while the tab runs the old one shows the update prompt; Reload loads the new one', async ({ page }) => {
  await withNewBuildRestored(async () => {
    await signedIn(page, `/?service=${SERVICE}`)
    await waitUntilControlled(page)
    await expect.poll(async () => number(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    expect(await controllerBuild(page)).toBeNull()
    await expect(page.getByTestId('update-prompt')).toBeHidden()

    const build = `build-${Date.now()}`
    appendFileSync(SW, `\n// ${build}\nself.addEventListener('message', (e) => { if (e.data && e.data.type === 'E2E_BUILD') e.ports[0].postMessage(${JSON.stringify(build)}) })\n`)
    // The app checks for a new worker hourly, on `online` and when the tab becomes visible (at most once a minute,
    // client/src/components/updateChecks.ts): ask now, as one of those would.
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()))

    const prompt = page.getByTestId('update-prompt')
    await expect(prompt).toBeVisible({ timeout: 30_000 })
    await expect(prompt).toContainText('Update available')
    await expect(prompt.getByRole('button', { name: 'Later' })).toBeVisible()

    // The old worker still controls the tab until the operator accepts.
    expect(await controllerBuild(page)).toBeNull()
    const reloaded = page.waitForEvent('load', { timeout: 30_000 })
    await prompt.getByRole('button', { name: 'Reload' }).click()
    await reloaded
    await expect.poll(() => controllerBuild(page), { timeout: 20_000 }).toBe(build)
    await expect(page.getByTestId('update-prompt')).toBeHidden()
    await expect.poll(async () => number(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  })
})

test('"Later" hides the update prompt and keeps the old worker', async ({ page }) => {
  await withNewBuildRestored(async () => {
    await signedIn(page)
    await waitUntilControlled(page)
    appendFileSync(SW, `\n// later-${Date.now()}\n`)
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()))
    const prompt = page.getByTestId('update-prompt')
    await expect(prompt).toBeVisible({ timeout: 30_000 })
    await prompt.getByRole('button', { name: 'Later' }).click()
    await expect(prompt).toBeHidden()
    expect(await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.waiting !== null))).toBe(true)
  })
})

/** Counts `registration.update()` calls in the page (the app's own update checks; the browser's are not counted). */
function countUpdateChecks(): void {
  const w = window as unknown as { __e2eUpdateChecks: number }
  w.__e2eUpdateChecks = 0
  const update = ServiceWorkerRegistration.prototype.update
  ServiceWorkerRegistration.prototype.update = function (this: ServiceWorkerRegistration) {
    w.__e2eUpdateChecks++
    return update.call(this)
  }
}

const updateChecks = (page: Page) => page.evaluate(() => (window as unknown as { __e2eUpdateChecks: number }).__e2eUpdateChecks)

// Chromium also checks by itself after a navigation (when the worker is idle), so a prompt alone would not prove
// that the app asked: these count the app's `update()` calls, then expect the prompt for the new build.
for (const trigger of ['the browser comes back online', 'the tab becomes visible again'] as const) {
  test(`the app looks for a new build when ${trigger}, at most once a minute`, async ({ page, context }) => {
    await withNewBuildRestored(async () => {
      await context.addInitScript(countUpdateChecks)
      await signedIn(page)
      await waitUntilControlled(page)
      expect(await updateChecks(page)).toBe(0)
      appendFileSync(SW, `\n// ${trigger.replace(/ /g, '-')}-${Date.now()}\n`)
      const fire = async () => {
        if (trigger === 'the browser comes back online') {
          // setOffline alone fires `offline` then `online` in the page. Not goOffline/goOnline: toggling request
          // interception this fast once left `unroute` hanging until the test timed out (CI, 2026-11-21).
          await context.setOffline(true)
          await context.setOffline(false)
        } else {
          // Headless tabs are always visible: the event is what switching back to the tab fires.
          await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')))
        }
      }
      // Fired until the app's listeners are up (they start once the worker is registered); throttled to one check.
      await expect.poll(async () => (await fire(), updateChecks(page))).toBe(1)
      await fire()
      await fire()
      expect(await updateChecks(page)).toBe(1)
      await expect(page.getByTestId('update-prompt')).toBeVisible({ timeout: 30_000 })
    })
  })
}
