/**
 * Live fan-out: one overview computation per second per server process (per window), shared by every SSE
 * subscriber, instead of each tab polling Redis. A slow subscriber only ever gets the latest snapshot (the queue
 * coalesces), so one stalled tab cannot grow memory or delay the others. The timer runs only while someone listens.
 * A failed computation is logged with an error id and skipped: subscribers keep the last snapshot, and the dashboard
 * shows its "as of" time, which stops moving.
 */
import { randomUUID } from 'node:crypto'
import type { OverviewSnapshot } from '../../shared/schemas'

/** Computes the snapshot for a window (ms). Errors are logged and the tick skipped; subscribers stay. */
export type SnapshotSource = (windowMs: number) => Promise<OverviewSnapshot>

interface Channel {
  latest: OverviewSnapshot | null
  listeners: Set<(s: OverviewSnapshot) => void>
  timer: NodeJS.Timeout | null
  computing: boolean
}

/** See the module comment. */
export class LiveHub {
  private readonly channels = new Map<number, Channel>()

  /**
   * @param source computes one snapshot
   * @param intervalMs push period (default 1000: "at least every second", issue #4)
   * @param onError receives computation errors (default: console.error)
   */
  constructor(
    private readonly source: SnapshotSource,
    private readonly intervalMs = 1000,
    private readonly onError: (e: unknown) => void = (e) => console.error(`[fusebox] live snapshot failed (error id ${randomUUID()}):`, e),
  ) {}

  /** Number of live subscribers over all windows. */
  get subscriberCount(): number {
    let n = 0
    for (const c of this.channels.values()) n += c.listeners.size
    return n
  }

  /**
   * Snapshots for `windowMs` until `signal` aborts: the latest one at once if there is one, then each new one.
   * If the consumer is slower than the ticks, intermediate snapshots are skipped (never queued).
   */
  async *stream(windowMs: number, signal?: AbortSignal): AsyncGenerator<OverviewSnapshot> {
    const channel = this.channel(windowMs)
    let pending: OverviewSnapshot | null = channel.latest
    let wake: (() => void) | null = null
    const listener = (s: OverviewSnapshot) => {
      pending = s
      wake?.()
    }
    const onAbort = () => wake?.()
    channel.listeners.add(listener)
    signal?.addEventListener('abort', onAbort)
    this.start(windowMs, channel)
    try {
      while (!signal?.aborted) {
        if (pending === null) {
          await new Promise<void>((resolve) => {
            wake = resolve
          })
          wake = null
          continue
        }
        const next: OverviewSnapshot = pending
        pending = null
        yield next
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      channel.listeners.delete(listener)
      if (channel.listeners.size === 0) this.stop(windowMs, channel)
    }
  }

  /** Stops every timer (graceful shutdown). */
  close(): void {
    for (const [w, c] of this.channels) this.stop(w, c)
  }

  private channel(windowMs: number): Channel {
    let c = this.channels.get(windowMs)
    if (c === undefined) {
      c = { latest: null, listeners: new Set(), timer: null, computing: false }
      this.channels.set(windowMs, c)
    }
    return c
  }

  private start(windowMs: number, c: Channel): void {
    if (c.timer !== null) return
    const tick = () => {
      if (c.computing) return // the previous computation is still running: skip, never pile up
      c.computing = true
      this.source(windowMs)
        .then((s) => {
          c.latest = s
          for (const l of c.listeners) l(s)
        })
        .catch(this.onError)
        .finally(() => {
          c.computing = false
        })
    }
    c.timer = setInterval(tick, this.intervalMs)
    c.timer.unref()
    tick()
  }

  private stop(windowMs: number, c: Channel): void {
    if (c.timer !== null) clearInterval(c.timer)
    c.timer = null
    this.channels.delete(windowMs)
  }
}
