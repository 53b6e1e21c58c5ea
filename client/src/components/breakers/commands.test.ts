import { describe, expect, it } from 'vitest'
import type { CommandStatusData } from '../../api'
import { COMMAND_EFFECTS, commandEffect, completionText, confirmLabel, NO_PROGRESS, outcomeOf, progressText, trackingOf } from './commands'

/** The parts of a status answer the outcome reads. */
const answer = (complete: boolean, targets: number, superseded = false) =>
  ({ complete, superseded, targets: Array.from({ length: targets }, (_, i) => ({ instance: `i${i}` })) }) as unknown as CommandStatusData

describe('breaker command tracking', () => {
  it('is applied only once the server says every target not gone applied it', () => {
    expect(outcomeOf(answer(false, 3), 1000)).toBe('pending')
    expect(outcomeOf(answer(true, 3), 1000)).toBe('applied')
  })

  it('never claims success when the command had no live instance to reach', () => {
    expect(outcomeOf(answer(false, 0), 1000)).toBe('noTargets')
    expect(progressText({ command: 'reset', ...NO_PROGRESS, status: 'noTargets' })).toMatch(/no live instance/)
  })

  it('times out a command still pending after 30 s', () => {
    expect(outcomeOf(answer(false, 3), 30_000)).toBe('timeout')
  })

  it('reports a command a newer one replaced as superseded', () => {
    expect(outcomeOf(answer(false, 2, true), 1000)).toBe('superseded')
  })

  it('shows "2/3 applied, 1 pending (storefront-3 unreachable)" while one of three targets is cut off', () => {
    const t = trackingOf({ appliedCount: 2, targetCount: 3, pendingCount: 1, unreachable: ['storefront-3'], gone: [] })
    expect(progressText({ command: 'forceOpen', ...t, status: 'pending', error: null })).toBe(
      'forceOpen: 2/3 applied, 1 pending (storefront-3 unreachable)',
    )
  })

  it('names pending targets that still heartbeat without calling them unreachable, and gone ones apart', () => {
    const t = trackingOf({ appliedCount: 1, targetCount: 2, pendingCount: 1, unreachable: [], gone: ['storefront-9'] })
    expect(progressText({ command: 'reset', ...t, status: 'pending', error: null })).toBe('reset: 1/2 applied, 1 pending, 1 gone (storefront-9)')
  })

  it('toasts completion with the command label', () => {
    const t = trackingOf({ appliedCount: 2, targetCount: 2, pendingCount: 0, unreachable: [], gone: [] })
    expect(completionText({ command: 'forceOpen', breaker: 'payments', ...t, status: 'applied', error: null })).toBe('Force open: 2/2 applied')
    expect(completionText({ command: 'forceOpen', breaker: 'payments', ...t, applied: 1, pending: 1, unreachable: ['b'], status: 'timeout', error: null })).toBe(
      'Force open on payments not confirmed after 30 s: 1/2 applied, 1 pending (b unreachable)',
    )
    expect(confirmLabel('forceClosed')).toBe('Confirm force closed')
  })
})

describe('commandEffect', () => {
  const now = { resetTimeoutMs: 5000, errorThresholdPercentage: 50, volumeThreshold: 5 }
  it('says that releasing a forced-open breaker leaves it OPEN until the reset timeout lets a probe through', () => {
    const text = commandEffect('release', { ...now, state: 'FORCED_OPEN' })
    expect(text).toContain('stays OPEN until its reset timeout (5 s)')
    expect(text).toContain('HALF_OPEN')
  })
  it('says what follows a forced-closed release, and that releasing a breaker not forced changes nothing', () => {
    expect(commandEffect('release', { ...now, state: 'FORCED_CLOSED' })).toContain('opens again when failures pass 50 % of at least 5 calls')
    expect(commandEffect('release', { ...now, state: 'OPEN' })).toContain('Release changes nothing')
  })
  it('falls back to the general effect without the breaker', () => {
    expect(commandEffect('forceOpen')).toBe(COMMAND_EFFECTS.forceOpen)
    expect(commandEffect('reset', { ...now, state: 'FORCED_OPEN' })).toContain('Reset lifts that')
  })
})
