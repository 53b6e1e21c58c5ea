/**
 * Issue #15, acceptance: "An absolute range set by dragging on a chart survives 'copy link' into a new context and
 * shows the same data." In Chromium against the real demo fleet: a drag across the Overview's throughput chart sets
 * `?from=&to=` (epoch ms, the dragged buckets whole), the view stops refreshing (an absolute range is not live), the
 * tiles show the API's figures for exactly that window; "Copy link" puts that range on the clipboard; a new browser
 * context opening the link shows the same range in the picker and the same figures and time ticks. Then the refresh
 * interval and UTC choices: a chosen interval polls instead of streaming, and UTC moves every time on screen.
 */
import type { Page } from '@playwright/test'
import type { ServiceSeriesResult } from '../client/src/api'
import { DATA_TIMEOUT, DESKTOP, expect, query, SERVICE, signedIn, test } from './helpers'

const FIGURES = ['throughput', 'error-rate', 'p50', 'p99'] as const

/** The window figures of the Overview's tiles, as shown. */
async function tileFigures(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const f of FIGURES) out[f] = (await page.getByTestId(`${f}-${SERVICE}`).textContent()) ?? ''
  return out
}

/** The x-axis tick labels of the throughput chart. */
async function xTicks(page: Page): Promise<string[]> {
  return page.getByTestId(`throughput-chart-${SERVICE}`).locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value').allTextContents()
}

test.describe('time like Grafana', () => {
  test.use({ viewport: DESKTOP })

  test('a range dragged on a chart survives "copy link" into a new context and shows the same data', async ({ page, browser, context, storageState }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'])
    await signedIn(page, `/?service=${SERVICE}`)
    const chart = page.getByTestId(`throughput-chart-${SERVICE}`)
    // Enough points to drag across: the e2e fleet has run a minute or two by the time this spec runs.
    await expect(chart.locator('.recharts-line-curve').first()).toBeVisible({ timeout: DATA_TIMEOUT })
    await expect
      .poll(async () => (await query<{ points: unknown[] }>(page, 'series.get', { service: SERVICE, windowMs: 15 * 60_000 })).points.length, { timeout: DATA_TIMEOUT })
      .toBeGreaterThanOrEqual(6)
    await page.reload()
    await expect(chart.locator('.recharts-line-curve').first()).toBeVisible({ timeout: DATA_TIMEOUT })

    // Drag across the part of the plot where the line is (the window starts before the demo fleet did).
    const plot = await chart.locator('.recharts-cartesian-grid').boundingBox()
    const line = await chart.locator('.recharts-line-curve').first().boundingBox()
    if (!plot || !line) throw new Error('the throughput chart has no plot area or no line')
    const y = plot.y + plot.height / 2
    await page.mouse.move(line.x + line.width * 0.1, y)
    await page.mouse.down()
    for (const f of [0.4, 0.7, 0.95]) await page.mouse.move(line.x + line.width * f, y, { steps: 4 })
    await page.mouse.up()

    await expect(page).toHaveURL(/[?&]from=\d+/)
    const url = new URL(page.url())
    const fromMs = Number(url.searchParams.get('from'))
    const toMs = Number(url.searchParams.get('to'))
    expect(toMs - fromMs, 'the dragged span is whole 10 s buckets').toBeGreaterThanOrEqual(20_000)
    expect((toMs - fromMs) % 10_000).toBe(0)
    expect(toMs).toBeLessThanOrEqual(Date.now())
    expect(url.searchParams.has('range')).toBe(false)
    // An absolute range is a fixed window: nothing refreshes, the indicator says so.
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'paused')
    const picker = page.getByTestId('range-picker')
    await expect(picker).toHaveValue('absolute')

    // The tiles show the API's figures of exactly this window.
    const api = await query<ServiceSeriesResult>(page, 'series.get', { service: SERVICE, windowMs: toMs - fromMs, untilMs: toMs })
    expect(api.total.requests, 'the dragged window has traffic').toBeGreaterThan(0)
    await expect(page.getByTestId(`throughput-${SERVICE}`)).toHaveText(api.total.throughputRps === null ? 'No data' : new RegExp(`^${api.total.throughputRps < 10 ? api.total.throughputRps.toFixed(2) : api.total.throughputRps.toFixed(1)}`))
    const before = await tileFigures(page)
    const ticksBefore = await xTicks(page)
    expect(ticksBefore.length).toBeGreaterThan(1)

    await page.getByTestId('copy-link').click()
    await expect(page.getByText(/^Link copied/)).toBeVisible()
    const link = await page.evaluate(() => navigator.clipboard.readText())
    const copied = new URL(link)
    expect(copied.searchParams.get('from')).toBe(String(fromMs))
    expect(copied.searchParams.get('to')).toBe(String(toMs))
    expect(copied.searchParams.get('service')).toBe(SERVICE)

    // Later, elsewhere: a new context (its own cookies and caches) opens the link.
    await page.waitForTimeout(2_000)
    const other = await browser.newContext({ storageState, viewport: DESKTOP })
    try {
      const page2 = await other.newPage()
      await signedIn(page2, copied.pathname + copied.search)
      await expect(page2.getByTestId('range-picker')).toHaveValue('absolute')
      await expect(page2.getByTestId(`throughput-chart-${SERVICE}`).locator('.recharts-line-curve').first()).toBeVisible({ timeout: DATA_TIMEOUT })
      await expect.poll(() => tileFigures(page2)).toEqual(before)
      expect(await xTicks(page2)).toEqual(ticksBefore)
      await expect(page2.getByTestId('live-indicator')).toHaveAttribute('data-state', 'paused')
    } finally {
      await other.close()
    }

    // Back to live: a preset drops the absolute range.
    await page.getByTestId('live-indicator').click()
    await expect(page).not.toHaveURL(/[?&]from=/)
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live')
  })

  test('a custom range typed in the picker, in UTC, and the refresh interval choice', async ({ page }) => {
    await signedIn(page, `/?service=${SERVICE}`)
    await expect(page.getByTestId(`throughput-chart-${SERVICE}`).locator('.recharts-line-curve').first()).toBeVisible({ timeout: DATA_TIMEOUT })
    // UTC: the zone is named and kept in the URL.
    await page.getByTestId('tz-picker').selectOption('utc')
    await expect(page).toHaveURL(/[?&]tz=utc/)

    const toMs = Math.floor((Date.now() - 60_000) / 10_000) * 10_000
    const fromMs = toMs - 3 * 60_000
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
    await page.getByTestId('range-picker').selectOption('custom')
    const form = page.getByRole('form', { name: 'Custom time range' })
    await expect(form.getByText('Times in UTC')).toBeVisible()
    await form.getByLabel('From').fill('2026-02-30 10:00:00')
    await form.getByRole('button', { name: 'Apply' }).click()
    await expect(form.getByRole('alert')).toHaveText(/YYYY-MM-DD HH:MM:SS/)
    await form.getByLabel('From').fill(utc(fromMs))
    await form.getByLabel('To').fill(utc(toMs))
    await form.getByRole('button', { name: 'Apply' }).click()
    await expect(page).toHaveURL(new RegExp(`from=${fromMs}&to=${toMs}|to=${toMs}.*from=${fromMs}`))
    await expect(page.getByTestId('range-picker').locator('option[value="absolute"]')).toHaveText(`${utc(fromMs).slice(5)} – ${utc(toMs).slice(11)}`)

    // A refresh interval goes live again (dropping the absolute range) and polls every 5 s instead of streaming.
    await page.getByTestId('refresh-picker').selectOption('5s')
    await expect(page).not.toHaveURL(/[?&]from=/)
    await expect(page).toHaveURL(/[?&]refresh=5s/)
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live')
    const gets: number[] = []
    page.on('request', (r) => {
      if (r.url().includes('/trpc/overview.get')) gets.push(Date.now())
    })
    await expect.poll(() => gets.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3)
    const gaps = gets.slice(1).map((t, i) => t - (gets[i] as number))
    for (const g of gaps) expect(g).toBeGreaterThan(3_500)
    await page.getByTestId('refresh-picker').selectOption('off')
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'paused')
  })
})
