/**
 * UI preferences that outlive a tab: which optional columns the Endpoints table shows. Persisted to localStorage
 * (small and synchronous, like the theme pick, so the first render already has them), as a zustand persist store
 * with a version and a `migrate`.
 */
import { create } from 'zustand'
import { createJSONStorage, persist } from 'zustand/middleware'

/** localStorage key of the preferences. */
export const PREFS_STORAGE_KEY = 'fusebox-prefs'
/** Version of the persisted shape; bump it and extend `migratePrefs` when `Prefs` changes. */
export const PREFS_STORE_VERSION = 1

/** Columns of the Endpoints table a person can show or hide (ids = the server's sort keys); hidden by default. */
export const OPTIONAL_ENDPOINT_COLUMNS = ['p999Ms'] as const
export type OptionalEndpointColumn = (typeof OPTIONAL_ENDPOINT_COLUMNS)[number]

/** The persisted preferences. */
export interface Prefs {
  /** Optional Endpoints columns shown, in no particular order. */
  endpointColumns: OptionalEndpointColumn[]
}

interface PrefsState extends Prefs {
  /** Shows or hides an optional Endpoints column (persisted). */
  setEndpointColumn: (column: OptionalEndpointColumn, shown: boolean) => void
}

const DEFAULT_PREFS: Prefs = { endpointColumns: [] }

function isOptionalColumn(x: unknown): x is OptionalEndpointColumn {
  return OPTIONAL_ENDPOINT_COLUMNS.some((c) => c === x)
}

/**
 * Reads persisted preferences of `version`: version 1 keeps its known columns (an unknown or duplicated one is
 * dropped); anything else (a foreign value, a future version) gives the defaults — preferences are cheap to redo.
 */
export function migratePrefs(persisted: unknown, version: number): Prefs {
  if (version !== 1 || typeof persisted !== 'object' || persisted === null) return DEFAULT_PREFS
  const cols = (persisted as { endpointColumns?: unknown }).endpointColumns
  return { endpointColumns: Array.isArray(cols) ? [...new Set(cols.filter(isOptionalColumn))] : [] }
}

/** The dashboard's UI preferences (`Prefs`), persisted to localStorage (version 1). */
export const usePrefsStore = create<PrefsState>()(
  persist(
    (setState) => ({
      ...DEFAULT_PREFS,
      setEndpointColumn: (column, shown) =>
        setState((s) => {
          const rest = s.endpointColumns.filter((c) => c !== column)
          return { endpointColumns: shown ? [...rest, column] : rest }
        }),
    }),
    {
      name: PREFS_STORAGE_KEY,
      version: PREFS_STORE_VERSION,
      // Without storage (private mode, tests under Node) createJSONStorage gives none: preferences last the page.
      storage: createJSONStorage(() => localStorage),
      partialize: (s): Prefs => ({ endpointColumns: s.endpointColumns }),
      migrate: migratePrefs,
      // A stored value of this version passes through the same check (a hand-edited or corrupt value is dropped).
      merge: (persisted, current) => ({ ...current, ...migratePrefs(persisted, PREFS_STORE_VERSION) }),
    },
  ),
)

/** Whether the optional Endpoints column `column` is shown. */
export function useEndpointColumnShown(column: OptionalEndpointColumn): boolean {
  return usePrefsStore((s) => s.endpointColumns.includes(column))
}
