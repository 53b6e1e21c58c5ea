/**
 * Issue #10, acceptance: "switches to 6 h, 24 h, 7 d and 30 d on a fleet that has run long enough and asserts
 * non-zero, correct totals". The e2e fleet is minutes old, so the spec makes the history itself: in this process, a
 * collector of its own service (`history`, instance `history-1`) on the stack's Redis, with the SDK's `clock` option
 * moved through the last 30 days, records a seeded, known pattern of requests — each step flushed twice as the clock
 * passes it (buckets close, roll up and fold as they do in a long-running service) — and closes at real now.
 *
 * Then, in Chromium, paused (one window end for every panel and for the API reads beside them), the range picked
 * with the "Time range" select: for each range the Overview's own read has the seeded totals and its throughput tile
 * shows that read's figure, non-zero; the API (same window) has the seeded requests and errors, the tier
 * docs/METRICS.md "Windows and tiers" names (6 h → 1 min, 24 h/7 d/30 d → 1 h), throughput = requests ÷ covered
 * seconds and a covered span and "data since" the collector's flushes account for; and the Endpoints page lists
 * exactly the routes with requests in the window, each row showing its seeded count ("1,234"), as `endpoints.list`
 * counts it (1234, errors too).
 *
 * Exact expectations: a window covers every bucket of its tier that overlaps it, so each step sits well inside or
 * well outside each range (more than a bucket, plus the time the spec takes, from its start edge; `inRange` refuses
 * anything closer), and clear of each tier's retention edge (10 s: 1 h, 1 min: 24 h, 1 h: 30 d) by 15 min or more.
 * The service's instance is taken off its instance list afterwards (`forgetInstance`), so the dashboard's default
 * service stays `storefront` for the specs that follow.
 */
import type { Page } from '@playwright/test'
import { Redis } from 'ioredis'
import { createCollector } from '../server/sdk/index'
import { createKeySpace } from '../shared/keys'
import { seededRandom } from '../shared/random'
import { DESKTOP, E2E_PREFIX, e2eRedisUrl, expect, number, query, rpsHalfStep, signedIn, test } from './helpers'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Longest the spec may take from the start of the seeding to its last read (checked); part of every margin. */
const SLACK_MS = 30 * MINUTE
/** The second half of a step's requests is recorded this much after the first (another 10 s bucket). */
const SECOND_HALF_MS = 25_000

/** The service and its routes (method, template); one only in old steps, one only in recent ones. */
const ROUTES = [
  { key: 'GET /history/orders', method: 'GET', route: '/history/orders' },
  { key: 'POST /history/orders', method: 'POST', route: '/history/orders' },
  { key: 'GET /history/orders/:id', method: 'GET', route: '/history/orders/:id' },
  { key: 'DELETE /history/archive/:id', method: 'DELETE', route: '/history/archive/:id' },
  { key: 'GET /history/live', method: 'GET', route: '/history/live' },
] as const
type RouteKey = (typeof ROUTES)[number]['key']

/**
 * When the steps happen, as time before the start of the seeding: two in the oldest week of the 30 days, one just
 * outside 7 d, two inside 7 d but outside 24 h, two inside 24 h but outside 6 h, four inside 6 h — none in the last
 * hour: a paused window's last, partial bucket is where the definitions differ (see `inRange`).
 */
const STEP_AGO_MS = [29 * DAY, 20 * DAY, 8 * DAY, 6 * DAY, 3 * DAY, 30 * HOUR, 20 * HOUR, 8 * HOUR, 5 * HOUR, 3 * HOUR, 2 * HOUR, 90 * MINUTE]

/** The ranges checked: key of the "Time range" select, its label as the pages' window note shows it, window, the
 * tier docs/METRICS.md says it reads. */
const RANGES = [
  { key: '6h', label: 'last 6 hours', windowMs: 6 * HOUR, tier: '1m', bucketMs: MINUTE },
  { key: '24h', label: 'last 24 hours', windowMs: DAY, tier: '1h', bucketMs: HOUR },
  { key: '7d', label: 'last 7 days', windowMs: 7 * DAY, tier: '1h', bucketMs: HOUR },
  { key: '30d', label: 'last 30 days', windowMs: 30 * DAY, tier: '1h', bucketMs: HOUR },
] as const
type Range = (typeof RANGES)[number]

/** What one step sends per route: requests and how many of them are errors (status 500). */
interface Step {
  agoMs: number
  sent: Map<RouteKey, { requests: number; errors: number }>
}

/** The seeded pattern: 40–160 requests per route and step, 0–10 % of them errors; the archive route only in the two
 * oldest steps, the live route only in the last 6 h. Enough that 30 d of 1 h buckets still shows ≥ 0.01 req/s. */
function pattern(random: () => number): Step[] {
  return STEP_AGO_MS.map((agoMs) => {
    const sent = new Map<RouteKey, { requests: number; errors: number }>()
    for (const r of ROUTES) {
      if (r.key === 'DELETE /history/archive/:id' && agoMs < 20 * DAY) continue
      if (r.key === 'GET /history/live' && agoMs > 5 * HOUR) continue
      const requests = 40 + Math.floor(random() * 121)
      sent.set(r.key, { requests, errors: Math.floor(random() * 0.1 * requests) })
    }
    return { agoMs, sent }
  })
}

/**
 * Whether a step `agoMs` before the seeding start counts in `range` for any window end from the seeding start to
 * SLACK_MS later: inside by SLACK_MS from the window's start, or outside by two buckets of its tier (plus the
 * step's second half and the pause moment's settle). Anything in between would make the expectation depend on timing.
 * Nor may a step fall in the bucket holding a paused window's end: docs/METRICS.md counts that partial bucket, the
 * server's windowBuckets (being changed) ends a past window at its start.
 */
function inRange(agoMs: number, range: Range): boolean {
  if (agoMs < range.bucketMs + MINUTE) throw new Error(`a step ${agoMs / MINUTE} min ago is in the last ${range.tier} bucket of ${range.key}: move it`)
  if (agoMs <= range.windowMs - SLACK_MS) return true
  if (agoMs >= range.windowMs + 2 * range.bucketMs + MINUTE) return false
  throw new Error(`a step ${agoMs / HOUR} h ago is too close to the start of ${range.key}: move it`)
}

/** What the spec sent and when its collector's clock stood anywhere (each value had flushes). */
interface Seeded {
  startMs: number
  steps: Step[]
  clockValues: number[]
}

/** Requests and errors per route that the window `range` holds, routes with no request left out. */
function expectedRows(seeded: Seeded, range: Range): Map<RouteKey, { requests: number; errors: number }> {
  const out = new Map<RouteKey, { requests: number; errors: number }>()
  for (const s of seeded.steps) {
    if (!inRange(s.agoMs, range)) continue
    for (const [k, v] of s.sent) {
      const o = out.get(k) ?? { requests: 0, errors: 0 }
      out.set(k, { requests: o.requests + v.requests, errors: o.errors + v.errors })
    }
  }
  return out
}

/**
 * Bounds on the window's covered span and first data time from what the collector did, for a paused window ending
 * at `untilMs` (in the past): a bucket has data when a flush of the collector happened in it (it writes its totals
 * for every bucket it is alive in). Upper bound: as docs/METRICS.md states it — every bucket of the tier overlapping
 * `[untilMs − windowMs, untilMs]` but one starting at its end, each with data counted whole. Lower bound: as the
 * server and SDK being changed do it — the window ends at the start of the bucket holding `untilMs`, and a coarse
 * bucket counts its 10 s sub-buckets that had a flush (coverage bitmaps). Either way an open bucket counts by its
 * elapsed part at `nowMs`.
 */
function coverageBounds(seeded: Seeded, range: Range, untilMs: number) {
  const b = range.bucketMs
  const sub = 10_000
  const first = Math.floor((untilMs - range.windowMs) / b) * b
  const lastWhole = Math.floor(untilMs / b) * b
  const starts = [...new Set(seeded.clockValues.map((v) => Math.floor(v / b) * b))].filter((t) => t >= first && t < untilMs).sort((x, y) => x - y)
  const subs = [...new Set(seeded.clockValues.map((v) => Math.floor(v / sub) * sub))]
    .filter((s) => Math.floor(s / b) * b >= first && Math.floor(s / b) * b < lastWhole)
    .sort((x, y) => x - y)
  const span = (ts: number[], width: number, nowMs: number) => ts.reduce((a, t) => a + Math.max(0, Math.min(width, nowMs - t)), 0)
  return {
    coveredAtLeast: (nowMs: number) => span(subs, sub, nowMs),
    coveredAtMost: (nowMs: number) => span(starts, b, nowMs),
    dataSinceFrom: starts[0] ?? null,
    dataSinceTo: subs[0] ?? null,
  }
}

/** Drives the pattern through a collector on the e2e stack's Redis with a moving clock; closes it at real now. */
async function seed(service: string): Promise<Seeded> {
  const random = seededRandom(10)
  const steps = pattern(random)
  const startMs = Date.now()
  let now = startMs - (steps[0] as Step).agoMs
  const clockValues = [now]
  const errors: string[] = []
  const collector = createCollector({
    redis: e2eRedisUrl(),
    prefix: E2E_PREFIX,
    service,
    instance: `${service}-1`,
    clock: () => now,
    flushIntervalMs: 100,
    onError: (e, where) => void errors.push(`${where}: ${e.message}`),
  })
  try {
    const deadline = Date.now() + 15_000
    while (collector.stats.flushes === 0) {
      if (Date.now() > deadline) throw new Error(`the collector did not connect to ${e2eRedisUrl()}: ${errors.slice(-3).join('; ')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    for (const step of steps) {
      for (const half of [0, 1]) {
        now = startMs - step.agoMs + half * SECOND_HALF_MS
        clockValues.push(now)
        for (const r of ROUTES) {
          const s = step.sent.get(r.key)
          if (!s) continue
          const firstHalf = Math.floor(s.requests / 2)
          const [from, to] = half === 0 ? [0, firstHalf] : [firstHalf, s.requests]
          for (let i = from; i < to; i++) {
            // The first `errors` requests of the route fail (in the first half, or spilling into the second).
            collector.recordRequest({ method: r.method, route: r.route, status: i < s.errors ? 500 : 200, durationMs: 2 + random() * 200 })
          }
        }
        // Twice: the first may be one already in flight (started before these requests were recorded).
        await collector.flush()
        await collector.flush()
      }
    }
  } finally {
    now = Date.now()
    clockValues.push(now)
    await collector.close()
  }
  expect(
    { droppedBuckets: collector.stats.droppedBuckets, droppedLateRequests: collector.stats.droppedLateRequests, overflowedRequests: collector.stats.overflowedRequests },
    `nothing the seeding sent was lost (errors: ${errors.join('; ') || 'none'})`,
  ).toEqual({ droppedBuckets: 0, droppedLateRequests: 0, overflowedRequests: 0 })
  return { startMs, steps, clockValues }
}

/**
 * Takes the spec's instance off the service's instance list (its data stays): a service with a known instance sorts
 * before `storefront` and would become the dashboard's default service for the specs that follow.
 */
async function forgetInstance(service: string): Promise<void> {
  const redis = new Redis(e2eRedisUrl(), { maxRetriesPerRequest: 1 })
  try {
    const keys = createKeySpace(E2E_PREFIX)
    await redis.multi().zrem(keys.instances(service), `${service}-1`).del(keys.instanceInfo(service, `${service}-1`)).exec()
  } finally {
    await redis.quit()
  }
}

interface Totals {
  requests: number
  errors: number
  throughputRps: number | null
  coveredMs: number
  dataSinceMs: number | null
}

async function navTo(page: Page, name: 'Overview' | 'Endpoints'): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible()
}

test.describe('ranges', () => {
  // The spec reads the page's own API responses: plain network, no service worker in between.
  test.use({ serviceWorkers: 'block' })
  let seededService: string | null = null
  test.afterEach(async () => {
    if (seededService !== null) await forgetInstance(seededService)
    seededService = null
  })

  test('6 h, 24 h, 7 d and 30 d on a service with 30 days of history: non-zero throughput, and every route counts exactly its seeded requests', async ({ page }, testInfo) => {
    test.setTimeout(300_000)
    // A service of its own per attempt: a retry must not add a second copy of the history to the first.
    const service = testInfo.retry === 0 && testInfo.repeatEachIndex === 0 ? 'history' : `history-${testInfo.retry}-${testInfo.repeatEachIndex}`
    seededService = service
    const seeded = await test.step('seed 30 days of requests through the SDK with a moving clock', () => seed(service))
    for (const range of RANGES) for (const s of seeded.steps) inRange(s.agoMs, range) // every step is clearly in or out

    await page.setViewportSize(DESKTOP)
    await signedIn(page, '/?live=0')
    await page.getByRole('combobox', { name: 'Service' }).selectOption(service)
    await expect(page).toHaveURL(new RegExp(`service=${service}(&|$)`))
    const section = page.getByTestId(`service-${service}`)
    const until = section.getByTestId('window-until')
    await expect(until).toHaveAttribute('datetime', /Z$/)
    const untilIso = (await until.getAttribute('datetime')) ?? ''
    const untilMs = Date.parse(untilIso)

    for (const range of RANGES) {
      await test.step(`range ${range.key}`, async () => {
        expect(Date.now() - seeded.startMs, 'the spec ran within the margins its expectations assume').toBeLessThan(SLACK_MS)
        const expected = expectedRows(seeded, range)
        const expectedTotal = [...expected.values()].reduce((a, v) => ({ requests: a.requests + v.requests, errors: a.errors + v.errors }), { requests: 0, errors: 0 })
        const bounds = coverageBounds(seeded, range, untilMs)
        // The Overview's own read of the window (the tile shows its total), caught as the range switch makes it.
        const pageRead = page.waitForResponse((r) => {
          const u = new URL(r.url())
          if (u.pathname !== '/trpc/series.get') return false
          const input = JSON.parse(u.searchParams.get('input') ?? 'null') as { service?: string; windowMs?: number; untilMs?: number; route?: unknown } | null
          return input?.service === service && input.windowMs === range.windowMs && input.untilMs === untilMs && input.route === undefined
        })
        await page.getByRole('combobox', { name: 'Time range' }).selectOption(range.key)
        await expect(page).toHaveURL(new RegExp(`range=${range.key}(&|$)`))
        const overviewRead = (await (await pageRead).json()) as { result: { data: { tier: string; total: Totals } } }

        // The API, for the paused window: the tier docs/METRICS.md names, the seeded totals, a covered span the
        // collector's flushes account for, and throughput = requests ÷ covered seconds.
        const before = Date.now()
        const series = await query<{ tier: string; total: Totals }>(page, 'series.get', { service, windowMs: range.windowMs, untilMs })
        const after = Date.now()
        expect(series.tier, 'tier').toBe(range.tier)
        expect({ requests: series.total.requests, errors: series.total.errors }, 'service totals').toEqual(expectedTotal)
        expect(series.total.coveredMs, 'covered span ≥ the 10 s buckets flushed').toBeGreaterThanOrEqual(bounds.coveredAtLeast(before))
        expect(series.total.coveredMs, 'covered span ≤ the whole buckets flushed').toBeLessThanOrEqual(bounds.coveredAtMost(after))
        expect(series.total.dataSinceMs, 'data since ≥ the first bucket flushed').toBeGreaterThanOrEqual(bounds.dataSinceFrom ?? Number.NaN)
        expect(series.total.dataSinceMs, 'data since ≤ the first 10 s bucket flushed').toBeLessThanOrEqual(bounds.dataSinceTo ?? Number.NaN)
        expect(series.total.throughputRps, 'throughput').toBeCloseTo(expectedTotal.requests / (series.total.coveredMs / 1000), 9)

        // The Overview's tile: non-zero, the figure of its own read, whose totals are the seeded ones too.
        expect(overviewRead.result.data.tier, 'the Overview read the same tier').toBe(range.tier)
        expect({ requests: overviewRead.result.data.total.requests, errors: overviewRead.result.data.total.errors }, 'the Overview read the seeded totals').toEqual(expectedTotal)
        const rps = overviewRead.result.data.total.throughputRps ?? Number.NaN
        await expect(section.getByTestId('window-until')).toHaveAttribute('datetime', untilIso)
        await expect(section).not.toHaveAttribute('aria-busy')
        const tile = page.getByTestId(`throughput-${service}`)
        await expect.poll(async () => Math.abs(number(await tile.textContent()) - rps), { message: `Overview throughput tile vs ${rps} req/s (${range.key})` }).toBeLessThanOrEqual(rpsHalfStep(rps) + 1e-9)
        const tileText = (await tile.textContent()) ?? ''
        expect(number(tileText), 'Overview throughput tile').toBeGreaterThan(0)

        // Endpoints: every row (and no other) shows its route's seeded requests, as the API counts them.
        await navTo(page, 'Endpoints')
        const note = page.getByTestId('endpoints-window')
        await expect(note).toContainText(`${service} · ${range.label}`)
        await expect(note.getByTestId('window-until')).toHaveAttribute('datetime', untilIso)
        const endpoints = await query<{ tier: string; rows: { method: string; route: string; requests: number; errors: number }[] }>(page, 'endpoints.list', {
          service,
          windowMs: range.windowMs,
          untilMs,
          limit: 100,
        })
        expect(endpoints.tier, 'endpoints tier').toBe(range.tier)
        const api = Object.fromEntries(endpoints.rows.map((r) => [`${r.method} ${r.route}`, { requests: r.requests, errors: r.errors }]))
        expect(api, `endpoints.list ${range.key}`).toEqual(Object.fromEntries(expected))

        const grid = page.getByTestId('endpoints-table')
        const shownRows = () =>
          grid.evaluate((el) =>
            Object.fromEntries(
              [...el.querySelectorAll('[data-testid="endpoint-row"]')].map((r) => {
                const cell = (id: string) => (r.querySelector(`[data-col="${id}"]`)?.textContent ?? '').trim()
                return [`${cell('method')} ${cell('route')}`, cell('requests')]
              }),
            ),
          )
        const want = Object.fromEntries([...expected].map(([k, v]) => [k, v.requests.toLocaleString('en-US')]))
        await expect.poll(shownRows, { message: `Endpoints rows (${range.key})` }).toEqual(want)
        await expect(grid).not.toHaveAttribute('aria-busy')
        expect(Number(await grid.getAttribute('aria-rowcount')), 'every route is mounted').toBe(expected.size + 1)
        expect(Object.values(want).every((t) => number(t) > 0)).toBe(true)
        testInfo.annotations.push({
          type: range.key,
          description: `${expectedTotal.requests} requests (${expectedTotal.errors} errors) in ${expected.size} routes, tile ${tileText} req/s, covered ${series.total.coveredMs / 1000} s, tier ${series.tier}`,
        })

        await navTo(page, 'Overview')
      })
    }
  })
})
