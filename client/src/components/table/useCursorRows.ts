import { useEffect, useMemo, useSyncExternalStore } from 'react'
import { CursorSource, type CursorSnapshot, type PageFetcher } from './cursorSource'

export interface CursorRows<T> extends CursorSnapshot<T> {
  source: CursorSource<T>
}

/** Rows of a cursor-paged log for `VirtualTable`; a new (memoised) `fetcher` — new filters — starts over. */
export function useCursorRows<T>(fetcher: PageFetcher<T>): CursorRows<T> {
  const source = useMemo(() => new CursorSource<T>(fetcher), [fetcher])
  useEffect(() => {
    source.start()
    return () => source.dispose()
  }, [source])
  const snap = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot)
  return { ...snap, source }
}
