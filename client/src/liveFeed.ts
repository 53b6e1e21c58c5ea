/**
 * Keeps the snapshot store live while signed in: one `overview.get` (a GET the service worker can answer
 * offline), then the `live.snapshot` SSE subscription, whose every event replaces the snapshot. Network
 * failures set `linkDown` (offline banner); a server's error answer sets `liveError` (its message, shown by
 * `LiveErrorBanner`); any snapshot clears both; a 401 ends the session.
 *
 * The server skips a push it cannot compute (Redis down) rather than ending the stream, so a quiet stream says
 * nothing by itself: after LIVE_STALL_MS without a snapshot the feed asks once with a GET, which either brings data
 * (a stalled stream) or the reason (e.g. 503 "Redis is unreachable: …"), and asks again every LIVE_STALL_MS / 2.
 */
import { getOverview, subscribeLive, type LiveHandlers } from './api'
import type { OverviewSnapshot } from '../../shared/schemas'
import { useSessionStore, useSnapshotStore } from './store'
import { handleCallFailure } from './usePolled'

/** Without a snapshot for this long (ms; the server pushes one a second), the live feed asks with a GET. */
export const LIVE_STALL_MS = 10_000

function onFailure(err: unknown): void {
  const failure = handleCallFailure(err)
  // Network failures show as the offline banner; a server's answer (e.g. 503) as the live-error banner.
  if (failure !== null && failure.kind === 'server') useSessionStore.setState({ liveError: failure.message })
}

/** A snapshot arrived: the link works and the server can compute (clears both banners' causes). */
function onFresh(): void {
  const s = useSessionStore.getState()
  if (s.liveError !== null || (s.linkDown && navigator.onLine)) useSessionStore.setState({ liveError: null, linkDown: false })
}

/**
 * Watches a live stream for silence: `probe` runs when `stallMs` passed since the last `fresh()` (then at most every
 * `stallMs / 2` while silence lasts, one at a time). Clock and timers injectable for tests. `stop()` ends it.
 */
export class StallWatch {
  private lastFreshMs: number
  private probing = false
  private readonly timer: ReturnType<typeof setInterval>
  private lastProbeMs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly stallMs = LIVE_STALL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.lastFreshMs = now()
    this.timer = setInterval(() => this.check(), Math.max(250, stallMs / 4))
  }

  /** Data arrived. */
  fresh(): void {
    this.lastFreshMs = this.now()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private check(): void {
    const t = this.now()
    if (this.probing || t - this.lastFreshMs < this.stallMs || t - this.lastProbeMs < this.stallMs / 2) return
    this.probing = true
    this.lastProbeMs = t
    this.probe().finally(() => {
      this.probing = false
    })
  }
}

/**
 * Fetches one snapshot over `windowMs` ending at `untilMs` (epoch ms; default now) — paused mode: no stream; the
 * store records the `untilMs` it was read for. Returns a function that aborts it.
 */
export function fetchSnapshotOnce(windowMs: number, untilMs?: number): () => void {
  const abort = new AbortController()
  getOverview(untilMs === undefined ? { windowMs } : { windowMs, untilMs }, { signal: abort.signal }).then((snapshot) => {
    if (abort.signal.aborted) return
    useSnapshotStore.getState().setSnapshot(snapshot, untilMs ?? null)
    onFresh()
  }, onFailure)
  return () => abort.abort()
}

/**
 * Starts fetching and streaming snapshots over `windowMs` (server default 5 min when omitted); returns a
 * function that stops both.
 */
export function startLiveFeed(windowMs?: number): () => void {
  const abort = new AbortController()
  // The initial GET may answer after the first live event (or from the SW cache); it must not undo it.
  let liveEventSeen = false
  const { setSnapshot } = useSnapshotStore.getState()

  const input = windowMs === undefined ? {} : { windowMs }
  // A GET answer (possibly from the SW cache, even offline: onFresh clears linkDown only online) never replaces a
  // newer snapshot.
  const fromGet = (snapshot: OverviewSnapshot) => {
    if (abort.signal.aborted || liveEventSeen) return
    setSnapshot(snapshot)
    onFresh()
  }
  getOverview(input, { signal: abort.signal }).then(fromGet, onFailure)

  const watch = new StallWatch(() =>
    getOverview(input, { signal: abort.signal }).then((snapshot) => {
      if (abort.signal.aborted) return
      // Only news counts: the service worker answers from its cache when the server is down, with older data.
      const current = useSnapshotStore.getState().snapshot
      if (current !== null && snapshot.asOfMs <= current.asOfMs) return
      setSnapshot(snapshot)
      watch.fresh()
      onFresh()
    }, onFailure),
  )

  const handlers: LiveHandlers = {
    onSnapshot: (snapshot) => {
      liveEventSeen = true
      setSnapshot(snapshot)
      watch.fresh()
      onFresh()
    },
    onConnected: () => {
      if (useSessionStore.getState().linkDown) useSessionStore.setState({ linkDown: false })
    },
    onConnectionError: onFailure,
    onError: onFailure,
  }
  const unsubscribe = subscribeLive(handlers, windowMs)

  return () => {
    abort.abort()
    watch.stop()
    unsubscribe()
  }
}
