import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CommandStatusData } from '../../api'
import { useToastStore } from '../../toasts'
import { STATUS_POLL_MS } from './commands'
import { clearIssuedCommands, recordIssued, trackCommand, useIssuedCommands } from './issuedCommands'

const CMD = { service: 'shop', breaker: 'payments', command: 'forceOpen', generation: 7, instance: null } as const

/** A status answer over targets i1…i<targetCount>, the first `appliedCount` applied, the rest unreachable. */
function status(appliedCount: number, targetCount: number): CommandStatusData {
  const names = Array.from({ length: targetCount }, (_, i) => `i${i + 1}`)
  const unreachable = names.slice(appliedCount)
  return {
    commandId: 'c1',
    generation: 7,
    targets: names.map((instance, i) => ({ instance, state: i < appliedCount ? 'applied' : 'unreachable' })),
    appliedCount,
    targetCount,
    pendingCount: targetCount - appliedCount,
    unreachable,
    gone: [],
    complete: targetCount > 0 && appliedCount === targetCount,
    superseded: false,
  } as unknown as CommandStatusData
}

function entry() {
  return useIssuedCommands.getState().byKey['shop/payments']
}

beforeEach(() => {
  vi.useFakeTimers()
  clearIssuedCommands()
  useToastStore.setState({ toasts: [] })
})
afterEach(() => vi.useRealTimers())

describe('issued commands', () => {
  it('keeps the latest command per breaker, whether tracked or followed through the live snapshot', () => {
    recordIssued({ ...CMD, command: 'reset', commandId: 'c0', generation: 6 })
    expect(entry()).toMatchObject({ command: 'reset', commandId: 'c0', tracking: null })
    trackCommand({ ...CMD, commandId: 'c1' }, () => new Promise(() => undefined))
    expect(entry()).toMatchObject({ command: 'forceOpen', commandId: 'c1', tracking: { status: 'pending', applied: 0, total: 0 } })
  })

  it('tracks a command until every targeted instance applied it, then toasts the outcome', async () => {
    const answers = [status(1, 2), status(2, 2)]
    const fetchStatus = vi.fn(() => Promise.resolve(answers.shift() ?? status(2, 2)))
    trackCommand({ ...CMD, commandId: 'c1' }, fetchStatus)
    await vi.advanceTimersByTimeAsync(0)
    expect(entry()?.tracking).toMatchObject({ status: 'pending', applied: 1, total: 2, pending: 1, unreachable: ['i2'] })
    await vi.advanceTimersByTimeAsync(STATUS_POLL_MS)
    expect(entry()?.tracking).toMatchObject({ status: 'applied', applied: 2, total: 2 })
    expect(useToastStore.getState().toasts.map((t) => t.message)).toEqual(['Force open: 2/2 applied'])
    expect(fetchStatus).toHaveBeenCalledTimes(2)
  })

  it('forgets every command and stops tracking, without a toast, when the session ends', async () => {
    const fetchStatus = vi.fn(() => Promise.resolve(status(0, 2)))
    trackCommand({ ...CMD, commandId: 'c1' }, fetchStatus)
    await vi.advanceTimersByTimeAsync(0)
    clearIssuedCommands()
    expect(useIssuedCommands.getState().byKey).toEqual({})
    await vi.advanceTimersByTimeAsync(10 * STATUS_POLL_MS)
    expect(fetchStatus).toHaveBeenCalledTimes(1)
    expect(useToastStore.getState().toasts).toEqual([])
  })
})
