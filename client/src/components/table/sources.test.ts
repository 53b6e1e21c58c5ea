import { afterEach, describe, expect, it, vi } from 'vitest'
import { CursorSource } from './cursorSource'
import { FETCH_DELAY_MS, WindowedSource, type RowWindow } from './windowedSource'

const TOTAL = 1_000_000
function fakeWindows() {
  const calls: number[] = []
  const fetcher = (offset: number, limit: number): Promise<RowWindow<number>> => {
    calls.push(offset)
    const entries = Array.from({ length: Math.min(limit, TOTAL - offset) }, (_, i) => offset + i)
    return Promise.resolve({ total: TOTAL, offset, entries, exact: offset < 5000 })
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
