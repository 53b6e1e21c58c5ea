/**
 * Rows of a server-paged virtual table, fetched in windows as the visible range moves (`requests.window`,
 * `events.window`). Outside React; components read it with `useSyncExternalStore` (see `useWindowedRows`).
 * Windows are cached LRU; a window is requested only while some visible row needs it.
 */
import { classifyError } from '../../errors'
import { WindowCache, windowsForRange } from './windowCache'

/**
 * One window as the server returns it. `exact: false`: the rows were located by time (offsets ≥ 5,000). `newestId`:
 * the stream ID at offset 0 that the offsets count from (the anchor when one was sent).
 */
export interface RowWindow<T> {
  total: number
  offset: number
  entries: T[]
  exact: boolean
  newestId: string | null
}

/**
 * Fetches rows [offset, offset + limit), newest first. `untilId`, when given, anchors offset 0 at that stream ID (a
 * paused view: entries added since do not shift the rows).
 */
export type WindowFetcher<T> = (offset: number, limit: number, signal: AbortSignal, untilId?: string) => Promise<RowWindow<T>>

/** What the table renders from; replaced (new object) on every change. */
export interface WindowedSnapshot {
  /** Bumped whenever cached rows change. */
  version: number
  /** Rows in the log; null until the first window arrived. */
  total: number | null
  /** Windows in flight. */
  loading: boolean
  /** Last failure (cleared by the next success). */
  error: string | null
  /** Some visible rows were located by time rather than by exact offset. */
  approximate: boolean
  /** When the last window arrived (epoch ms), for the page's "as of"; null before the first. */
  asOfMs: number | null
}

/** Rows per fetched window. */
export const WINDOW_SIZE = 200
/** Windows kept in memory (20 × 200 = 4,000 rows). */
export const MAX_WINDOWS = 20
/** Wait for the scroll position to settle this long before fetching (a scrollbar drag crosses many windows). */
export const FETCH_DELAY_MS = 60

function failureText(err: unknown): string {
  const f = classifyError(err)
  if (f.kind === 'network') return 'Could not reach the server'
  if (f.kind === 'aborted') return 'Cancelled'
  return f.message
}

export class WindowedSource<T> {
  private readonly cache: WindowCache<T>
  private readonly inflight = new Map<number, AbortController>()
  private readonly inexact = new Set<number>()
  private readonly listeners = new Set<() => void>()
  private snap: WindowedSnapshot = { version: 0, total: null, loading: false, error: null, approximate: false, asOfMs: null }
  private range = { first: 0, count: 1 }
  private timer: ReturnType<typeof setTimeout> | null = null
  private disposed = false
  /** Paused: windows are fetched anchored at `anchor` and the row count stays what it was when paused. */
  private paused = false
  private anchor: string | null = null
  /** The newest ID and row count of the last unanchored window: the pair a pause anchors at. */
  private latest: { newestId: string | null; total: number } | null = null

  constructor(
    private readonly fetcher: WindowFetcher<T>,
    readonly windowSize = WINDOW_SIZE,
    capacity = MAX_WINDOWS,
  ) {
    this.cache = new WindowCache<T>(windowSize, capacity)
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getSnapshot = (): WindowedSnapshot => this.snap

  /** Row `index`, or undefined while its window is loading. */
  row(index: number): T | undefined {
    return this.cache.row(index)
  }

  /** Starts loading the first window. */
  start(): void {
    this.disposed = false
    this.fetchNeeded()
  }

  /** The visible range changed: fetch the windows it needs once the position settles. */
  request(first: number, count: number): void {
    this.range = { first, count: Math.max(1, count) }
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.fetchNeeded()
    }, FETCH_DELAY_MS)
  }

  /** Drops every cached window and reloads the visible ones (new rows arrived at the top). */
  refresh(): void {
    if (this.disposed) return
    this.abortAll()
    const needed = this.needed()
    // Keep the visible windows on screen until their fresh copies arrive; drop the rest (offsets shifted).
    for (const offset of this.cache.offsets()) if (!needed.includes(offset)) this.cache.delete(offset)
    for (const offset of needed) this.load(offset)
    this.emit({})
  }

  /**
   * Stops the rows from moving: from now on windows are fetched anchored at the newest entry the last window saw,
   * and the row count stays as it was (it only shrinks when the oldest rows were trimmed away meanwhile). Rows
   * already on screen are kept. No-op when already paused.
   */
  pause(): void {
    if (this.paused) return
    this.paused = true
    this.anchor = this.latest?.newestId ?? null
    // Windows in flight were asked unanchored: ask again, anchored.
    this.abortAll()
    if (this.latest) this.emit({ total: this.latest.total })
    if (!this.disposed) this.fetchNeeded()
  }

  /** Back to live rows: drops the anchor and reloads the visible windows (see `refresh`). No-op when not paused. */
  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.anchor = null
    this.refresh()
  }

  /** Whether the visible range is within the first window (the newest rows). */
  atTop(): boolean {
    return this.range.first < this.windowSize
  }

  dispose(): void {
    this.disposed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.abortAll()
  }

  private abortAll(): void {
    for (const c of this.inflight.values()) c.abort()
    this.inflight.clear()
  }

  private needed(): number[] {
    const total = this.snap.total ?? this.range.first + this.range.count
    return windowsForRange(this.range.first, this.range.count, this.windowSize, Math.max(total, 1))
  }

  private fetchNeeded(): void {
    if (this.disposed) return
    const needed = this.needed()
    // Windows scrolled past are no longer worth waiting for.
    for (const [offset, c] of this.inflight) {
      if (!needed.includes(offset)) {
        c.abort()
        this.inflight.delete(offset)
      }
    }
    for (const offset of needed) {
      if (this.cache.has(offset)) this.cache.getWindow(offset)
      else if (!this.inflight.has(offset)) this.load(offset)
    }
    this.emit({})
  }

  private load(offset: number): void {
    const controller = new AbortController()
    this.inflight.set(offset, controller)
    this.fetcher(offset, this.windowSize, controller.signal, this.anchor ?? undefined).then(
      (w) => {
        if (controller.signal.aborted || this.disposed) return
        this.inflight.delete(offset)
        this.cache.set(offset, w.entries)
        if (w.exact) this.inexact.delete(offset)
        else this.inexact.add(offset)
        const total = this.totalAfter(w)
        const totalChanged = this.snap.total !== total
        this.emit({ total, error: null, version: this.snap.version + 1, asOfMs: Date.now() })
        // The first answer tells us the total: the visible range may need more windows now.
        if (totalChanged) this.fetchNeeded()
      },
      (err: unknown) => {
        if (controller.signal.aborted || this.disposed) return
        this.inflight.delete(offset)
        this.emit({ error: failureText(err) })
      },
    )
  }

  /** The row count to show once window `w` arrived (see `pause`). */
  private totalAfter(w: RowWindow<T>): number {
    if (!this.paused) {
      this.latest = { newestId: w.newestId, total: w.total }
      return w.total
    }
    if (this.anchor === null) {
      // Paused before any window arrived: this one (asked unanchored) sets the anchor and the count.
      this.anchor = w.newestId
      return w.total
    }
    const frozen = this.snap.total ?? w.total
    // An exact window that came back short ends the log: the oldest rows were trimmed since the pause.
    const end = w.offset + w.entries.length
    return w.exact && w.entries.length < this.windowSize && end < frozen ? end : frozen
  }

  private emit(patch: Partial<WindowedSnapshot>): void {
    const approximate = this.needed().some((o) => this.inexact.has(o))
    this.snap = { ...this.snap, ...patch, loading: this.inflight.size > 0, approximate }
    for (const l of this.listeners) l()
  }
}
