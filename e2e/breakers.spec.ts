/**
 * Issue #5, breaker flow: force open from the UI with a reason → both storefront instances report FORCED_OPEN (asked
 * directly, not through the dashboard) and the UI shows "2/2 applied"; release; the audit page lists both
 * commands with actor and reason. Uses `inventory`; ends released so the other specs see a normal breaker.
 */
import type { Page } from '@playwright/test'
import { DATA_TIMEOUT, SERVICE, STOREFRONTS, commandViaApi, expect, instanceBreaker, signedIn, test } from './helpers'
import { E2E_OPERATOR_NAME } from '../playwright.config'

const BREAKER = 'inventory'
const ACTOR = E2E_OPERATOR_NAME // the name of the (only) operator token of playwright.config.ts

async function command(page: Page, button: 'Force open' | 'Release', reason: string): Promise<void> {
  const row = page.getByTestId(`breakers-page-row-${SERVICE}-${BREAKER}`)
  await row.getByRole('button', { name: button, exact: true }).click()
  const dialog = page.getByRole('dialog')
  await expect(dialog).toBeVisible()
  await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason)
  await dialog.getByRole('button', { name: `Confirm ${button.toLowerCase()}` }).click()
  await expect(dialog).toBeHidden()
}

test('force open from the Breakers page reaches both instances, release restores them, the audit lists both', async ({ page, request }) => {
  const stamp = Date.now().toString(36)
  const openReason = `e2e ${stamp}: inventory maintenance`
  const releaseReason = `e2e ${stamp}: maintenance over`
  await signedIn(page, `/breakers?service=${SERVICE}`)
  await expect(page.getByRole('heading', { level: 1, name: 'Breakers' })).toBeVisible()
  const state = page.getByTestId(`breakers-page-state-${SERVICE}-${BREAKER}`)
  await expect(state).toHaveText(/CLOSED|OPEN|HALF_OPEN/, { timeout: DATA_TIMEOUT })

  try {
    await command(page, 'Force open', openReason)
    const progress = page.getByTestId(`command-progress-${SERVICE}-${BREAKER}`)
    await expect(progress).toContainText('2/2 applied', { timeout: 30_000 })
    await expect(progress).toContainText(/forceOpen/i)
    for (const port of STOREFRONTS) {
      await expect.poll(async () => instanceBreaker(request, port, BREAKER)).toMatchObject({ state: 'FORCED_OPEN', mode: 'FORCED_OPEN', opossum: { opened: true } })
    }
    await expect(state).toHaveText('FORCED_OPEN')
    for (const instance of ['storefront-1', 'storefront-2']) {
      await expect(page.getByTestId(`breaker-instance-state-${SERVICE}-${BREAKER}-${instance}`)).toHaveText(/FORCED_OPEN/)
    }

    await command(page, 'Release', releaseReason)
    await expect(progress).toContainText(/release/i, { timeout: 30_000 })
    await expect(progress).toContainText('2/2 applied', { timeout: 30_000 })
    for (const port of STOREFRONTS) {
      await expect.poll(async () => (await instanceBreaker(request, port, BREAKER)).mode).toBe('NORMAL')
    }
    await expect(state).not.toHaveText(/FORCED/)
  } finally {
    // Whatever failed above, leave the breaker obeying its own thresholds for the specs that follow.
    const modes = await Promise.all(STOREFRONTS.map(async (port) => (await instanceBreaker(request, port, BREAKER)).mode))
    if (modes.some((m) => m !== 'NORMAL')) await commandViaApi(page, BREAKER, 'release', `e2e ${stamp}: cleanup`)
  }

  // The audit tab of Events & audit: both commands, newest first, with actor, target and reason.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Events & audit' }).click()
  await page.getByRole('tab', { name: 'Audit' }).click()
  const opened = page.getByTestId('audit-row').filter({ hasText: openReason })
  const released = page.getByTestId('audit-row').filter({ hasText: releaseReason })
  await expect(opened).toHaveCount(1)
  await expect(released).toHaveCount(1)
  for (const [row, action] of [[opened, /forceOpen|force open/i], [released, /release/i]] as const) {
    await expect(row).toContainText(ACTOR)
    await expect(row).toContainText(action)
    await expect(row).toContainText(BREAKER)
    await expect(row).toContainText(/\d{2}:\d{2}:\d{2}/) // time
  }
  // Newest first: the release is listed above the force open.
  const texts = await page.getByTestId('audit-row').allTextContents()
  expect(texts.findIndex((t) => t.includes(releaseReason))).toBeLessThan(texts.findIndex((t) => t.includes(openReason)))
})
