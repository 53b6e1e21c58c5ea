/**
 * Issue #15, acceptance "a gap is drawn where a bucket has no data (tested with a collector stopped for 2 minutes)",
 * without waiting 2 real minutes: a real SDK collector of a service of the spec's own (`zz-gapcheck`: it sorts after
 * the demo fleet's services, so it never becomes the dashboard's default) on the stack's Redis, its clock driven by the
 * spec (the SDK's `clock` option). It serves requests for 3 minutes of its clock ending 5 minutes ago, flushing in
 * every 10 s bucket; is "stopped" for 2 minutes (no request, no flush: its clock jumps); serves again from then up to
 * now; then keeps serving on the real clock. The SDK writes a total for every 10 s bucket it flushed in and, across
 * a jump longer than two flush intervals, for none in between (server/sdk/seriesWriter.ts `cover`).
 *
 * Checked: the API's 15-minute series has exactly the 12 buckets of the stop as gaps (`noData`, every figure null —
 * not 0) and data in every bucket the collector served; and the Overview's throughput, error-rate and latency
 * charts draw their lines in two pieces (two `M` moves in the recharts path), the first ending at the last bucket
 * before the stop, the second starting at the first bucket after it. The service is removed afterwards.
 */
import { DESKTOP, expect, query, signedIn, test } from './helpers'
import { removeService, startClockedCollector, type ClockedCollector } from './seededService'

const SERVICE = 'zz-gapcheck'
const BUCKET_MS = 10_000
const MINUTE = 60_000
const STOP_MS = 2 * MINUTE

interface Point {
  t: number
  noData: boolean
  throughputRps: number | null
  errorRate: number | null
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
}

/** The pieces of a recharts line path: each `M` starts one; its points' x (px), in order. */
function pieces(d: string): number[][] {
  return d
    .split('M')
    .filter((s) => s.trim() !== '')
    .map((s) => [...s.matchAll(/(-?[\d.]+(?:e-?\d+)?),(-?[\d.]+(?:e-?\d+)?)/g)].map((m) => Number(m[1])))
}

test.describe('gaps', () => {
  let seeded: ClockedCollector | null = null
  let serving: NodeJS.Timeout | undefined
  test.afterAll(async () => {
    clearInterval(serving)
    await seeded?.close().catch(() => undefined)
    await removeService(SERVICE)
  })

  test('a collector stopped for 2 minutes leaves 12 gap buckets: the API says no data (not 0) and the Overview charts break their lines there', async ({ page }) => {
    // The timeline, in 10 s buckets: served [stopAt − 3 min, stopAt), stopped [stopAt, resumeAt), served [resumeAt, now].
    const stopAt = Math.floor((Date.now() - 5 * MINUTE) / BUCKET_MS) * BUCKET_MS
    const resumeAt = stopAt + STOP_MS
    const firstAt = stopAt - 3 * MINUTE
    const c = await startClockedCollector(SERVICE, firstAt + BUCKET_MS / 2)
    seeded = c
    await test.step('serve, stop for 2 minutes of the collector clock, serve again up to now', async () => {
      let i = 0
      for (let t = firstAt; t < stopAt; t += BUCKET_MS) await c.stepAt(t + BUCKET_MS / 2, 20 + (i++ % 5) * 4, 1 + (i % 3))
      for (let t = resumeAt; t + BUCKET_MS / 2 <= Date.now(); t += BUCKET_MS) await c.stepAt(t + BUCKET_MS / 2, 20 + (i++ % 5) * 4, 1 + (i % 3))
      c.followRealTime()
      // And on, in real time, like a service that was restarted: ~10 req/s.
      serving = setInterval(() => c.collector.recordRequest({ method: 'GET', route: '/seeded', status: 200, durationMs: 20 }), 100)
    })
    const served = [...new Set(c.flushedAtMs.map((t) => Math.floor(t / BUCKET_MS) * BUCKET_MS))]
    const lastServed = served.at(-1) as number

    await page.setViewportSize(DESKTOP)
    await signedIn(page, `/?service=${SERVICE}`)

    await test.step('API: the stopped buckets are gaps, the served ones have data', async () => {
      const readAtMs = Date.now()
      const series = await query<{ bucketMs: number; points: Point[] }>(page, 'series.get', { service: SERVICE, windowMs: 15 * MINUTE })
      expect(series.bucketMs, 'the 15-minute window reads 10 s buckets').toBe(BUCKET_MS)
      const byT = new Map(series.points.map((p) => [p.t, p]))
      const gaps: Point[] = []
      for (let t = stopAt; t < resumeAt; t += BUCKET_MS) gaps.push(byT.get(t) ?? ({ t, noData: true } as Point))
      expect(gaps.length).toBe(12)
      for (const p of gaps) {
        expect({ t: new Date(p.t).toISOString(), noData: p.noData, throughputRps: p.throughputRps ?? null, errorRate: p.errorRate ?? null, p50Ms: p.p50Ms ?? null }, 'a bucket of the stop').toEqual({
          t: new Date(p.t).toISOString(),
          noData: true,
          throughputRps: null,
          errorRate: null,
          p50Ms: null,
        })
      }
      // Every served bucket that had closed when read (the open one is charted only once whole: windowRead.ts).
      for (const t of served.filter((s) => s + BUCKET_MS <= readAtMs)) {
        const p = byT.get(t)
        expect(p?.noData, `served bucket ${new Date(t).toISOString()} has data`).toBe(false)
        expect(p?.throughputRps ?? 0, `served bucket ${new Date(t).toISOString()} throughput`).toBeGreaterThan(0)
      }
      // Before the collector's first flush the window has no data either; nothing in it is a made-up 0.
      for (const p of series.points) if (p.t < firstAt) expect(p.noData, `bucket ${new Date(p.t).toISOString()} before the first flush`).toBe(true)
    })

    await test.step('browser: the Overview charts break their lines at the stop', async () => {
      await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
      for (const chart of ['throughput', 'error', 'latency']) {
        const path = page.getByTestId(`${chart}-chart-${SERVICE}`).locator('path.recharts-line-curve').first()
        // Live: the right edge moves every 5 s; the pieces must be right in one read of the path.
        let d = ''
        await expect
          .poll(async () => {
            d = (await path.getAttribute('d')) ?? ''
            return pieces(d).length
          }, { message: `${chart} chart: the line is drawn in two pieces` })
          .toBe(2)
        const [before, after] = pieces(d) as [number[], number[]]
        // px per ms from the two pieces' starts (the first and the first resumed bucket), then the stop's edges.
        const pxPerMs = ((after[0] as number) - (before[0] as number)) / (resumeAt - firstAt)
        expect(pxPerMs, `${chart} chart: time runs left to right`).toBeGreaterThan(0)
        const expectedEnd = (before[0] as number) + (stopAt - BUCKET_MS - firstAt) * pxPerMs
        expect(Math.abs((before.at(-1) as number) - expectedEnd), `${chart} chart: the first piece ends at the last bucket before the stop`).toBeLessThan(1)
        expect(after.length, `${chart} chart: the second piece runs on to the served buckets after the stop`).toBeGreaterThanOrEqual(Math.round((lastServed - resumeAt) / BUCKET_MS))
      }
    })
  })
})
