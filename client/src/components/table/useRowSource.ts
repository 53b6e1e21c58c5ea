import { useEffect, useMemo, useSyncExternalStore } from 'react'

/** A row store kept outside React (`CursorSource`, `WindowedSource`) that `useRowSource` drives. */
export interface RowSource<S> {
  subscribe: (listener: () => void) => () => void
  getSnapshot: () => S
  start(): void
  dispose(): void
}

/**
 * A row source for `VirtualTable`, made from `fetcher` by `create` (pass a module-level function): started on mount,
 * disposed on unmount, read with `useSyncExternalStore`. Returns its current snapshot plus the source itself. A new
 * `fetcher` (new service, new filters) makes a new source that starts over; pass a stable (memoised) fetcher.
 */
export function useRowSource<F, S extends object, Src extends RowSource<S>>(
  fetcher: F,
  create: (fetcher: F) => Src & RowSource<S>,
): S & { source: Src } {
  const source = useMemo(() => create(fetcher), [create, fetcher])
  useEffect(() => {
    source.start()
    return () => source.dispose()
  }, [source])
  const snap = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot)
  return { ...snap, source }
}
