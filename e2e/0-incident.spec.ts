/**
 * Issue #15, the glance test, on a phone (390×844) during the demo's payments outage: within 3 s of the payments
 * breaker opening on an instance, the Overview's incident strip names it with its instances and links to its detail,
 * without scrolling; the error-rate tile's current value is within 2 percentage points of the chart's last point
 * (the newest 10 s bucket with data, read from the API) and turns red.
 *
 * The file name sorts first: Playwright runs spec files in name order on the one demo fleet, and the fleet's first
 * outage starts 20 s after it did (server/demo/timeline.ts), so this spec meets it instead of waiting up to a cycle.
 */
import type { APIRequestContext } from '@playwright/test'
import type { ServiceOverview } from '../shared/schemas'
import { CYCLE_MS } from '../server/demo/timeline'
import { PHONE, SERVICE, STOREFRONTS, expect, instanceBreaker, number, query, signedIn, test } from './helpers'

/** Instances (by port) whose own payments breaker is open right now (opossum's own flag). */
async function openOn(request: APIRequestContext): Promise<number[]> {
  const states = await Promise.all(STOREFRONTS.map(async (port) => ((await instanceBreaker(request, port, 'payments').catch(() => null))?.opossum.opened ? port : null)))
  return states.filter((p): p is number => p !== null)
}

test('the incident strip names the payments breaker within 3 s of it opening; the error-rate tile matches the chart and is red', async ({ page }) => {
  test.setTimeout(CYCLE_MS + 120_000)
  await page.setViewportSize(PHONE)
  await signedIn(page, `/?service=${SERVICE}`)
  const strip = page.getByTestId('incident-strip')
  await expect(strip).toBeVisible({ timeout: 30_000 })

  // Wait for a moment with payments closed everywhere, then for the opening (at most one incident cycle).
  await expect.poll(async () => (await openOn(page.request)).length, { timeout: CYCLE_MS, intervals: [250] }).toBe(0)
  await expect.poll(async () => (await openOn(page.request)).length, { timeout: CYCLE_MS, intervals: [100] }).toBeGreaterThan(0)
  const openedAt = Date.now()

  const item = strip.getByTestId('incident-breaker-payments')
  await expect(item).toBeVisible({ timeout: 3_000 })
  const namedAfterMs = Date.now() - openedAt
  await expect(item).toContainText(/OPEN|HALF_OPEN/)
  await expect(item).toContainText(/storefront-\d/)
  await expect(item.getByRole('link', { name: 'payments' })).toHaveAttribute('href', /\/breakers\/storefront\/payments/)
  // Visible without scrolling on the phone.
  expect(await page.evaluate(() => window.scrollY)).toBe(0)
  const box = await item.boundingBox()
  expect(box, 'the strip item has a box').not.toBeNull()
  expect((box?.y ?? Infinity) + (box?.height ?? 0)).toBeLessThanOrEqual(PHONE.height)

  // The error-rate tile: red during the outage, its current value the chart's last point (±2 percentage points).
  const tile = page.getByTestId(`tile-error-rate-${SERVICE}`)
  await expect(tile).toHaveAttribute('data-tone', 'bad', { timeout: 20_000 })
  const redAfterMs = Date.now() - openedAt
  await expect
    .poll(
      async () => {
        const shown = number(await page.getByTestId(`error-rate-current-${SERVICE}`).textContent())
        const overview = await query<{ services: ServiceOverview[] }>(page, 'overview.get', { windowMs: 15 * 60_000 })
        const points = overview.services.find((s) => s.service === SERVICE)?.series ?? []
        const last = points.filter((p) => !p.noData).at(-1)
        return last?.errorRate === null || last === undefined ? Infinity : Math.abs(shown - last.errorRate * 100)
      },
      { timeout: 15_000 },
    )
    .toBeLessThanOrEqual(2)
  test.info().annotations.push({ type: 'figures', description: `strip named the breaker ${namedAfterMs} ms after it opened; tile red ${redAfterMs} ms after` })
  console.log(`incident strip: named ${namedAfterMs} ms after opening; error-rate tile red ${redAfterMs} ms after`)
})
