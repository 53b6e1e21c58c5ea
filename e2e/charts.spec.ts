/**
 * Issue #15, acceptance "Chart axes: every tick a 1-2-5 multiple; the three Overview charts share tick times", read
 * from what recharts rendered in Chromium (not from chartTicks.ts): each of the Overview's throughput, error-rate and
 * latency charts has value ticks 0, s, 2s, 3s, … with s = 1, 2 or 5 × 10^k (so never 6.5 / 13 / 19.5), as their labels
 * read once the units of client/src/format.ts are parsed; and the three charts show the same time tick labels at the
 * same x positions. On the storefront at every range the "Time range" select offers where its charts have data (the
 * fleet is minutes old: 15 min, 1 h and 6 h always, the 1 h tier once the hour's bucket is charted); and on a service
 * of the spec's own with days of history (a real collector on a driven clock) at 24 h, 7 d and 30 d, and at 6 h where
 * it is quiet (≈ 0.017 req/s: ticks finer than the labels' precision would read 0.00, 0.01, 0.01, 0.01, 0.02).
 */
import type { Page } from '@playwright/test'
import { DESKTOP, PAGES, SERVICE, expect, openPage, signedIn, test } from './helpers'
import { removeService, startClockedCollector } from './seededService'

/** The three series charts of the Overview: `<kind>-chart-<service>` (client/src/components/charts/SeriesCharts.tsx). */
const CHART_KINDS = ['throughput', 'error', 'latency'] as const

/** The spec's own service with days of history (sorts after the demo fleet's; removed afterwards). */
const SEEDED = 'zz-chartcheck'
const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Its loud history beyond the last 6 h: [how long ago, requests, errors] — one 10 s flush each, so a step's bucket
 * reads requests ÷ 10 s (6–41 req/s). */
const HISTORY: [number, number, number][] = [
  [29 * DAY, 60, 3],
  [6 * DAY, 240, 30],
  [30 * HOUR, 35, 1],
  [20 * HOUR, 130, 9],
  [10 * HOUR, 75, 20],
  [7 * HOUR, 410, 2],
]
/** Then quiet minutes in the last 6 h: [how long ago, requests], each minute flushed in all six of its 10 s parts, so
 * its 1 min bucket reads requests ÷ 60 s (1/60 req/s: a 1-2-5 step below the throughput labels' 0.01). */
const QUIET: [number, number][] = [
  [5 * HOUR, 1],
  [3 * HOUR, 1],
  [2 * HOUR, 1],
]

/** Units of the axis labels (client/src/format.ts, SeriesCharts.tsx) and their factor to one base unit each. */
const UNIT_FACTOR: Record<string, number> = { '': 1, 'req/s': 1, '%': 1, ms: 1, s: 1000 }

/** A value axis label → its number in the label's base unit ("1,000 ms" → 1000, "1.5 s" → 1500, "5.0%" → 5); NaN if unparseable. */
function axisValue(label: string): number {
  const m = /^(-?[\d,]*\.?\d+)\s*(req\/s|ms|s|%)?$/.exec(label.trim())
  if (!m) return Number.NaN
  return Number((m[1] ?? '').replace(/,/g, '')) * (UNIT_FACTOR[m[2] ?? ''] ?? Number.NaN)
}

/** Whether `step` is 1, 2 or 5 × 10^k. */
function isOneTwoFive(step: number): boolean {
  if (!(step > 0) || !Number.isFinite(step)) return false
  const mantissa = step / 10 ** Math.floor(Math.log10(step))
  return [1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6 * m)
}

/**
 * Why value tick labels are not 0, s, 2s, … with s a 1-2-5 step (`''` when they are): at least two ticks, each label
 * parseable, and the i-th tick equal to i × s to the labels' own precision.
 */
function oneTwoFiveProblem(labels: string[]): string {
  const values = labels.map(axisValue)
  if (values.length < 2) return `fewer than two value ticks: ${JSON.stringify(labels)}`
  if (values.some((v) => Number.isNaN(v))) return `unparseable value tick: ${JSON.stringify(labels)}`
  if (values[0] !== 0) return `the value axis does not start at 0: ${JSON.stringify(labels)}`
  const step = values[1] as number
  if (!isOneTwoFive(step)) return `step ${step} is not 1, 2 or 5 × 10^k: ${JSON.stringify(labels)}`
  const off = values.findIndex((v, i) => Math.abs(v - i * step) > 1e-9 * Math.max(1, i * step))
  return off === -1 ? '' : `tick ${off} (${labels[off]}) is not ${off} × ${step}: ${JSON.stringify(labels)}`
}

interface AxisRead {
  /** Per chart (CHARTS order): value tick labels bottom to top, time tick labels left to right with their x (px). */
  charts: { id: string; yLabels: string[]; xLabels: string[]; xPositions: number[] }[]
}

/** Reads the rendered axes of the three charts in one task (one consistent DOM, whatever renders next). */
function readAxes(page: Page, ids: string[]): Promise<AxisRead> {
  return page.evaluate((ids) => {
    const ticks = (root: Element | null, axis: string) =>
      [...(root?.querySelectorAll(`.recharts-${axis}-tick-labels .recharts-cartesian-axis-tick-value`) ?? [])].map((t) => ({
        text: (t.textContent ?? '').trim(),
        x: Number(t.getAttribute('x')),
        y: Number(t.getAttribute('y')),
      }))
    return {
      charts: ids.map((id) => {
        const root = document.querySelector(`[data-testid="${id}"]`)
        const y = ticks(root, 'yAxis').sort((a, b) => b.y - a.y)
        const x = ticks(root, 'xAxis').sort((a, b) => a.x - b.x)
        return { id, yLabels: y.map((t) => t.text), xLabels: x.map((t) => t.text), xPositions: x.map((t) => t.x) }
      }),
    }
  }, ids)
}

/** Why the three charts' time axes differ (`''` when they show the same ≥ 2 tick labels at the same x, ±1 px). */
function sharedTimeTicksProblem(read: AxisRead): string {
  const [first, ...rest] = read.charts
  if (!first || first.xLabels.length < 2) return `fewer than two time ticks on ${first?.id}: ${JSON.stringify(first?.xLabels)}`
  for (const c of rest) {
    if (JSON.stringify(c.xLabels) !== JSON.stringify(first.xLabels)) return `time ticks of ${c.id} ${JSON.stringify(c.xLabels)} ≠ ${first.id} ${JSON.stringify(first.xLabels)}`
    const moved = c.xPositions.findIndex((x, i) => Math.abs(x - (first.xPositions[i] ?? Number.NaN)) > 1)
    if (moved !== -1) return `time tick ${c.xLabels[moved]} of ${c.id} at x=${c.xPositions[moved]}, of ${first.id} at x=${first.xPositions[moved]}`
  }
  return ''
}

/**
 * Checks the three charts of `service`'s Overview (open already) at each of `ranges`, picked with the "Time range"
 * select. A range in `optional` whose charts show no data (the e2e fleet is minutes old: a young open 1 h bucket is not
 * charted, server/app/reads/windowRead.ts) is noted and skipped; any other must draw its axes.
 */
async function checkAxes(page: Page, service: string, ranges: string[], optional: string[] = []): Promise<string[]> {
  const charts = CHART_KINDS.map((k) => `${k}-chart-${service}`)
  const select = page.getByRole('combobox', { name: 'Time range' })
  const checked: string[] = []
  for (const range of ranges) {
    await test.step(`${service}, range ${range}`, async () => {
      if ((await select.inputValue()) !== range) await select.selectOption(range)
      await expect(page).toHaveURL(range === '15m' ? /^(?!.*range=)/ : new RegExp(`range=${range}(&|$)`))
      // The range's own figures are on screen (not the previous range's while its read is in flight).
      await expect(page.getByTestId(`service-${service}`)).not.toHaveAttribute('aria-busy')
      if (optional.includes(range) && (await page.getByTestId(charts[0] as string).locator('.recharts-yAxis').count()) === 0) return
      for (const id of charts) await expect(page.getByTestId(id).locator('.recharts-yAxis'), `${id} has axes (${range})`).toBeVisible()
      // Live: a new point can re-render the charts between reads; the axes must agree in one consistent read.
      let last: AxisRead | null = null
      await expect
        .poll(async () => {
          last = await readAxes(page, charts)
          return sharedTimeTicksProblem(last)
        }, { message: `the three charts share their time ticks (${service}, ${range})`, timeout: 15_000 })
        .toBe('')
      for (const c of (last as AxisRead | null)?.charts ?? []) {
        expect(oneTwoFiveProblem(c.yLabels), `${c.id} value ticks (${range})`).toBe('')
      }
      checked.push(range)
    })
  }
  return checked
}

test.describe('chart axes', () => {
  test.afterAll(() => removeService(SEEDED))

  test('storefront Overview at every range with data: value ticks 0, s, 2s, … with s a 1-2-5 step; the three charts share their time ticks', async ({ page }) => {
    const overview = PAGES.find((p) => p.slug === 'overview')
    if (!overview) throw new Error('PAGES has no overview')
    await page.setViewportSize(DESKTOP)
    await signedIn(page)
    await openPage(page, overview)
    // The preset ranges ("15m" … "30d"), not "Custom range…" nor an absolute range's own entry.
    const options = await page.getByRole('combobox', { name: 'Time range' }).locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    const ranges = options.filter((v) => /^\d+[mhd]$/.test(v))
    expect(ranges, 'the ranges the UI offers').toEqual(expect.arrayContaining(['15m', '1h', '6h', '24h']))
    const checked = await checkAxes(page, SERVICE, ranges, ranges.filter((r) => !['15m', '1h', '6h'].includes(r)))
    test.info().annotations.push({ type: 'ranges checked', description: checked.join(', ') })
  })

  test('a service with days of history, quiet in the last 6 h, at 6 h (≈ 0.017 req/s) and at 24 h, 7 d and 30 d (the 1 h tier): the same axes', async ({ page }) => {
    // Requests "at" past times through a real collector on a clock the spec moves (e2e/seededService.ts), sizes
    // varied so the axes' tops differ from range to range; then it runs on to now and closes.
    const now = Date.now()
    const c = await startClockedCollector(SEEDED, now - 29 * DAY)
    try {
      for (const [agoMs, requests, errors] of HISTORY) await c.stepAt(now - agoMs, requests, errors)
      for (const [agoMs, requests] of QUIET) {
        const minute = Math.floor((now - agoMs) / 60_000) * 60_000
        for (let part = 0; part < 6; part++) await c.stepAt(minute + part * 10_000 + 5_000, part === 0 ? requests : 0)
      }
      c.followRealTime()
    } finally {
      await c.close()
    }
    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/?service=${SEEDED}&range=6h`)
    await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
    expect(await checkAxes(page, SEEDED, ['6h', '24h', '7d', '30d'])).toEqual(['6h', '24h', '7d', '30d'])
  })
})
