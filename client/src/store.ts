/**
 * Client state (zustand 5). Three stores, because they live differently:
 * - `useSnapshotStore`: the last `OverviewSnapshot`, persisted to IndexedDB so an offline reload renders it.
 * - `useSessionStore`: auth status, role and connectivity; never persisted (a reload re-checks them).
 * - `useCommandStore`: commands this tab issued, to show "applied on n/m"; never persisted.
 * Selectors used with these hooks must return stored references or primitives (v5: a fresh object per call
 * re-renders forever).
 */
import { create } from 'zustand'
import { createJSONStorage, persist, type StateStorage } from 'zustand/middleware'
import { del, get, set } from 'idb-keyval'
import type { OverviewSnapshot, Role } from '../../shared/schemas'
import { breakerKey } from './breakerView'
import { coalesceWrites } from './writeCoalescer'

/** IndexedDB key (idb-keyval default store) of the persisted snapshot. */
export const SNAPSHOT_STORAGE_KEY = 'fusebox-snapshot'
/** Version of the persisted shape; bump it and extend `migrate` when `PersistedSnapshot` changes. */
export const SNAPSHOT_STORE_VERSION = 1

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

interface PersistedSnapshot {
  snapshot: OverviewSnapshot | null
}

interface SnapshotState extends PersistedSnapshot {
  /** Replaces the snapshot (live feed ordering is the caller's job, see liveFeed.ts). */
  setSnapshot: (next: OverviewSnapshot) => void
  /** Forgets the snapshot (sign-out). */
  clearSnapshot: () => void
}

/** Minimal structural check of a persisted snapshot, so a corrupt or foreign value is dropped, not rendered. */
function isSnapshot(x: unknown): x is OverviewSnapshot {
  if (typeof x !== 'object' || x === null) return false
  const s = x as Record<string, unknown>
  return typeof s.asOfMs === 'number' && Array.isArray(s.services) && Array.isArray(s.breakers)
}

export const useSnapshotStore = create<SnapshotState>()(
  persist(
    (setState) => ({
      snapshot: null,
      setSnapshot: (next) => setState({ snapshot: next }),
      clearSnapshot: () => setState({ snapshot: null }),
    }),
    {
      name: SNAPSHOT_STORAGE_KEY,
      version: SNAPSHOT_STORE_VERSION,
      storage: createJSONStorage(() => idbStorage),
      partialize: (s): PersistedSnapshot => ({ snapshot: s.snapshot }),
      // Only version 1 exists. Anything else (an unversioned dev build, a future downgrade) is dropped: the
      // snapshot is a cache and the next fetch replaces it.
      migrate: (persisted, version): PersistedSnapshot => {
        const candidate = (persisted as Partial<PersistedSnapshot> | null)?.snapshot
        return version === SNAPSHOT_STORE_VERSION && isSnapshot(candidate) ? { snapshot: candidate } : { snapshot: null }
      },
      merge: (persisted, current) => {
        const candidate = (persisted as Partial<PersistedSnapshot> | undefined)?.snapshot
        // Keep a snapshot that arrived before hydration finished, and never load a malformed one.
        if (current.snapshot || !isSnapshot(candidate)) return current
        return { ...current, snapshot: candidate }
      },
    },
  ),
)

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
}

export const useSessionStore = create<SessionState>()(() => ({
  auth: 'checking',
  role: null,
  authNotice: null,
  browserOnline: typeof navigator === 'undefined' ? true : navigator.onLine,
  linkDown: false,
}))

/** Whether the dashboard is showing persisted rather than live data (banner, commands disabled). */
export function useIsOffline(): boolean {
  return useSessionStore((s) => !s.browserOnline || s.linkDown || s.auth === 'offline')
}

/** A command this tab issued, identified by the generation the server returned. */
export interface IssuedCommand {
  service: string
  breaker: string
  command: string
  commandId: string
  generation: number
}

interface CommandState {
  /** Latest command issued from this tab per breaker, keyed by `breakerKey(service, breaker)`. */
  issued: Record<string, IssuedCommand>
  recordIssued: (cmd: IssuedCommand) => void
  clearIssued: () => void
}

export const useCommandStore = create<CommandState>()((setState) => ({
  issued: {},
  recordIssued: (cmd) =>
    setState((s) => ({ issued: { ...s.issued, [breakerKey(cmd.service, cmd.breaker)]: cmd } })),
  clearIssued: () => setState({ issued: {} }),
}))
