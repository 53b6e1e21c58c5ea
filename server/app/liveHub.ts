/**
 * Live fan-out: one overview computation per second per server process (per window), shared by every SSE
 * subscriber, instead of each tab polling Redis. A slow subscriber only ever gets the latest snapshot (the queue
 * coalesces), so one stalled tab cannot grow memory or delay the others. The timer runs only while someone listens.
 * A failed computation is logged with an error id and skipped: subscribers keep the last snapshot, and the dashboard
 * shows its "as of" time, which stops moving (and, after 10 s, asks why: client/src/liveFeed.ts). While computations
 * keep failing (Redis down) the log gets the first failure, then one line a minute, then one when they recover.
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
  /** Failed computations in a row; how many of them had happened at the last report, and when that was (ms). */
  failures: number
  reportedFailures: number
  lastReportMs: number
}

/** While computations keep failing, one is reported at most this often (ms). */
export const FAILURE_REPORT_INTERVAL_MS = 60_000

/** See the module comment. */
export class LiveHub {
  private readonly channels = new Map<number, Channel>()

  /**
   * @param source computes one snapshot
   * @param intervalMs push period (default 1000: "at least every second", issue #4)
   * @param onError receives computation errors: the first of a run of failures, then at most one per
   *   FAILURE_REPORT_INTERVAL_MS with the count skipped since the last report (default: console.error)
   * @param onRecovered is told when a computation succeeds after failures, with how many failed (default: console.log)
   * @param now clock (ms), for tests
   */
  constructor(
    private readonly source: SnapshotSource,
    private readonly intervalMs = 1000,
    private readonly onError: (e: unknown, failedSinceLastReport: number) => void = (e, n) =>
      console.error(`[fusebox] live snapshot failed${n > 1 ? ` (${n} failed since the last report)` : ''} (error id ${randomUUID()}):`, e),
    private readonly onRecovered: (failed: number) => void = (n) =>
      console.log(`[fusebox] live snapshots resumed after ${n} failed computation${n === 1 ? '' : 's'}`),
    private readonly now: () => number = Date.now,
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
      c = { latest: null, listeners: new Set(), timer: null, computing: false, failures: 0, reportedFailures: 0, lastReportMs: 0 }
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
          if (c.failures > 0) this.onRecovered(c.failures)
          c.failures = 0
          c.reportedFailures = 0
          c.latest = s
          for (const l of c.listeners) l(s)
        })
        .catch((e: unknown) => {
          c.failures++
          const t = this.now()
          if (c.failures === 1 || t - c.lastReportMs >= FAILURE_REPORT_INTERVAL_MS) {
            const since = c.failures - c.reportedFailures
            c.reportedFailures = c.failures
            c.lastReportMs = t
            this.onError(e, since)
          }
        })
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
