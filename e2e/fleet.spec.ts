/**
 * Issue #15, build item 2: the fleet view, against the real demo fleet (storefront on two instances, warehouse on
 * one). `/` without `?service=` lands on it because more than one service reports; each row's current figures are the
 * API's newest 10 s bucket with data (checked paused, where the window is frozen at one settled moment, as
 * e2e/figures.spec.ts does); breakers not CLOSED and instances up agree with the API live; names link to the
 * service's Overview; headers sort the rows; at 390×844 the page is no wider than the phone.
 */
import type { Locator, Page } from '@playwright/test'
import type { OverviewSnapshot } from '../shared/schemas'
import { DATA_TIMEOUT, DEMO_SERVICES, DESKTOP, PHONE, SERVICE, WAREHOUSE, expect, number, query, rpsHalfStep, signedIn, test } from './helpers'

const WINDOW_MS = 15 * 60_000

/** Half the last digit the fleet shows of an error rate in % (`formatPercent`: 2 decimals below 1 %, else 1). */
function pctHalfStep(pct: number): number {
  return pct < 1 ? 0.005 : 0.05
}

/** Half the last digit the fleet shows of a latency in ms (`formatMs`: 1 decimal below 10 ms, else whole ms). */
function msHalfStep(ms: number): number {
  return ms < 10 ? 0.05 : 0.5
}

/** Floating-point slack on top of a half step. */
const EPS = 1e-9

/** The services in the order the table shows them. */
async function shownOrder(page: Page): Promise<string[]> {
  const ids = await page.getByTestId('fleet-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-testid') ?? ''))
  return ids.map((id) => id.replace(/^fleet-row-/, ''))
}

/** A column's shown numbers in table order; "—" (no figure) reads as -Infinity, below every number, as the table sorts it. */
async function shownNumbers(page: Page, testIdStem: string, services: string[]): Promise<number[]> {
  const values: number[] = []
  for (const s of services) {
    const n = number(await page.getByTestId(`${testIdStem}-${s}`).textContent())
    values.push(Number.isNaN(n) ? Number.NEGATIVE_INFINITY : n)
  }
  return values
}

function isSorted(xs: number[], dir: 'asc' | 'desc'): boolean {
  return xs.every((x, i) => i === 0 || (dir === 'asc' ? (xs[i - 1] as number) <= x : (xs[i - 1] as number) >= x))
}

/** Waits until every demo service's row shows a current throughput. */
async function rowsHaveData(page: Page): Promise<void> {
  for (const s of DEMO_SERVICES) {
    await expect(page.getByTestId(`fleet-row-${s}`)).toBeVisible({ timeout: DATA_TIMEOUT })
    await expect.poll(async () => number(await page.getByTestId(`fleet-throughput-${s}`).textContent()), { timeout: DATA_TIMEOUT }).toBeGreaterThan(0)
  }
}

test.describe('fleet view', () => {
  test('/ lands on the fleet view listing both demo services; Fleet is the current page in the nav', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/')
    await expect(page.getByRole('heading', { level: 1, name: 'Fleet', exact: true })).toBeVisible()
    expect(new URL(page.url()).pathname).toBe('/')
    await rowsHaveData(page)
    const nav = page.getByRole('navigation', { name: 'Pages' })
    await expect(nav.getByRole('link', { name: 'Fleet', exact: true })).toHaveAttribute('aria-current', 'page')
    await expect(nav.getByRole('link', { name: 'Overview', exact: true })).not.toHaveAttribute('aria-current', 'page')
    // The Overview entry names the selected service, so it leads to an Overview, not back here.
    await nav.getByRole('link', { name: 'Overview', exact: true }).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
    expect(new URL(page.url()).searchParams.get('service')).toBe(SERVICE)

    // With ?service= the root is that service's Overview; /fleet is the fleet whatever the params.
    await page.goto(`/?service=${WAREHOUSE}`)
    await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
    await expect(page.getByTestId(`service-${WAREHOUSE}`)).toBeVisible({ timeout: DATA_TIMEOUT })
    await page.goto(`/fleet?service=${SERVICE}`)
    await expect(page.getByRole('heading', { level: 1, name: 'Fleet', exact: true })).toBeVisible()
    await expect(nav.getByRole('link', { name: 'Fleet', exact: true })).toHaveAttribute('aria-current', 'page')
  })

  test('paused, each row shows the API\'s current throughput, error rate and p99 for the same window', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/')
    await rowsHaveData(page)
    // Paused through the URL: the window ends at a settled 10 s bucket (the pause moment) the note names.
    await page.goto('/?live=0')
    await expect(page.getByRole('heading', { level: 1, name: 'Fleet', exact: true })).toBeVisible()
    const until = page.getByTestId('fleet-note').getByTestId('window-until')
    await expect(until).toHaveAttribute('datetime', /Z$/)
    const untilMs = Date.parse((await until.getAttribute('datetime')) ?? '')
    await rowsHaveData(page)
    // The rows are those of the paused window, not a snapshot of before (shown busy until its answer is in).
    await expect(page.locator('.fleet-table')).toBeVisible()
    await expect(page.locator('.fleet-table')).not.toHaveAttribute('aria-busy', 'true')

    const api = await query<OverviewSnapshot>(page, 'overview.get', { windowMs: WINDOW_MS, untilMs })
    for (const s of DEMO_SERVICES) {
      const last = api.services.find((o) => o.service === s)?.series.filter((p) => !p.noData).at(-1)
      expect(last, `${s}: the API has a bucket with data before ${new Date(untilMs).toISOString()}`).toBeDefined()
      if (!last) continue
      const rps = number(await page.getByTestId(`fleet-throughput-${s}`).textContent())
      expect(Math.abs(rps - (last.throughputRps ?? Number.NaN)), `${s} throughput ${rps} vs API ${last.throughputRps}`).toBeLessThanOrEqual(rpsHalfStep(rps) + EPS)
      const errorPct = number(await page.getByTestId(`fleet-error-rate-${s}`).textContent())
      const apiPct = (last.errorRate ?? Number.NaN) * 100
      expect(Math.abs(errorPct - apiPct), `${s} error rate ${errorPct} % vs API ${apiPct} %`).toBeLessThanOrEqual(pctHalfStep(errorPct) + EPS)
      const p99 = number(await page.getByTestId(`fleet-p99-${s}`).textContent())
      expect(Math.abs(p99 - (last.p99Ms ?? Number.NaN)), `${s} p99 ${p99} ms vs API ${last.p99Ms} ms`).toBeLessThanOrEqual(msHalfStep(p99) + EPS)
    }
  })

  test('live, breakers not CLOSED and instances up agree with the API and link to the service\'s pages', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/')
    await rowsHaveData(page)
    for (const s of DEMO_SERVICES) {
      // Read the screen, then the API; retried while the demo's incidents move a breaker between the two reads.
      await expect
        .poll(
          async () => {
            const shownBreakers = (await page.getByTestId(`fleet-breakers-${s}`).textContent())?.trim()
            const shownUp = (await page.getByTestId(`fleet-instances-${s}`).textContent())?.split(' ')[0]
            const o = await query<OverviewSnapshot>(page, 'overview.get', { windowMs: WINDOW_MS })
            const breakers = o.breakers.filter((b) => b.service === s)
            const instances = o.services.find((x) => x.service === s)?.instances ?? []
            const apiBreakers = `${breakers.filter((b) => b.clusterState !== 'CLOSED').length} of ${breakers.length}`
            const apiUp = `${instances.filter((i) => i.up).length}/${instances.length}`
            // "screen | API", equal halves when they agree.
            return `${shownBreakers}; ${shownUp} | ${apiBreakers}; ${apiUp}`
          },
          { timeout: 20_000 },
        )
        .toMatch(/^(.*) \| \1$/)
      await expect(page.getByTestId(`fleet-breakers-${s}`)).toHaveAttribute('href', new RegExp(`/breakers\\?(.*&)?service=${s}(&|$)`))
      await expect(page.getByTestId(`fleet-link-${s}`)).toHaveAttribute('href', new RegExp(`^/\\?(.*&)?service=${s}(&|$)`))
    }
    // The breakers demo: three on the storefront, two on the warehouse.
    await expect(page.getByTestId(`fleet-breakers-${SERVICE}`)).toHaveText(/ of 3$/)
    await expect(page.getByTestId(`fleet-breakers-${WAREHOUSE}`)).toHaveText(/ of 2$/)

    // A name opens that service's Overview; the breakers count opens its Breakers page.
    await page.getByTestId(`fleet-link-${WAREHOUSE}`).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
    expect(new URL(page.url()).searchParams.get('service')).toBe(WAREHOUSE)
    await expect(page.getByTestId(`service-${WAREHOUSE}`)).toBeVisible({ timeout: DATA_TIMEOUT })
    await page.goBack()
    await expect(page.getByRole('heading', { level: 1, name: 'Fleet', exact: true })).toBeVisible()
    await page.getByTestId(`fleet-breakers-${SERVICE}`).click()
    await expect(page.getByRole('heading', { level: 1, name: 'Breakers', exact: true })).toBeVisible()
    expect(new URL(page.url()).searchParams.get('service')).toBe(SERVICE)
  })

  test('header buttons sort the rows by name and by each figure, either way, and the order is in the URL', async ({ page }) => {
    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/fleet?live=0') // paused: the figures hold still while the order is checked
    await rowsHaveData(page)
    const table = page.getByTestId('fleet-table')
    const header = (name: string): Locator => table.getByRole('columnheader', { name: new RegExp(`^${name.replace(/[()]/g, '\\$&')}`) })

    // Default: by name, A→Z.
    await expect(header('Service')).toHaveAttribute('aria-sort', 'ascending')
    const byName = await shownOrder(page)
    expect(byName).toEqual([...byName].sort())
    expect(byName).toEqual(expect.arrayContaining([...DEMO_SERVICES]))

    for (const [name, stem, sortKey] of [
      ['Throughput (req/s)', 'fleet-throughput', 'throughputRps'],
      ['Error rate (%)', 'fleet-error-rate', 'errorRate'],
      ['p99 (ms)', 'fleet-p99', 'p99Ms'],
    ] as const) {
      await header(name).getByRole('button').click()
      await expect(header(name)).toHaveAttribute('aria-sort', 'descending')
      expect(new URL(page.url()).searchParams.get('sort')).toBe(sortKey)
      let order = await shownOrder(page)
      expect(isSorted(await shownNumbers(page, stem, order), 'desc'), `${name} descending: ${order.join(', ')}`).toBe(true)
      await header(name).getByRole('button').click()
      await expect(header(name)).toHaveAttribute('aria-sort', 'ascending')
      order = await shownOrder(page)
      expect(isSorted(await shownNumbers(page, stem, order), 'asc'), `${name} ascending: ${order.join(', ')}`).toBe(true)
    }

    await header('Service').getByRole('button').click()
    await expect(header('Service')).toHaveAttribute('aria-sort', 'ascending')
    expect(await shownOrder(page)).toEqual(byName)
    await header('Service').getByRole('button').click()
    await expect(header('Service')).toHaveAttribute('aria-sort', 'descending')
    expect(await shownOrder(page)).toEqual([...byName].reverse())
    // A shared link keeps the order.
    await page.reload()
    await expect(header('Service')).toHaveAttribute('aria-sort', 'descending')
    expect(await shownOrder(page)).toEqual([...byName].reverse())
  })

  test('at 390×844 the fleet view is no wider than the phone, the names and current figures in view', async ({ page }) => {
    await page.setViewportSize(PHONE)
    await signedIn(page, '/')
    await expect(page.getByRole('heading', { level: 1, name: 'Fleet', exact: true })).toBeVisible()
    await rowsHaveData(page)
    await page.waitForTimeout(500)
    const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
    expect(scrollWidth, 'document width at 390×844').toBeLessThanOrEqual(390)
    expect(width).toBe(PHONE.width)
    // The key columns (name, throughput, error rate, p99) are within the phone's width without scrolling the table.
    for (const s of DEMO_SERVICES) {
      for (const id of [`fleet-link-${s}`, `fleet-throughput-${s}`, `fleet-error-rate-${s}`, `fleet-p99-${s}`]) {
        const box = await page.getByTestId(id).boundingBox()
        expect(box, `${id} has a box`).not.toBeNull()
        expect((box?.x ?? Infinity) + (box?.width ?? 0), `${id} right edge`).toBeLessThanOrEqual(PHONE.width)
      }
    }
  })
})
