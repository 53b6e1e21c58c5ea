import { useCallback, useEffect } from 'react'
import type { WindowFetcher } from '../components/table/windowedSource'
import { useWindowedRows, type WindowedRows } from '../components/table/useWindowedRows'
import { useLive, useReportAsOf } from '../uiState'
import { LIVE_POLL_INTERVAL_MS } from '../usePolled'

/**
 * A whole log (request log, events) for `VirtualTable`: row windows fetched by offset as the visible range moves,
 * the page's "as of" set from the last window that arrived, and — while Live is on — a refresh every
 * LIVE_POLL_INTERVAL_MS as long as the newest rows are in view (new entries arrive at the top). Paused, the rows
 * hold still: windows are anchored at the newest entry seen when Live went off (`WindowedSource.pause`).
 * Pass a stable (memoised) fetcher. `onRange` goes to the table's `onRangeChange`.
 */
export function useLiveLog<T>(fetcher: WindowFetcher<T>): WindowedRows<T> & { onRange: (first: number, count: number) => void } {
  const [live] = useLive()
  const rows = useWindowedRows<T>(fetcher)
  const { source } = rows
  useReportAsOf(rows.asOfMs)
  const onRange = useCallback((first: number, count: number) => source.request(first, count), [source])
  useEffect(() => {
    if (live) source.resume()
    else source.pause()
  }, [live, source])
  useEffect(() => {
    if (!live) return
    const timer = setInterval(() => {
      if (source.atTop()) source.refresh()
    }, LIVE_POLL_INTERVAL_MS)
    return () => clearInterval(timer)
  }, [live, source])
  return { ...rows, onRange }
}
