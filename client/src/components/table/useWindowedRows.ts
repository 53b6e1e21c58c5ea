import { useEffect, useMemo, useSyncExternalStore } from 'react'
import { WindowedSource, type WindowFetcher, type WindowedSnapshot } from './windowedSource'

export interface WindowedRows<T> extends WindowedSnapshot {
  source: WindowedSource<T>
}

/**
 * Rows of a server-paged log for `VirtualTable`, in windows fetched as the visible range moves. A new `fetcher`
 * (e.g. another service) starts over with an empty cache; pass a stable (memoised) fetcher.
 */
export function useWindowedRows<T>(fetcher: WindowFetcher<T>): WindowedRows<T> {
  const source = useMemo(() => new WindowedSource<T>(fetcher), [fetcher])
  useEffect(() => {
    source.start()
    return () => source.dispose()
  }, [source])
  const snap = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot)
  return { ...snap, source }
}
