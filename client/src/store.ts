/**
 * Client state (zustand 5). Two stores, because they live differently:
 * - `useSnapshotStore`: the last `OverviewSnapshot`, persisted to IndexedDB so an offline reload renders it.
 * - `useSessionStore`: auth status, role and connectivity; never persisted (a reload re-checks them).
 * Commands this tab issued have their own store beside the breaker UI (components/breakers/issuedCommands.ts).
 * Selectors used with these hooks must return stored references or primitives (v5: a fresh object per call
 * re-renders forever).
 */
import { create } from 'zustand'
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware'
import { del, get, set } from 'idb-keyval'
import type { OverviewSnapshot, Role } from '../../shared/schemas'
import { coalesceWrites } from './writeCoalescer'

/** IndexedDB key (idb-keyval default store) of the persisted snapshot. */
export const SNAPSHOT_STORAGE_KEY = 'fusebox-snapshot'
/** Version of the persisted shape; bump it and extend `migrate` when `PersistedSnapshot` changes. */
export const SNAPSHOT_STORE_VERSION = 2
/** Most page-data entries kept (oldest `asOfMs` dropped first), so IndexedDB stays small. */
export const MAX_PAGE_ENTRIES = 40

const idbWriter = coalesceWrites((key, value) => set(key, value))

/** zustand `StateStorage` over idb-keyval; writes are coalesced (one per key in flight, last wins). */
const idbStorage: StateStorage = {
  getItem: async (key) => (await get<string>(key)) ?? null,
  setItem: (key, value) =>
    idbWriter.write(key, value).catch((err: unknown) => console.warn('Could not persist the snapshot', err)),
  removeItem: async (key) => {
    await idbWriter.cancel(key)
    await del(key)
  },
}

/** The last data a page showed, for an offline reload: `asOfMs` = when it was fetched (epoch ms). */
export interface PageEntry<T = unknown> {
  asOfMs: number
  data: T
}

interface PersistedSnapshot {
  snapshot: OverviewSnapshot | null
  /** Last data per page, keyed by page + params (e.g. `endpoints?service=a&range=1h`). */
  pages: Record<string, PageEntry>
}

interface SnapshotState extends PersistedSnapshot {
  /**
   * The absolute window end (epoch ms) `snapshot` was read for (a paused view), or null for a window ending at its
   * `asOfMs` (live, and any persisted snapshot). Not persisted.
   */
  snapshotUntilMs: number | null
  /** Replaces the snapshot, read for `untilMs` (default null: live); ordering of live events is liveFeed.ts's job. */
  setSnapshot: (next: OverviewSnapshot, untilMs?: number | null) => void
  /** Forgets the snapshot and every page's data (sign-out). */
  clearSnapshot: () => void
}

/** Minimal structural check of a persisted snapshot, so a corrupt or foreign value is dropped, not rendered. */
function isSnapshot(x: unknown): x is OverviewSnapshot {
  if (typeof x !== 'object' || x === null) return false
  const s = x as Record<string, unknown>
  return typeof s.asOfMs === 'number' && Array.isArray(s.services) && Array.isArray(s.breakers)
}

/** The last overview snapshot and each page's last data (`{ snapshot, pages }`), persisted to IndexedDB (version 2). */
export const useSnapshotStore = create<SnapshotState>()(
  persist(
    (setState) => ({
      snapshot: null,
      snapshotUntilMs: null,
      pages: {},
      setSnapshot: (next, untilMs = null) => setState({ snapshot: next, snapshotUntilMs: untilMs }),
      clearSnapshot: () => setState({ snapshot: null, snapshotUntilMs: null, pages: {} }),
    }),
    {
      name: SNAPSHOT_STORAGE_KEY,
      version: SNAPSHOT_STORE_VERSION,
      storage: createJSONStorage(() => idbStorage),
      partialize: (s): PersistedSnapshot => ({ snapshot: s.snapshot, pages: s.pages }),
      // v1 → v2 added `pages` (keep the v1 snapshot). Anything else (an unversioned dev build, a future
      // downgrade) is dropped: it is a cache and the next fetch replaces it.
      migrate: (persisted, version): PersistedSnapshot => {
        const old = persisted as Partial<PersistedSnapshot> | null
        const candidate = old?.snapshot
        const snapshot = (version === 1 || version === 2) && isSnapshot(candidate) ? candidate : null
        const pages = version === 2 && isPageMap(old?.pages) ? old.pages : {}
        return { snapshot, pages }
      },
      merge: (persisted, current) => {
        const p = persisted as Partial<PersistedSnapshot> | undefined
        const candidate = p?.snapshot
        // Keep data that arrived before hydration finished, and never load a malformed value. A loaded one is a
        // window that ended at its asOfMs (snapshotUntilMs null).
        const snapshot = current.snapshot ?? (isSnapshot(candidate) ? candidate : null)
        const snapshotUntilMs = current.snapshot !== null ? current.snapshotUntilMs : null
        const pages = isPageMap(p?.pages) ? { ...p.pages, ...current.pages } : current.pages
        return { ...current, snapshot, snapshotUntilMs, pages }
      },
    },
  ),
)

function isPageMap(x: unknown): x is Record<string, PageEntry> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false
  return Object.values(x).every((e) => typeof e === 'object' && e !== null && typeof (e as PageEntry).asOfMs === 'number' && 'data' in e)
}

/**
 * The last data stored for a page key (see `setPageData`), or undefined. `T` is the caller's claim about the
 * shape it stored under that key; keys must therefore name the page and every param that shapes the data.
 */
export function usePageData<T>(key: string): PageEntry<T> | undefined {
  return useSnapshotStore((s) => s.pages[key]) as PageEntry<T> | undefined
}

/** Stores a page's data under `key` (persisted to IndexedDB), as of `asOfMs` (default now); evicts the oldest. */
export function setPageData<T>(key: string, data: T, asOfMs: number = Date.now()): void {
  useSnapshotStore.setState((s) => {
    const pages: Record<string, PageEntry> = { ...s.pages, [key]: { asOfMs, data } }
    const keys = Object.keys(pages)
    if (keys.length > MAX_PAGE_ENTRIES) {
      keys.sort((a, b) => (pages[a]?.asOfMs ?? 0) - (pages[b]?.asOfMs ?? 0))
      for (const k of keys.slice(0, keys.length - MAX_PAGE_ENTRIES)) delete pages[k]
    }
    return { pages }
  })
}

/** Resolves once the persisted snapshot has been read from IndexedDB (or reading it failed). */
export function snapshotHydrated(): Promise<void> {
  if (useSnapshotStore.persist.hasHydrated()) return Promise.resolve()
  return new Promise((resolve) => {
    const unsubscribe = useSnapshotStore.persist.onFinishHydration(() => {
      unsubscribe()
      resolve()
    })
  })
}

/**
 * - `checking`: asking the server who we are.
 * - `signedOut`: no session; show the login form.
 * - `signedIn`: session confirmed; live data flows.
 * - `offline`: server unreachable and a persisted snapshot exists; render it, retry in the background.
 * - `unreachable`: server unreachable and nothing to show; login form with a notice, retry in the background.
 */
export type AuthStatus = 'checking' | 'signedOut' | 'signedIn' | 'offline' | 'unreachable'

interface SessionState {
  auth: AuthStatus
  /** Role of the confirmed session; null when unknown (signed out, or offline before it was confirmed). */
  role: Role | null
  /** Message for the login form (bad token, session ended, server unreachable); null when none. */
  authNotice: string | null
  /** `navigator.onLine`, kept current by the online/offline events. */
  browserOnline: boolean
  /** The last fetch or the live subscription failed at the network level and has not recovered since. */
  linkDown: boolean
  /**
   * Why live data stopped while the server is reachable (its message, e.g. a 503 "Redis is unreachable: …"); null
   * when the last live snapshot arrived fine. Set and cleared by liveFeed.ts.
   */
  liveError: string | null
}

/** Auth status, role, connectivity and the live error (`SessionState`); never persisted. */
export const useSessionStore = create<SessionState>()(() => ({
  auth: 'checking',
  role: null,
  authNotice: null,
  browserOnline: typeof navigator === 'undefined' ? true : navigator.onLine,
  linkDown: false,
  liveError: null,
}))

/** Whether the dashboard is showing persisted rather than live data (banner, commands disabled). */
export function useIsOffline(): boolean {
  return useSessionStore((s) => !s.browserOnline || s.linkDown || s.auth === 'offline')
}
