import { describe, expect, it } from 'vitest'
import { completionText, confirmLabel, outcomeOf, progressText } from './commands'

describe('breaker command tracking', () => {
  it('is applied only once every targeted instance applied the command', () => {
    expect(outcomeOf({ appliedCount: 1, targetCount: 2, superseded: false }, 1000)).toBe('pending')
    expect(outcomeOf({ appliedCount: 2, targetCount: 2, superseded: false }, 1000)).toBe('applied')
  })

  it('never claims success when no instance is live to apply it', () => {
    expect(outcomeOf({ appliedCount: 0, targetCount: 0, superseded: false }, 1000)).toBe('pending')
    expect(outcomeOf({ appliedCount: 0, targetCount: 0, superseded: false }, 30_000)).toBe('timeout')
  })

  it('reports a command a newer one replaced as superseded', () => {
    expect(outcomeOf({ appliedCount: 0, targetCount: 2, superseded: true }, 1000)).toBe('superseded')
  })

  it('shows progress as "<command>: applied on n/m"', () => {
    expect(progressText({ command: 'forceOpen', applied: 2, total: 2, status: 'applied', error: null })).toBe('forceOpen: applied on 2/2')
  })

  it('toasts completion with the command label', () => {
    expect(completionText({ command: 'forceOpen', breaker: 'payments', applied: 2, total: 2, status: 'applied', error: null })).toBe(
      'Force open applied on 2/2',
    )
    expect(confirmLabel('forceClosed')).toBe('Confirm force closed')
  })
})
