/**
 * Rows of a filtered, cursor-paged log (`requests.list`, `events.list`, `audit.list`): pages are appended as the
 * table nears the end of what is loaded ("Load more" / infinite scroll). Outside React; see `useCursorRows`.
 */
import { classifyError } from '../../errors'

export interface CursorPage<T> {
  entries: T[]
  nextCursor: string | null
  scanned?: number
}

export type PageFetcher<T> = (cursor: string | null, signal: AbortSignal) => Promise<CursorPage<T>>

export interface CursorSnapshot<T> {
  entries: T[]
  /** More entries exist (older); null cursor means the log is exhausted. */
  hasMore: boolean
  loading: boolean
  error: string | null
  /** Stream entries examined so far (a rare filter scans many for few matches). */
  scanned: number
}

/** Load the next page when the visible range comes this close to the end of the loaded rows. */
export const LOAD_AHEAD_ROWS = 40

export class CursorSource<T> {
  private readonly listeners = new Set<() => void>()
  private snap: CursorSnapshot<T> = { entries: [], hasMore: true, loading: false, error: null, scanned: 0 }
  private cursor: string | null = null
  private controller: AbortController | null = null
  private disposed = false

  constructor(private readonly fetcher: PageFetcher<T>) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getSnapshot = (): CursorSnapshot<T> => this.snap

  start(): void {
    this.disposed = false
    if (this.snap.entries.length === 0) this.loadMore()
  }

  /** Fetches the next page (no-op while one is loading or when the log is exhausted). */
  loadMore = (): void => {
    if (this.disposed || this.snap.loading || !this.snap.hasMore) return
    const controller = new AbortController()
    this.controller = controller
    this.emit({ loading: true, error: null })
    this.fetcher(this.cursor, controller.signal).then(
      (page) => {
        if (controller.signal.aborted || this.disposed) return
        this.cursor = page.nextCursor
        this.emit({
          entries: [...this.snap.entries, ...page.entries],
          hasMore: page.nextCursor !== null,
          loading: false,
          scanned: this.snap.scanned + (page.scanned ?? page.entries.length),
        })
      },
      (err: unknown) => {
        if (controller.signal.aborted || this.disposed) return
        const f = classifyError(err)
        this.emit({ loading: false, error: f.kind === 'network' ? 'Could not reach the server' : f.kind === 'aborted' ? null : f.message })
      },
    )
  }

  /** The visible range changed: load more when it nears the end of the loaded rows. */
  request = (first: number, count: number): void => {
    if (first + count + LOAD_AHEAD_ROWS >= this.snap.entries.length) this.loadMore()
  }

  /** Starts over from the newest entry. */
  refresh(): void {
    this.controller?.abort()
    this.cursor = null
    this.snap = { entries: [], hasMore: true, loading: false, error: null, scanned: 0 }
    this.loadMore()
  }

  dispose(): void {
    this.disposed = true
    this.controller?.abort()
    // A StrictMode remount starts again: nothing is in flight any more.
    this.snap = { ...this.snap, loading: false }
  }

  private emit(patch: Partial<CursorSnapshot<T>>): void {
    this.snap = { ...this.snap, ...patch }
    for (const l of this.listeners) l()
  }
}
