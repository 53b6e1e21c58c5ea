/**
 * Keeps the snapshot store live while signed in: one `overview.get` (a GET the service worker can answer
 * offline), then the `live.snapshot` SSE subscription, whose every event replaces the snapshot. Network
 * failures set `linkDown` (offline banner); any successful answer clears it; a 401 ends the session.
 */
import { getOverview, subscribeLive, type LiveHandlers } from './api'
import { useSessionStore, useSnapshotStore } from './store'
import { handleCallFailure } from './usePolled'

function onFailure(err: unknown): void {
  const failure = handleCallFailure(err)
  // Network failures show as the offline banner; anything else has no place on screen here.
  if (failure !== null && failure.kind !== 'network') console.warn('Live data failed', failure)
}

/** Fetches one snapshot over `windowMs` (paused mode: no stream); returns a function that aborts it. */
export function fetchSnapshotOnce(windowMs: number): () => void {
  const abort = new AbortController()
  getOverview({ windowMs }, { signal: abort.signal }).then((snapshot) => {
    if (abort.signal.aborted) return
    useSnapshotStore.getState().setSnapshot(snapshot)
    if (navigator.onLine) useSessionStore.setState({ linkDown: false })
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

  getOverview(windowMs === undefined ? {} : { windowMs }, { signal: abort.signal }).then(
    (snapshot) => {
      if (abort.signal.aborted || liveEventSeen) return
      setSnapshot(snapshot)
      // A SW-cached answer still resolves offline; only clear the banner when the browser is online.
      if (navigator.onLine) useSessionStore.setState({ linkDown: false })
    },
    onFailure,
  )

  const handlers: LiveHandlers = {
    onSnapshot: (snapshot) => {
      liveEventSeen = true
      setSnapshot(snapshot)
      if (useSessionStore.getState().linkDown) useSessionStore.setState({ linkDown: false })
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
    unsubscribe()
  }
}
