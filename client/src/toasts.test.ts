import { beforeEach, describe, expect, it } from 'vitest'
import { TOAST_TIMEOUT_MS, toast, useToastStore } from './toasts'

describe('toasts', () => {
  beforeEach(() => useToastStore.setState({ toasts: [] }))

  it('an info toast goes after 5 s of visible time; an error toast stays until dismissed', () => {
    toast('Reset: 2/2 applied', 'success')
    const error = toast('Reset failed: 503', 'error')
    const { tick } = useToastStore.getState()
    tick(TOAST_TIMEOUT_MS - 1)
    expect(useToastStore.getState().toasts.map((t) => t.message)).toEqual(['Reset: 2/2 applied', 'Reset failed: 503'])
    tick(1)
    expect(useToastStore.getState().toasts.map((t) => t.message)).toEqual(['Reset failed: 503'])
    tick(60 * TOAST_TIMEOUT_MS)
    expect(useToastStore.getState().toasts).toHaveLength(1)
    useToastStore.getState().dismiss(error)
    expect(useToastStore.getState().toasts).toHaveLength(0)
  })
})
