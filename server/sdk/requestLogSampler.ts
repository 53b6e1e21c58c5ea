/**
 * The sampled request log, in process: which slow or failed requests go to the service's request-log stream. Per
 * flush interval it keeps a uniform sample of at most `perFlush` of them however many qualify (reservoir sampling,
 * Algorithm R, Vitter 1985), counting the rest; the flush pipeline takes the sample each flush and hands it back
 * (`requeue`) when Redis could not take it. Memory is bounded by `MAX_PENDING_REQUEST_LOG` entries. No I/O.
 */
import type { HttpMethod } from '../../shared/vocabulary'
import type { RequestLogEntry } from '../../shared/streamEntries'
import type { CollectorStats } from './collectorStats'
import type { FinishedRequest } from './requestMetrics'

/** Sampled requests kept between flushes at most (also the largest `perFlush`); beyond it they are dropped and counted. */
export const MAX_PENDING_REQUEST_LOG = 1000

/** What the collector hands the sampler. */
export interface RequestLogSamplerDeps {
  /** This instance's name, written with every entry. */
  instance: string
  /** Requests at least this slow (ms) qualify, as do failed ones. */
  slowRequestThresholdMs: number
  /** Entries kept per flush interval at most, 0 … `MAX_PENDING_REQUEST_LOG`. */
  perFlush: number
  /** Counters it keeps: requests sampled out, entries dropped when the pending batch is full. */
  stats: Pick<CollectorStats, 'sampledOutRequestLogEntries' | 'droppedRequestLogEntries'>
}

/** See the module comment. */
export class RequestLogSampler {
  private pending: RequestLogEntry[] = []
  /** Qualifying requests seen since the last `take` (for the reservoir sample). */
  private seen = 0

  constructor(private readonly deps: RequestLogSamplerDeps) {}

  /**
   * Offers one recorded request (`method` already normalized, `nowMs` epoch ms of its end): kept when it is slow or
   * failed (`isError`) and the reservoir picks it. Allocates only for a request it keeps. `r` is what
   * `checkedRequest` returned, so its route (≤ `MAX_LABEL_CHARS`, 200) and `errorType` (≤ 128) are already cut and
   * free of control characters: an entry stays small and within the stream parser's `MAX_TEXT_FIELD_CHARS`.
   */
  offer(r: FinishedRequest, method: HttpMethod, isError: boolean, nowMs: number): void {
    if (!(isError || r.durationMs >= this.deps.slowRequestThresholdMs)) return
    const seen = ++this.seen
    let slot = this.pending.length
    const perFlush = this.deps.perFlush
    if (slot >= perFlush) {
      this.deps.stats.sampledOutRequestLogEntries++
      slot = Math.floor(Math.random() * seen)
      if (slot >= perFlush) return
    }
    this.pending[slot] = {
      atMs: nowMs,
      method,
      route: r.route,
      status: r.status,
      durationMs: r.durationMs,
      instance: this.deps.instance,
      errorType: isError ? (r.errorType ?? String(r.status)) : '',
      kind: isError ? 'error' : 'slow',
    }
  }

  /** The entries sampled since the last call (in reservoir order, not time order); starts a new sampling interval. */
  take(): RequestLogEntry[] {
    const taken = this.pending
    this.pending = []
    this.seen = 0
    return taken
  }

  /**
   * Puts back entries a failed flush took, before those sampled since; the oldest beyond `MAX_PENDING_REQUEST_LOG`
   * are dropped and counted in `droppedRequestLogEntries`.
   */
  requeue(entries: RequestLogEntry[]): void {
    const room = MAX_PENDING_REQUEST_LOG - this.pending.length
    const kept = entries.slice(Math.max(0, entries.length - room))
    this.deps.stats.droppedRequestLogEntries += entries.length - kept.length
    this.pending = kept.concat(this.pending)
  }
}
