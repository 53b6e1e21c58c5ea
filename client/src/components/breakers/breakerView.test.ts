import { describe, expect, it } from 'vitest'
import { agreementText, commandBlockedReason, commandProgress, isDisagreement, stateTone } from './breakerView'

describe('agreementText', () => {
  it('says how many live instances are in the cluster state', () => {
    expect(agreementText({ clusterState: 'OPEN', inClusterState: 1, instancesReporting: 2 })).toBe('OPEN on 1/2')
    expect(isDisagreement({ inClusterState: 1, instancesReporting: 2 })).toBe(true)
  })

  it('says so when no live instance reports the breaker', () => {
    expect(agreementText({ clusterState: 'CLOSED', inClusterState: 0, instancesReporting: 0 })).toBe('no live instances')
    expect(isDisagreement({ inClusterState: 0, instancesReporting: 0 })).toBe(false)
  })
})

describe('commandProgress', () => {
  it('reports zero applied while the snapshot still shows an older generation', () => {
    const p = commandProgress({ desiredGeneration: 4, appliedCount: 2, instancesReporting: 2 }, 5)
    expect(p).toMatchObject({ status: 'waiting', applied: 0, total: 2, text: 'applied on 0/2' })
  })

  it('reports partial progress until every reporting instance has applied the generation', () => {
    const p = commandProgress({ desiredGeneration: 5, appliedCount: 1, instancesReporting: 3 }, 5)
    expect(p).toMatchObject({ status: 'partial', text: 'applied on 1/3' })
  })

  it('reports applied once all reporting instances have applied the generation', () => {
    const p = commandProgress({ desiredGeneration: 5, appliedCount: 2, instancesReporting: 2 }, 5)
    expect(p).toMatchObject({ status: 'applied', text: 'applied on 2/2' })
  })

  it('never claims success when no instance is reporting', () => {
    expect(commandProgress({ desiredGeneration: 5, appliedCount: 0, instancesReporting: 0 }, 5).status).toBe('partial')
  })

  it('reports a newer command by someone else as superseding ours', () => {
    expect(commandProgress({ desiredGeneration: 6, appliedCount: 1, instancesReporting: 2 }, 5).status).toBe('superseded')
  })
})

describe('commandBlockedReason', () => {
  it('allows commands only for an online operator', () => {
    expect(commandBlockedReason({ role: 'operator', offline: false })).toBeNull()
  })

  it('explains that viewers cannot issue commands', () => {
    expect(commandBlockedReason({ role: 'viewer', offline: false })).toMatch(/viewer/)
  })

  it('gives the offline reason before the role reason', () => {
    expect(commandBlockedReason({ role: 'operator', offline: true })).toMatch(/^Offline/)
    expect(commandBlockedReason({ role: 'viewer', offline: true })).toMatch(/^Offline/)
  })
})

describe('stateTone', () => {
  it('gives forced states their own tone so an override is never mistaken for the breaker tripping', () => {
    expect(stateTone('FORCED_OPEN')).toBe('forced')
    expect(stateTone('OPEN')).toBe('bad')
    expect(stateTone('CLOSED')).toBe('ok')
  })
})
