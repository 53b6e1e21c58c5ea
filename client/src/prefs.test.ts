import { describe, expect, it } from 'vitest'
import { migratePrefs, PREFS_STORE_VERSION } from './prefs'

describe('UI preferences', () => {
  it('a stored version 1 keeps its known optional columns once each and drops unknown ones', () => {
    expect(migratePrefs({ endpointColumns: ['p999Ms', 'p999Ms', 'bogus', 7] }, 1)).toEqual({ endpointColumns: ['p999Ms'] })
    expect(migratePrefs({ endpointColumns: [] }, PREFS_STORE_VERSION)).toEqual({ endpointColumns: [] })
  })

  it('a foreign, corrupt or future value gives the defaults (every optional column hidden)', () => {
    expect(migratePrefs(null, 1)).toEqual({ endpointColumns: [] })
    expect(migratePrefs('p999Ms', 1)).toEqual({ endpointColumns: [] })
    expect(migratePrefs({ endpointColumns: 'p999Ms' }, 1)).toEqual({ endpointColumns: [] })
    expect(migratePrefs({ endpointColumns: ['p999Ms'] }, 2)).toEqual({ endpointColumns: [] })
  })
})
