/**
 * Issue #5: every page renders real data from the demo fleet; each page is saved as a screenshot at 1280×800 and
 * 390×844 (docs/screenshots/<page>-<w>x<h>.png, the key ones are shown in the README).
 */
import { DESKTOP, PAGES, PHONE, expect, openPage, signedIn, test } from './helpers'

const SHOTS = 'docs/screenshots'

test.describe('every page renders real data', () => {
  for (const p of PAGES) {
    test(`${p.slug}: real data, screenshots at 1280×800 and 390×844`, async ({ page }) => {
      await page.setViewportSize(DESKTOP)
      await signedIn(page)
      await openPage(page, p)
      await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1)
      // Let a chart's entry animation finish before the picture.
      await page.waitForTimeout(800)
      await page.screenshot({ path: `${SHOTS}/${p.slug}-${DESKTOP.width}x${DESKTOP.height}.png` })

      await page.setViewportSize(PHONE)
      await expect(page.getByRole('heading', { level: 1, name: p.heading, exact: true })).toBeVisible()
      await p.ready(page)
      await page.waitForTimeout(800)
      await page.screenshot({ path: `${SHOTS}/${p.slug}-${PHONE.width}x${PHONE.height}.png` })
    })
  }

  test('the Pages navigation reaches every page, keeping the service and time range', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/?service=storefront&range=1h')
    const nav = page.getByRole('navigation', { name: 'Pages' })
    for (const p of PAGES.filter((x) => x.nav !== null)) {
      // On a narrow layout the nav may be collapsed; at 1280 px every link is visible.
      await nav.getByRole('link', { name: p.nav as string, exact: true }).click()
      await expect(page.getByRole('heading', { level: 1, name: p.heading, exact: true })).toBeVisible()
      expect(new URL(page.url()).pathname).toBe(new URL(p.path, 'http://x').pathname)
      await expect(page.getByRole('combobox', { name: 'Service' })).toHaveValue('storefront')
      await expect(page.getByRole('combobox', { name: 'Time range' })).toHaveValue('1h')
    }
  })
})
