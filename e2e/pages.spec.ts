/**
 * Issue #5: every page renders real data from the demo fleet; each page is saved as a screenshot at 1280×800 and
 * 390×844 (`<page>-<w>x<h>.png` in SHOTS; the tracked ones in docs/screenshots are shown in the README). The tables: sticky headers,
 * sorting, filtering and keyboard navigation (the Endpoints grid, the request log, the small tables).
 */
import { readFileSync } from 'node:fs'
import type { Locator, Page } from '@playwright/test'
import Papa from 'papaparse'
import { DATA_TIMEOUT, DESKTOP, INSTANCES, PAGES, PHONE, SERVICE, expect, number, openPage, query, signedIn, test } from './helpers'

/**
 * Where the screenshots go: `test-results/screenshots` (git-ignored), so `npm test` leaves the clone as it was;
 * `FUSEBOX_UPDATE_SCREENSHOTS=1 npm test` refreshes the tracked ones in docs/screenshots (shown in the README).
 */
const SHOTS = process.env.FUSEBOX_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots'

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
      await noWiderThanViewport(page, `${p.path} at 1280×800`)

      await page.setViewportSize(PHONE)
      await expect(page.getByRole('heading', { level: 1, name: p.heading, exact: true })).toBeVisible()
      await p.ready(page)
      await page.waitForTimeout(800)
      await page.screenshot({ path: `${SHOTS}/${p.slug}-${PHONE.width}x${PHONE.height}.png` })
      await noWiderThanViewport(page, `${p.path} at 390×844`)
    })
  }

  test('the pages PAGES leaves out are no wider than the viewport at 390×844 or 1280×800 either (issue #15)', async ({ page }) => {
    const paths = [
      `/endpoints?service=${SERVICE}&route=${encodeURIComponent('POST /checkout')}`,
      `/queues?service=${SERVICE}`,
      `/alerts?service=${SERVICE}`,
      '/no-such-page',
    ]
    await signedIn(page)
    for (const size of [PHONE, DESKTOP]) {
      await page.setViewportSize(size)
      for (const path of paths) {
        await page.goto(path)
        await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1, { timeout: 30_000 })
        await page.waitForTimeout(500)
        await noWiderThanViewport(page, `${path} at ${size.width}×${size.height}`)
      }
    }
  })

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

/** Issue #15: the document is never wider than the viewport (no sideways page scroll; wide tables scroll inside). */
async function noWiderThanViewport(page: Page, what: string): Promise<void> {
  const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
  expect(scrollWidth, `${what}: document width`).toBeLessThanOrEqual(width as number)
}

/** The numbers in column `col` (1-based) of the grid's mounted rows; a missing value ("—") counts as -1, as the server sorts it. */
async function column(rows: Locator, col: number): Promise<number[]> {
  const texts = await rows.locator(`[role="gridcell"]:nth-child(${col})`).allTextContents()
  return texts.map((t) => (Number.isNaN(number(t)) ? -1 : number(t)))
}

function sorted(xs: number[], dir: 'asc' | 'desc'): boolean {
  return xs.every((x, i) => i === 0 || (dir === 'asc' ? (xs[i - 1] as number) <= x : (xs[i - 1] as number) >= x))
}

test.describe('tables', () => {
  test('Endpoints: "Download CSV" saves exactly the rows the table shows, in its order (issue #15)', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/endpoints?service=${SERVICE}`)
    const grid = page.getByTestId('endpoints-table')
    const rows = grid.getByTestId('endpoint-row')
    await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThanOrEqual(3)
    // Paused, the figures hold still between reading the grid and the file. A pause ends the window at a settled
    // 10 s bucket (client/src/timeWindow.ts): on a fleet younger than that, the paused window would be empty.
    await expect
      .poll(async () => (await query<{ rows: unknown[] }>(page, 'endpoints.list', { service: SERVICE, windowMs: 900_000, untilMs: Date.now() - 25_000 })).rows.length, { timeout: DATA_TIMEOUT })
      .toBeGreaterThanOrEqual(3)
    await page.getByRole('button', { name: 'Live', exact: true }).click()
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'paused')
    await expect(grid).not.toHaveAttribute('aria-busy', 'true')
    await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThanOrEqual(3)
    // The sorted column's ▲/▼ is decoration beside its name.
    const headers = (await grid.getByRole('columnheader').allTextContents()).map((h) => h.replace(/\s*[▲▼]$/u, '').trim())
    const shown = await rows.evaluateAll((els) => els.map((r) => [...r.querySelectorAll('[role="gridcell"]')].map((c) => (c.textContent ?? '').trim())))
    expect(Number(await grid.getAttribute('aria-rowcount')) - 1, 'every row is mounted (a short table)').toBe(shown.length)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('endpoints-csv').click()])
    expect(download.suggestedFilename()).toMatch(/^endpoints-storefront-15m-.*\.csv$/)
    const text = readFileSync(await download.path(), 'utf8')
    const lines = Papa.parse<string[]>(text.trim()).data
    expect(lines[0]).toEqual(headers)
    expect(lines.slice(1)).toEqual(shown)
  })

  test('Endpoints: every route in one grid; header sorts, the filter narrows, the keyboard drills down, the URL keeps it', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/endpoints?service=${SERVICE}`)
    const grid = page.getByTestId('endpoints-table')
    await expect(grid).toHaveAttribute('role', 'grid')
    const rows = grid.getByTestId('endpoint-row')
    await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThanOrEqual(3)
    // No pager any more: every route is in the grid, and aria-rowcount counts the header row too.
    await expect(page.getByRole('button', { name: 'Next' })).toHaveCount(0)
    const n = await rows.count()
    await expect(grid).toHaveAttribute('aria-rowcount', String(n + 1))
    await expect(grid.getByRole('row').first()).toHaveAttribute('aria-rowindex', '1')
    await expect(rows.first()).toHaveAttribute('aria-rowindex', '2')
    await expect(grid.getByRole('columnheader', { name: 'req/s' })).toHaveAttribute('aria-sort', 'descending')

    // Sorting: a header click sorts high → low, a second click low → high; the URL keeps it.
    const p95 = grid.getByRole('columnheader', { name: 'p95 ms' })
    await p95.getByRole('button').click()
    await expect(page).toHaveURL(/sort=p95Ms/)
    await expect(p95).toHaveAttribute('aria-sort', 'descending')
    await expect(grid.getByRole('columnheader', { name: 'req/s' })).toHaveAttribute('aria-sort', 'none')
    await expect.poll(async () => sorted(await column(rows, 6), 'desc')).toBe(true)
    await p95.getByRole('button').click()
    await expect(page).toHaveURL(/dir=asc/)
    await expect(p95).toHaveAttribute('aria-sort', 'ascending')
    await expect.poll(async () => sorted(await column(rows, 6), 'asc')).toBe(true)

    // Route A→Z (stable under live updates), then the keyboard: Home, ArrowDown, Enter opens that route.
    await grid.getByRole('columnheader', { name: 'Route' }).getByRole('button').click()
    await expect(grid.getByRole('columnheader', { name: 'Route' })).toHaveAttribute('aria-sort', 'ascending')
    const routes = async () => rows.locator('[role="gridcell"]:nth-child(2)').allTextContents()
    await expect.poll(async () => {
      const r = await routes()
      return r.every((x, i) => i === 0 || (r[i - 1] as string).localeCompare(x) <= 0)
    }).toBe(true)
    await grid.focus()
    await page.keyboard.press('End')
    await expect(rows.last()).toHaveAttribute('aria-selected', 'true')
    await page.keyboard.press('Home')
    await page.keyboard.press('ArrowDown')
    const second = rows.nth(1)
    await expect(second).toHaveAttribute('aria-selected', 'true')
    const method = (await second.locator('[role="gridcell"]').nth(0).textContent()) ?? ''
    const route = (await second.locator('[role="gridcell"]').nth(1).textContent()) ?? ''
    await page.keyboard.press('Enter')
    const drill = page.getByTestId('route-drilldown')
    await expect(drill.getByRole('heading', { level: 2 })).toHaveText(`${method} ${route}`)
    expect(new URL(page.url()).searchParams.get('route')).toBe(`${method} ${route}`)
    await expect(second).toHaveAttribute('aria-current', 'true')

    // A click drills down too.
    const third = rows.nth(2)
    const thirdName = `${await third.locator('[role="gridcell"]').nth(0).textContent()} ${await third.locator('[role="gridcell"]').nth(1).textContent()}`
    await third.click()
    await expect(drill.getByRole('heading', { level: 2 })).toHaveText(thirdName)

    // The filter narrows the routes (server-side, debounced into the URL); no match shows the empty state.
    const filter = page.getByRole('searchbox', { name: 'Filter routes' })
    await filter.fill('/products')
    await expect(page).toHaveURL(/filter=%2Fproducts/)
    await expect.poll(async () => (await routes()).length > 0 && (await routes()).every((r) => r.includes('/products'))).toBe(true)
    await expect.poll(async () => Number(await grid.getAttribute('aria-rowcount')) === (await rows.count()) + 1).toBe(true)

    // Reload: sort, filter and the drilled-down route come back from the URL.
    await page.reload()
    await expect(grid.getByRole('columnheader', { name: 'Route' })).toHaveAttribute('aria-sort', 'ascending', { timeout: 30_000 })
    await expect(filter).toHaveValue('/products')
    await expect(drill.getByRole('heading', { level: 2 })).toHaveText(thirdName)

    await filter.fill('no-such-route-zzz')
    await expect(grid).toContainText('No route matches “no-such-route-zzz”.')
    await expect(grid).toHaveAttribute('aria-rowcount', '1')
  })

  test('Requests: header row 1 stays in view while the keyboard pages through the log to its last row', async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 500 })
    await signedIn(page, `/requests?service=${SERVICE}`)
    const grid = page.getByTestId('requests-grid')
    const header = grid.getByRole('row').first()
    await expect(header).toHaveAttribute('aria-rowindex', '1')
    await expect(grid.getByTestId('request-row').first()).toHaveAttribute('aria-rowindex', '2', { timeout: DATA_TIMEOUT })
    // Enough rows that the grid scrolls (the demo logs slow and failed requests continuously).
    await expect.poll(async () => Number(await grid.getAttribute('aria-rowcount')), { timeout: DATA_TIMEOUT }).toBeGreaterThan(30)
    // Paused, the log holds still: windows are anchored at the newest entry seen, so entries the demo logs meanwhile
    // neither lengthen the table nor shift its rows (the anchoring itself: sources.test.ts and router.test.ts).
    await page.getByRole('button', { name: 'Live', exact: true }).click()
    await expect(page.getByRole('button', { name: 'Paused', exact: true })).toHaveAttribute('aria-pressed', 'false')
    await page.waitForTimeout(500)
    const rowCount = Number(await grid.getAttribute('aria-rowcount'))
    await grid.focus()
    await page.keyboard.press('End')
    const selected = grid.locator('[role="row"][aria-selected="true"]')
    await expect(selected).toHaveAttribute('aria-rowindex', String(rowCount))
    await expect(selected.getByRole('gridcell').first()).not.toBeEmpty({ timeout: DATA_TIMEOUT })
    const lastRow = await selected.textContent()
    // The demo has logged more since the pause (the server's whole-log total passed the table's), yet the table holds.
    const serverTotal = async () => {
      const input = encodeURIComponent(JSON.stringify({ service: SERVICE, offset: 0, limit: 1 }))
      const res = await page.request.get(`/trpc/requests.window?input=${input}`)
      return ((await res.json()) as { result: { data: { total: number } } }).result.data.total
    }
    await expect.poll(serverTotal, { timeout: DATA_TIMEOUT }).toBeGreaterThan(rowCount - 1)
    await page.waitForTimeout(500)
    await expect(grid).toHaveAttribute('aria-rowcount', String(rowCount))
    expect(await selected.textContent()).toBe(lastRow)
    const indexes = await grid.evaluate((el) =>
      [...el.querySelectorAll('[data-testid="request-row"]')].map((r) => Number(r.getAttribute('aria-rowindex'))),
    )
    expect(Math.max(...indexes)).toBe(rowCount)
    await expect(selected).toHaveCount(1)
    await expect.poll(() => grid.evaluate((el) => el.scrollTop)).toBeGreaterThan(0)
    // Only a window of rows is mounted, and the header is still at the top of the scrolled grid.
    expect(indexes.length).toBeLessThanOrEqual(60)
    const [g, h] = [await grid.boundingBox(), await header.boundingBox()]
    expect(Math.abs((h?.y ?? -100) - (g?.y ?? 0))).toBeLessThanOrEqual(2)

    await page.keyboard.press('Home')
    await expect(grid.getByTestId('request-row').first()).toHaveAttribute('aria-selected', 'true')
    await expect.poll(() => grid.evaluate((el) => el.scrollTop)).toBe(0)
  })

  test('Requests and Events: an invalid filter shows its problem instead of the previous filter\'s rows, and sends nothing (issue #15)', async ({ page }) => {
    await signedIn(page, `/requests?service=${SERVICE}`)
    const grid = page.getByTestId('requests-grid')
    await expect(grid.getByTestId('request-row').first()).toBeVisible({ timeout: DATA_TIMEOUT })
    const sent: string[] = []
    page.on('request', (r) => {
      if (r.url().includes('/trpc/requests.')) sent.push(decodeURIComponent(r.url()))
    })
    const form = page.getByRole('form', { name: 'Filter requests' })
    await form.getByLabel('Status').fill('5x5')
    await form.getByRole('button', { name: 'Apply filters' }).click()
    await expect(form.getByRole('alert')).toHaveText('Status is a code (503) or a class (5xx).')
    await expect(page.getByTestId('filter-invalid')).toContainText('No rows: the filter is not valid.')
    await expect(grid).toHaveCount(0)
    await expect(page).toHaveURL(/status=5x5/)
    await page.waitForTimeout(1500)
    expect(sent.filter((u) => u.includes('5x5'))).toEqual([])
    // Fixed, the rows come back for the new filter.
    await form.getByLabel('Status').fill('503')
    await form.getByRole('button', { name: 'Apply filters' }).click()
    await expect(page.getByTestId('filter-invalid')).toHaveCount(0)
    await expect(page.getByTestId('requests-grid')).toBeVisible()
    // Events: a type the select does not offer (a hand-edited link) is named, not sent as a 400.
    await signedIn(page, `/events?service=${SERVICE}&type=bogus`)
    await expect(page.getByTestId('filter-invalid')).toContainText('Type is one of')
  })

  test('the small tables: arrow keys move focus between rows, with the header sticky in its scroll box', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/instances?service=${SERVICE}`)
    const first = page.getByTestId(`instance-row-${INSTANCES[0]}`)
    await expect(first).toBeVisible({ timeout: DATA_TIMEOUT })
    await expect(first).toHaveAttribute('tabindex', '0')
    await expect(page.getByTestId(`instance-row-${INSTANCES[1]}`)).toHaveAttribute('tabindex', '-1')
    await first.focus()
    await page.keyboard.press('ArrowDown')
    await expect(page.getByTestId(`instance-row-${INSTANCES[1]}`)).toBeFocused()
    await page.keyboard.press('Home')
    await expect(first).toBeFocused()
    const th = page.getByTestId('instances-table').locator('thead th').first()
    expect(await th.evaluate((el) => getComputedStyle(el).position)).toBe('sticky')

    await page.goto(`/?service=${SERVICE}`)
    const payments = page.getByTestId(`breaker-${SERVICE}-payments`)
    await expect(payments).toBeVisible({ timeout: DATA_TIMEOUT })
    const breakerRows = page.getByTestId(`breakers-${SERVICE}`).locator('tbody > tr')
    await breakerRows.first().focus()
    await page.keyboard.press('End')
    await expect(breakerRows.last()).toBeFocused()
    await expect(page.getByTestId(`instance-${INSTANCES[0]}`)).toHaveAttribute('tabindex', '0')
    expect(await page.getByTestId(`breakers-${SERVICE}`).locator('thead th').first().evaluate((el) => getComputedStyle(el).position)).toBe('sticky')
  })
})

