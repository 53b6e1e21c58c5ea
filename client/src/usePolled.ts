/**
 * `usePolled`: fetch once per change of `deps`, then every `intervalMs` while it is a number (live), never while
 * it is null (paused). Optionally keeps the last answer as page data (store.ts) so an offline reload shows it,
 * and reports its "as of" time to the header. Network failures raise the offline banner (`linkDown`); a 401
 * ends the session; an answer clears `linkDown` again.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react'
import { classifyError, type CallFailure } from './errors'
import { sessionEnded } from './session'
import { setPageData, usePageData, useSessionStore } from './store'
import { useAsOfStore } from './uiState'

/** Polling cadence of the pages while live (the Overview streams instead). */
export const LIVE_POLL_INTERVAL_MS = 5_000

/** Options of `usePolled`. */
export interface PolledOptions {
  /** Page-data key (use `pageKey()` from uiState.ts, naming every param in `deps`); omit to keep nothing. */
  pageKey?: string
  /** Report this query's "as of" to the header; default true when `pageKey` is set. */
  reportAsOf?: boolean
  /** False: fetch nothing (e.g. no service selected yet); `data` is the stored page data if any. Default true. */
  enabled?: boolean
}

/** What `usePolled` returns. */
export interface Polled<T> {
  /** The answer for the current deps, else the stored page data for `pageKey`, else undefined. */
  data: T | undefined
  /** When `data` was fetched (epoch ms); null when unknown. */
  asOfMs: number | null
  /** The last failure for the current deps (cleared by the next answer); null when none. */
  error: CallFailure | null
  /** No answer yet for the current deps (neither fetched nor stored). */
  loading: boolean
  /** Fetches again now. */
  refresh: () => void
}

/**
 * What every data call (polled pages, the live feed) does with a failure: nothing for an abort, ends the session
 * on a 401, raises the offline banner (`linkDown`) on a network failure. Returns the failure for the caller to
 * show, or null when there is nothing left to show (aborted, or the session ended).
 */
export function handleCallFailure(err: unknown): CallFailure | null {
  const failure = classifyError(err)
  if (failure.kind === 'aborted') return null
  if (failure.kind === 'server' && failure.code === 'UNAUTHORIZED') {
    sessionEnded()
    return null
  }
  // Unreachable: whatever the server last said (liveError) is no longer known to hold.
  if (failure.kind === 'network') useSessionStore.setState({ linkDown: true, liveError: null })
  // 503: the server answers but cannot read (Redis unreachable); every page shows it, and commands wait (commandGate.ts).
  if (failure.kind === 'server' && failure.httpStatus === 503) useSessionStore.setState({ liveError: failure.message })
  return failure
}

interface Result<T> {
  key: string
  data?: T
  asOfMs: number | null
  error: CallFailure | null
}

/**
 * Polls `fetcher` (given an AbortSignal, aborted on unmount and deps change). `deps` must be JSON-serialisable
 * (they are compared by value); `intervalMs` null = fetch once per deps change. One request at a time.
 */
export function usePolled<T>(
  fetcher: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  intervalMs: number | null,
  options: PolledOptions = {},
): Polled<T> {
  const { pageKey } = options
  const enabled = options.enabled ?? true
  const report = options.reportAsOf ?? pageKey !== undefined
  const depsKey = JSON.stringify(deps)
  const fetcherRef = useRef(fetcher)
  useLayoutEffect(() => {
    fetcherRef.current = fetcher
  })
  const [result, setResult] = useState<Result<T> | null>(null)
  const [tick, setTick] = useState(0)
  const stored = usePageData<T>(pageKey ?? '')

  useEffect(() => {
    if (!enabled) return
    const abort = new AbortController()
    let inFlight = false
    const run = () => {
      if (inFlight) return
      inFlight = true
      fetcherRef.current(abort.signal).then(
        (data) => {
          inFlight = false
          if (abort.signal.aborted) return
          const online = navigator.onLine
          const asOfMs = online ? Date.now() : null
          // Offline, the service worker answers from its cache: keep the stored entry and its real "as of".
          if (online && pageKey) setPageData(pageKey, data, asOfMs ?? Date.now())
          setResult({ key: depsKey, data, asOfMs, error: null })
          const session = useSessionStore.getState()
          // An answer: the link works and the server could read Redis again.
          if (online && (session.linkDown || session.liveError !== null)) useSessionStore.setState({ linkDown: false, liveError: null })
        },
        (err: unknown) => {
          inFlight = false
          if (abort.signal.aborted) return
          const failure = handleCallFailure(err)
          if (failure === null) return
          setResult((prev) => (prev?.key === depsKey ? { ...prev, error: failure } : { key: depsKey, asOfMs: null, error: failure }))
        },
      )
    }
    run()
    const timer = intervalMs === null ? null : setInterval(run, intervalMs)
    return () => {
      abort.abort()
      if (timer !== null) clearInterval(timer)
    }
  }, [depsKey, enabled, intervalMs, pageKey, tick])

  const own = result?.key === depsKey ? result : null
  const hasOwnData = own !== null && 'data' in own
  const data = hasOwnData ? own.data : stored?.data
  const asOfMs = hasOwnData && own.asOfMs !== null ? own.asOfMs : (stored?.asOfMs ?? null)

  useEffect(() => {
    if (report) useAsOfStore.setState({ asOfMs })
  }, [report, asOfMs])
  useEffect(() => (report ? () => useAsOfStore.setState({ asOfMs: null }) : undefined), [report])

  return {
    data,
    asOfMs,
    error: own?.error ?? null,
    loading: enabled && data === undefined && own?.error == null,
    refresh: () => setTick((n) => n + 1),
  }
}
