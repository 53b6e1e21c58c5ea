import { CursorSource, type CursorSnapshot, type PageFetcher } from './cursorSource'
import { useRowSource } from './useRowSource'

export interface CursorRows<T> extends CursorSnapshot<T> {
  source: CursorSource<T>
}

const createCursorSource = <T>(fetcher: PageFetcher<T>) => new CursorSource<T>(fetcher)

/** Rows of a cursor-paged log for `VirtualTable`; a new (memoised) `fetcher` — new filters — starts over. */
export function useCursorRows<T>(fetcher: PageFetcher<T>): CursorRows<T> {
  return useRowSource(fetcher, createCursorSource<T>)
}
