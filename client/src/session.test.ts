import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { recordIssued, useIssuedCommands } from './components/breakers/issuedCommands'
import { API_CACHE_NAME, sessionEnded } from './session'
import { useSessionStore, useSnapshotStore } from './store'

// zustand's clearStorage drops idb-keyval's promise (rejected under Node, no IndexedDB): observe the call only.
let clearStorage: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  clearStorage = vi.spyOn(useSnapshotStore.persist, 'clearStorage').mockImplementation(() => undefined)
})
afterEach(() => {
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('sessionEnded', () => {
  it('forgets the commands this tab issued and shows the login form with a notice', () => {
    recordIssued({ service: 'shop', breaker: 'payments', command: 'reset', commandId: 'c1', generation: 3, instance: null })
    sessionEnded()
    expect(useIssuedCommands.getState().byKey).toEqual({})
    expect(useSessionStore.getState()).toMatchObject({ auth: 'signedOut', role: null, authNotice: 'Your session ended — sign in again.' })
  })

  it('clears the cached API answers and the offline snapshot exactly as sign-out does (session expiry)', async () => {
    const deleted: string[] = []
    vi.stubGlobal('caches', { delete: async (name: string) => (deleted.push(name), true) })
    vi.spyOn(console, 'warn').mockImplementation(() => undefined) // no IndexedDB under Node: persist writes warn
    useSnapshotStore.setState({ snapshot: { asOfMs: 1, windowMs: 60_000, services: [], breakers: [] } as never, pages: { 'endpoints?service=a': { asOfMs: 1, data: [] } } })
    sessionEnded()
    expect(useSnapshotStore.getState()).toMatchObject({ snapshot: null, pages: {} })
    await vi.waitFor(() => expect(deleted).toEqual([API_CACHE_NAME]))
    expect(clearStorage).toHaveBeenCalledTimes(1)
  })
})
