import { afterEach, describe, expect, it, vi } from 'vitest'
import { CursorSource } from './cursorSource'
import { FETCH_DELAY_MS, WindowedSource, type RowWindow } from './windowedSource'

const TOTAL = 1_000_000
function fakeWindows() {
  const calls: number[] = []
  const fetcher = (offset: number, limit: number): Promise<RowWindow<number>> => {
    calls.push(offset)
    const entries = Array.from({ length: Math.min(limit, TOTAL - offset) }, (_, i) => offset + i)
    return Promise.resolve({ total: TOTAL, offset, entries, exact: offset < 5000, newestId: `${TOTAL}-0` })
  }
  return { calls, fetcher }
}
const flush = () => new Promise((r) => setTimeout(r, 0))

afterEach(() => vi.useRealTimers())

describe('windowed rows', () => {
  it('loads the first window on start and learns the total from it', async () => {
    const { calls, fetcher } = fakeWindows()
    const s = new WindowedSource(fetcher)
    s.start()
    await flush()
    expect(calls).toEqual([0])
    expect(s.getSnapshot().total).toBe(TOTAL)
    expect(s.row(199)).toBe(199)
  })

  it('fetches only the windows a settled visible range needs, and flags time-located rows', async () => {
    vi.useFakeTimers()
    const { calls, fetcher } = fakeWindows()
    const s = new WindowedSource(fetcher)
    s.start()
    await vi.advanceTimersByTimeAsync(0)
    s.request(10_000, 20)
    s.request(654_390, 20)
    await vi.advanceTimersByTimeAsync(FETCH_DELAY_MS)
    expect(calls).toEqual([0, 654_200, 654_400])
    expect(s.row(654_395)).toBe(654_395)
    expect(s.getSnapshot().approximate).toBe(true)
  })

  it('starts again after a StrictMode dispose and restart', async () => {
    const { calls, fetcher } = fakeWindows()
    const s = new WindowedSource(fetcher)
    s.start()
    s.dispose()
    s.start()
    await flush()
    expect(calls).toEqual([0, 0])
    expect(s.getSnapshot().total).toBe(TOTAL)
  })
})

/**
 * A growing, capped log like a Redis stream: entry ids 1, 2, 3…, newest first, keeping the newest `cap`. The fetcher
 * honours `untilId` as the server does (offset 0 = newest id ≤ untilId; total = the whole log).
 */
function liveLog(initial: number, cap = Infinity) {
  let newest = initial
  const oldest = () => Math.max(1, newest - cap + 1)
  const calls: { offset: number; untilId: string | undefined }[] = []
  const fetcher = (offset: number, limit: number, _signal: AbortSignal, untilId?: string): Promise<RowWindow<number>> => {
    calls.push({ offset, untilId })
    const top = untilId === undefined ? newest : Math.min(newest, Number(untilId.split('-')[0]))
    const entries: number[] = []
    for (let id = top - offset; id >= oldest() && entries.length < limit; id--) entries.push(id)
    return Promise.resolve({ total: newest - oldest() + 1, offset, entries, exact: true, newestId: `${top}-0` })
  }
  return { calls, fetcher, add: (n: number) => (newest += n) }
}

/** A source of 100-row windows over `log`, started and with its first window in (fake timers on). */
async function startedSource(log: ReturnType<typeof liveLog>): Promise<WindowedSource<number>> {
  vi.useFakeTimers()
  const s = new WindowedSource(log.fetcher, 100)
  s.start()
  await vi.advanceTimersByTimeAsync(0)
  return s
}

/** Scrolls `s` to row `first` (20 rows in view) and lets the windows it needs arrive. */
async function scrollTo(s: WindowedSource<number>, first: number): Promise<void> {
  s.request(first, 20)
  await vi.advanceTimersByTimeAsync(FETCH_DELAY_MS)
}

describe('windowed rows, paused', () => {
  it('keep their rows and row count while new entries arrive, and move again on resume', async () => {
    const log = liveLog(1000)
    const s = await startedSource(log)
    expect(s.row(0)).toBe(1000)
    s.pause()
    log.add(30)
    // Scrolling down while paused fetches windows anchored at the newest entry seen before the pause.
    await scrollTo(s, 450)
    expect(log.calls.at(-1)).toEqual({ offset: 400, untilId: '1000-0' })
    expect(s.row(450)).toBe(550)
    expect(s.getSnapshot().total).toBe(1000)
    await scrollTo(s, 0)
    expect(s.row(0)).toBe(1000)

    s.resume()
    await vi.advanceTimersByTimeAsync(0)
    expect(log.calls.at(-1)?.untilId).toBeUndefined()
    expect(s.row(0)).toBe(1030)
    expect(s.getSnapshot().total).toBe(1030)
  })

  it('shrink their row count when the oldest rows were trimmed meanwhile, never grow it', async () => {
    const log = liveLog(500, 500)
    const s = await startedSource(log)
    s.pause()
    expect(s.getSnapshot().total).toBe(500)
    log.add(50) // the cap trims ids 1–50: under the anchor 500, ids 500…51 remain (450 rows)
    await scrollTo(s, 480)
    expect(s.getSnapshot().total).toBe(450)
    expect(s.row(449)).toBe(51)
  })

  it('anchor at the first window when paused before any arrived', async () => {
    vi.useFakeTimers()
    const log = liveLog(300)
    const s = new WindowedSource(log.fetcher, 100)
    s.pause()
    s.start()
    await vi.advanceTimersByTimeAsync(0)
    log.add(10)
    await scrollTo(s, 150)
    expect(log.calls.at(-1)).toEqual({ offset: 100, untilId: '300-0' })
    expect(s.row(150)).toBe(150)
    expect(s.getSnapshot().total).toBe(300)
  })
})

describe('cursor rows', () => {
  it('appends pages as the visible range nears the end, and stops at the end of the log', async () => {
    const pages: Record<string, { entries: number[]; nextCursor: string | null }> = {
      start: { entries: [1, 2, 3], nextCursor: 'a' },
      a: { entries: [4, 5], nextCursor: null },
    }
    const seen: (string | null)[] = []
    const s = new CursorSource<number>((cursor) => {
      seen.push(cursor)
      return Promise.resolve(pages[cursor ?? 'start'] ?? { entries: [], nextCursor: null })
    })
    s.start()
    s.dispose()
    s.start()
    await flush()
    expect(s.getSnapshot().entries).toEqual([1, 2, 3])
    s.request(0, 3)
    await flush()
    expect(s.getSnapshot().entries).toEqual([1, 2, 3, 4, 5])
    expect(s.getSnapshot().hasMore).toBe(false)
    s.request(0, 5)
    await flush()
    expect(seen).toEqual([null, null, 'a'])
  })
})
