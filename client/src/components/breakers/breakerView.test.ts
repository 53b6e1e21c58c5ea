import { describe, expect, it } from 'vitest'
import { agreementText, isDisagreement, stateTone } from './breakerView'

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

describe('stateTone', () => {
  it('gives forced states their own tone so an override is never mistaken for the breaker tripping', () => {
    expect(stateTone('FORCED_OPEN')).toBe('forced')
    expect(stateTone('OPEN')).toBe('bad')
    expect(stateTone('CLOSED')).toBe('ok')
  })
})
