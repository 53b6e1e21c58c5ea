/**
 * Issue #5, cache invalidation from the Caches page: an operator invalidates the demo catalog's `catalog` tag with a
 * reason → the page reports how many keys went, a toast confirms it, and the audit log lists it with actor and reason.
 */
import { DATA_TIMEOUT, SERVICE, expect, signedIn, test } from './helpers'
import { E2E_OPERATOR_NAME } from '../playwright.config'

const ACTOR = E2E_OPERATOR_NAME // the name of the (only) operator token of playwright.config.ts

test('an operator invalidates a cache tag: result on the page, a toast, and an audit entry', async ({ page }) => {
  const reason = `e2e ${Date.now().toString(36)}: catalog reload`
  await signedIn(page, `/caches?service=${SERVICE}`)
  await expect(page.getByTestId('cache-catalog')).toBeVisible({ timeout: DATA_TIMEOUT })
  const form = page.getByRole('region', { name: 'Invalidate tag' })
  await form.getByLabel('Cache').selectOption('catalog')
  await form.getByLabel('Tag').fill('catalog')
  await form.getByLabel('Reason').fill(reason)
  await form.getByRole('button', { name: 'Invalidate tag' }).click()

  await expect(page.getByTestId('invalidate-result')).toHaveText(/catalog: tag “catalog” — removed \d+ keys?\./)
  await expect(page.getByTestId('toast').filter({ hasText: /Invalidated catalog: tag “catalog”/ })).toBeVisible()
  // The form is cleared for the next one.
  await expect(form.getByLabel('Reason')).toHaveValue('')

  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Events & audit' }).click()
  await page.getByRole('tab', { name: 'Audit' }).click()
  const row = page.getByTestId('audit-row').filter({ hasText: reason })
  await expect(row).toHaveCount(1)
  await expect(row).toContainText(ACTOR)
  await expect(row).toContainText(/invalidat/i)
  await expect(row).toContainText('catalog')
})

test('a tag no entry carries removes nothing and says so, not in green', async ({ page }) => {
  await signedIn(page, `/caches?service=${SERVICE}`)
  await expect(page.getByTestId('cache-catalog')).toBeVisible({ timeout: DATA_TIMEOUT })
  const form = page.getByRole('region', { name: 'Invalidate tag' })
  await form.getByLabel('Cache').selectOption('catalog')
  await form.getByLabel('Tag').fill(`no-such-tag-${Date.now().toString(36)}`)
  await form.getByLabel('Reason').fill('e2e: a tag nothing carries')
  await form.getByRole('button', { name: 'Invalidate tag' }).click()
  const result = page.getByTestId('invalidate-result')
  await expect(result).toContainText('removed 0 keys. No entry carried this tag; check its spelling.')
  await expect(result).toHaveAttribute('data-outcome', 'nothing')
  await expect(result).not.toHaveClass(/result-ok/)
  await expect(page.getByTestId('toast').filter({ hasText: /Nothing invalidated: catalog/ })).toBeVisible()
})
