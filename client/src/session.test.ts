import { describe, expect, it } from 'vitest'
import { recordIssued, useIssuedCommands } from './components/breakers/issuedCommands'
import { sessionEnded } from './session'
import { useSessionStore } from './store'

describe('sessionEnded', () => {
  it('forgets the commands this tab issued and shows the login form with a notice', () => {
    recordIssued({ service: 'shop', breaker: 'payments', command: 'reset', commandId: 'c1', generation: 3, instance: null })
    sessionEnded()
    expect(useIssuedCommands.getState().byKey).toEqual({})
    expect(useSessionStore.getState()).toMatchObject({ auth: 'signedOut', role: null, authNotice: 'Your session ended — sign in again.' })
  })
})
