import { useRowSource } from './useRowSource'
import { WindowedSource, type WindowFetcher, type WindowedSnapshot } from './windowedSource'

export interface WindowedRows<T> extends WindowedSnapshot {
  source: WindowedSource<T>
}

const createWindowedSource = <T>(fetcher: WindowFetcher<T>) => new WindowedSource<T>(fetcher)

/**
 * Rows of a server-paged log for `VirtualTable`, in windows fetched as the visible range moves. A new `fetcher`
 * (e.g. another service) starts over with an empty cache; pass a stable (memoised) fetcher.
 */
export function useWindowedRows<T>(fetcher: WindowFetcher<T>): WindowedRows<T> {
  return useRowSource(fetcher, createWindowedSource<T>)
}
