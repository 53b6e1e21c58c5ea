import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { recordIssued, useIssuedCommands } from './components/breakers/issuedCommands'
import { API_CACHE_NAME, rejectedTokenNotice, sessionEnded, tokenFromInput } from './session'
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

describe('tokens from the login form', () => {
  it('a pasted login link gives its token as a link; anything else is a typed token, trimmed', () => {
    expect(tokenFromInput('  http://127.0.0.1:4500/#token=abc123  ')).toEqual({ token: 'abc123', source: 'link' })
    expect(tokenFromInput('https://fusebox.example/base/?service=a#token=x%2By')).toEqual({ token: 'x+y', source: 'link' })
    expect(tokenFromInput(' my-access-token ')).toEqual({ token: 'my-access-token', source: 'typed' })
    expect(tokenFromInput('http://127.0.0.1:4500/#other=1')).toBeNull()
    expect(tokenFromInput('   ')).toBeNull()
  })

  it('a rejected link says it was used or expired; a rejected typed token does not talk about links being one-time', () => {
    expect(rejectedTokenNotice('link')).toMatch(/used already or has expired/)
    expect(rejectedTokenNotice('typed')).toMatch(/access token was not accepted/)
    expect(rejectedTokenNotice('typed')).not.toMatch(/once/)
  })
})
