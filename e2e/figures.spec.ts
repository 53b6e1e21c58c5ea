/**
 * Issue #10, in the browser: every panel shows the API's one definition of each figure, so panels that describe the
 * same service, route and window agree. The demo data moves every second, so the checks pause the dashboard: a paused
 * view freezes every window at one moment (the start of a settled 10 s bucket), which every page and panel then reads.
 * Also: p99.9 on the Overview, as an optional Endpoints column and in the drill-down chart, and "data since".
 */
import type { Locator, Page } from '@playwright/test'
import { DATA_TIMEOUT, DESKTOP, SERVICE, expect, number, query, rpsHalfStep, signedIn, test } from './helpers'

/** One Endpoints row as the screen shows it (cell texts by column id). */
interface ShownRow {
  method: string
  route: string
  throughputRps: string
  errorRate: string
  requests: string
  p99Ms: string
  p999Ms?: string
}

/** Half the last displayed digit of `formatPercent` (2 decimals below 1 %, else 1). */
function pctHalfStep(shown: number): number {
  return shown < 1 ? 0.005 : 0.05
}

/** Waits until the demo fleet has reported for at least `ageMs`, so a paused window holds closed buckets with data. */
async function fleetRunningFor(page: Page, ageMs: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const o = await query<{ services: { service: string; dataSinceMs: number | null }[] }>(page, 'overview.get', { windowMs: 900_000 })
        const since = o.services.find((s) => s.service === SERVICE)?.dataSinceMs ?? null
        return since !== null && since <= Date.now() - ageMs
      },
      { timeout: DATA_TIMEOUT + ageMs, intervals: [1_000] },
    )
    .toBe(true)
}

/** Bucket width (ms) of a tier by name, as shared/timeBuckets.ts names them. */
const TIER_MS: Record<string, number> = { '10s': 10_000, '1m': 60_000, '1h': 3_600_000 }

/**
 * Waits until the last bucket of the window `[untilMs − windowMs, untilMs]` has stopped changing. A paused window
 * ends at the start of a settled 10 s bucket, but a window read from a coarser tier (1 h paused is read from the
 * 1 min tier: the 10 s tier no longer reaches back to its start) ends inside a bucket that keeps filling until it
 * closes, is rolled up and written (its end + about 20 s, docs/METRICS.md "Freshness").
 */
async function lastBucketSettled(page: Page, windowMs: number, untilMs: number): Promise<void> {
  const { tier } = await query<{ tier: string }>(page, 'endpoints.list', { service: SERVICE, windowMs, untilMs, limit: 1 })
  const bucketMs = TIER_MS[tier] ?? 10_000
  const settledAt = Math.floor((untilMs - 1) / bucketMs) * bucketMs + bucketMs + 30_000
  const wait = settledAt - Date.now()
  expect(wait, `tier ${tier}: a settle wait this long would not fit the test`).toBeLessThan(120_000)
  if (wait > 0) await page.waitForTimeout(wait)
}

/** Pauses with the header's toggle; returns the moment every window now ends at (ISO, as the page shows it). */
async function pause(page: Page, note: Locator): Promise<string> {
  await page.getByRole('button', { name: 'Live', exact: true }).click()
  await expect(page.getByRole('button', { name: 'Paused', exact: true })).toHaveAttribute('aria-pressed', 'false')
  const until = note.getByTestId('window-until')
  await expect(until).toHaveText(/^\d{2}:\d{2}:\d{2}$/)
  return (await until.getAttribute('datetime')) ?? ''
}

/** Goes to a page through the Pages navigation (a client-side step: the pause moment stays). */
async function navTo(page: Page, name: 'Overview' | 'Endpoints'): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible()
}

/** The Overview's throughput and error-rate tiles once they show the window ending at `untilIso`. */
async function overviewTiles(page: Page, untilIso: string): Promise<{ throughput: string; errorRate: string }> {
  const section = page.getByTestId(`service-${SERVICE}`)
  await expect(section.getByTestId('window-until')).toHaveAttribute('datetime', untilIso)
  await expect(section).not.toHaveAttribute('aria-busy')
  const tile = page.getByTestId(`throughput-${SERVICE}`)
  await expect.poll(async () => number(await tile.textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  return { throughput: (await tile.textContent()) ?? '', errorRate: (await page.getByTestId(`error-rate-${SERVICE}`).textContent()) ?? '' }
}

/** Every Endpoints row once the table shows the window ending at `untilIso` (all mounted: the demo has few routes). */
async function endpointRows(page: Page, untilIso: string): Promise<ShownRow[]> {
  await expect(page.getByTestId('endpoints-window').getByTestId('window-until')).toHaveAttribute('datetime', untilIso)
  const grid = page.getByTestId('endpoints-table')
  await expect(grid).not.toHaveAttribute('aria-busy')
  const rows = grid.getByTestId('endpoint-row')
  await expect.poll(() => rows.count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  expect(Number(await grid.getAttribute('aria-rowcount')), 'every route is mounted').toBe((await rows.count()) + 1)
  return grid.evaluate((el) =>
    [...el.querySelectorAll('[data-testid="endpoint-row"]')].map(
      (r) => Object.fromEntries([...r.querySelectorAll('[data-col]')].map((c) => [c.getAttribute('data-col'), (c.textContent ?? '').trim()])) as unknown as ShownRow,
    ),
  )
}

test.describe('figures', () => {
  test('cross-page agreement: at one paused moment the Overview is the sum of the Endpoints rows, and every row equals its drill-down', async ({ page }) => {
    test.setTimeout(300_000)
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/?service=${SERVICE}`)
    await fleetRunningFor(page, 40_000)
    const untilIso = await pause(page, page.getByTestId(`service-${SERVICE}`))

    for (const [range, windowMs] of [['15m', 900_000], ['1h', 3_600_000]] as const) {
      await test.step(`range ${range}`, async () => {
        await lastBucketSettled(page, windowMs, Date.parse(untilIso))
        if (range !== '15m') await page.getByRole('combobox', { name: 'Time range' }).selectOption(range)
        const tiles = await overviewTiles(page, untilIso)

        await navTo(page, 'Endpoints')
        const rows = await endpointRows(page, untilIso)
        const withRequests = rows.filter((r) => number(r.requests) > 0)
        expect(withRequests.length, 'routes with requests').toBeGreaterThan(0)

        // Throughput: every route divides by the service's covered span, so the rows add up to the tile (each figure
        // rounded for display, and by the API to 4 significant digits).
        const shownTotal = number(tiles.throughput)
        const rowRps = rows.map((r) => number(r.throughputRps)).filter((x) => !Number.isNaN(x))
        const sum = rowRps.reduce((a, b) => a + b, 0)
        const rpsSlack = rpsHalfStep(shownTotal) + rowRps.reduce((a, x) => a + rpsHalfStep(x), 0) + 5e-4 * (shownTotal + sum) + 1e-9
        expect(Math.abs(sum - shownTotal), `Σ rows ${sum.toFixed(3)} req/s vs Overview ${tiles.throughput} (± ${rpsSlack.toFixed(3)})`).toBeLessThanOrEqual(rpsSlack)

        // Error rate: the service's is the rows' request-weighted mean, within the rows' and the tile's display rounding.
        const requests = withRequests.reduce((a, r) => a + number(r.requests), 0)
        const weighted = withRequests.reduce((a, r) => a + number(r.errorRate) * number(r.requests), 0) / requests
        const worstRowStep = Math.max(...withRequests.map((r) => pctHalfStep(number(r.errorRate))))
        const pctSlack = pctHalfStep(number(tiles.errorRate)) + worstRowStep + 1e-9
        expect(Math.abs(weighted - number(tiles.errorRate)), `weighted rows ${weighted.toFixed(3)} % vs Overview ${tiles.errorRate} %`).toBeLessThanOrEqual(pctSlack)

        // Each row against its own drill-down: same window, same definitions — equal as displayed, requests exactly.
        const drill = page.getByTestId('route-drilldown')
        const gridRows = page.getByTestId('endpoints-table').getByTestId('endpoint-row')
        for (const [i, row] of rows.entries()) {
          await gridRows.nth(i).click()
          await expect(drill.getByRole('heading', { level: 2 })).toHaveText(`${row.method} ${row.route}`)
          await expect(drill.getByTestId('drill-requests')).toBeVisible({ timeout: DATA_TIMEOUT })
          const shown = {
            throughputRps: await drill.getByTestId('drill-throughput').textContent(),
            errorRate: await drill.getByTestId('drill-error-rate').textContent(),
            requests: await drill.getByTestId('drill-requests').textContent(),
          }
          expect(shown, `${row.method} ${row.route} (${range}): drill-down header vs table row`).toEqual({
            throughputRps: row.throughputRps,
            errorRate: row.errorRate,
            requests: row.requests,
          })
        }
        await drill.getByRole('button', { name: 'Close' }).click()
        await navTo(page, 'Overview')
      })
    }
  })

  test('p99.9: an Overview tile, an optional Endpoints column (sortable, remembered) and a line in the drill-down chart', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/?service=${SERVICE}&live=0`)
    const section = page.getByTestId(`service-${SERVICE}`)
    await expect(section.getByTestId('window-until')).toBeVisible()
    await expect(section).not.toHaveAttribute('aria-busy')
    await expect.poll(async () => number(await page.getByTestId(`p999-${SERVICE}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    // Paused, the tiles hold still: p99.9 is at least p99 (same histogram, higher rank).
    expect(number(await page.getByTestId(`p999-${SERVICE}`).textContent())).toBeGreaterThanOrEqual(number(await page.getByTestId(`p99-${SERVICE}`).textContent()))

    await page.goto(`/endpoints?service=${SERVICE}&live=0`)
    const grid = page.getByTestId('endpoints-table')
    const header = grid.getByRole('columnheader', { name: 'p99.9 ms' })
    const toggle = page.getByRole('checkbox', { name: 'Show p99.9' })
    await expect.poll(() => grid.getByTestId('endpoint-row').count(), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
    await expect(toggle).not.toBeChecked()
    await expect(header).toHaveCount(0)

    await toggle.check()
    await expect(header).toBeVisible()
    await header.getByRole('button').click()
    await expect(page).toHaveURL(/sort=p999Ms/)
    await expect(header).toHaveAttribute('aria-sort', 'descending')
    await expect(grid).not.toHaveAttribute('aria-busy')
    const rows = await endpointRows(page, (await page.getByTestId('endpoints-window').getByTestId('window-until').getAttribute('datetime')) ?? '')
    const p999 = rows.map((r) => (Number.isNaN(number(r.p999Ms ?? '')) ? -1 : number(r.p999Ms ?? '')))
    expect(p999.every((x, i) => i === 0 || (p999[i - 1] as number) >= x), `sorted high → low: ${p999.join(', ')}`).toBe(true)
    for (const r of rows.filter((x) => !Number.isNaN(number(x.p999Ms ?? '')))) expect(number(r.p999Ms ?? '')).toBeGreaterThanOrEqual(number(r.p99Ms))

    // Remembered across a reload (a preference, not URL state).
    await page.reload()
    await expect(toggle).toBeChecked({ timeout: 30_000 })
    await expect(header).toBeVisible()

    // The drill-down's latency chart has a p99.9 line.
    await grid.getByTestId('endpoint-row').first().click()
    await expect(page.getByTestId('latency-chart-route')).toContainText('p99.9', { timeout: DATA_TIMEOUT })

    // Hiding the sorted column puts the default order back.
    await toggle.uncheck()
    await expect(header).toHaveCount(0)
    await expect(page).not.toHaveURL(/sort=p999Ms/)
    await expect(grid.getByRole('columnheader', { name: 'req/s' })).toHaveAttribute('aria-sort', 'descending')
  })

  test('every range shows the service alive, and a window that starts before the first data says "data since", as the API reports it', async ({ page }) => {
    test.setTimeout(180_000)
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/?service=${SERVICE}`)
    await fleetRunningFor(page, 40_000)
    const section = page.getByTestId(`service-${SERVICE}`)
    const untilIso = await pause(page, section)
    const untilMs = Date.parse(untilIso)
    const ranges = [['15m', 900_000], ['1h', 3_600_000], ['6h', 6 * 3_600_000], ['24h', 24 * 3_600_000], ['7d', 7 * 24 * 3_600_000], ['30d', 30 * 24 * 3_600_000]] as const
    for (const [range, windowMs] of ranges) {
      await test.step(`range ${range}`, async () => {
        await page.getByRole('combobox', { name: 'Time range' }).selectOption(range)
        // Non-zero at every range: the service totals exist in every tier.
        await overviewTiles(page, untilIso)
        const api = await query<{ bucketMs: number; total: { dataSinceMs: number | null } }>(page, 'series.get', { service: SERVICE, windowMs, untilMs })
        const since = section.getByTestId('data-since')
        const dataSinceMs = api.total.dataSinceMs
        if (dataSinceMs !== null && dataSinceMs - (untilMs - windowMs) > api.bucketMs) {
          await expect(since).toHaveText(windowMs >= 86_400_000 ? /^data since \d{2}-\d{2} \d{2}:\d{2}$/ : /^data since \d{2}:\d{2}$/)
          await expect(since.locator('time')).toHaveAttribute('datetime', new Date(dataSinceMs).toISOString())
        } else {
          await expect(since).toHaveCount(0)
        }
      })
    }
    // The e2e fleet is minutes old: the last 30 days certainly start before its first data.
    await expect(section.getByTestId('data-since')).toBeVisible()
  })
})
