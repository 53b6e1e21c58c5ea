import { describe, expect, it } from 'vitest'
import { commandBlockedReason } from './commandGate'

describe('commandBlockedReason', () => {
  it('allows commands only for an online operator', () => {
    expect(commandBlockedReason({ role: 'operator', offline: false })).toBeNull()
  })

  it('explains that viewers cannot issue commands', () => {
    expect(commandBlockedReason({ role: 'viewer', offline: false })).toMatch(/viewer/)
  })

  it('disables commands while the server cannot reach Redis, whatever the role, and says why', () => {
    expect(commandBlockedReason({ role: 'operator', offline: false, serverError: 'Redis is unreachable: connect ECONNREFUSED' })).toMatch(/Redis is unreachable/)
    expect(commandBlockedReason({ role: 'viewer', offline: false, serverError: 'Redis is unreachable' })).toMatch(/cannot act now/)
    expect(commandBlockedReason({ role: 'operator', offline: true, serverError: 'Redis is unreachable' })).toMatch(/^Offline/)
  })

  it('gives the offline reason before the role reason', () => {
    expect(commandBlockedReason({ role: 'operator', offline: true })).toMatch(/^Offline/)
    expect(commandBlockedReason({ role: 'viewer', offline: true })).toMatch(/^Offline/)
  })
})
