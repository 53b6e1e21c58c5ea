import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { watchForUpdates, type UpdateCheckEnv } from './updateChecks'

/** A fake browser: event targets, a visibility state, an online flag and a clock the test moves. */
function fakeEnv() {
  const win = new EventTarget()
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' as DocumentVisibilityState })
  const state = { online: true, now: 1_000_000 }
  const env: Partial<UpdateCheckEnv> = {
    win,
    doc,
    isOnline: () => state.online,
    now: () => state.now,
    intervalMs: 3_600_000,
    throttleMs: 60_000,
  }
  const update = vi.fn(() => Promise.resolve(undefined))
  const registration = { update } as unknown as Pick<ServiceWorkerRegistration, 'update'>
  const becomeVisible = (visibility: DocumentVisibilityState = 'visible') => {
    doc.visibilityState = visibility
    doc.dispatchEvent(new Event('visibilitychange'))
  }
  const comeOnline = () => {
    state.online = true
    win.dispatchEvent(new Event('online'))
  }
  return { env, state, update, registration, becomeVisible, comeOnline }
}

describe('watchForUpdates', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('checks when the tab becomes visible and when the browser comes back online', () => {
    const f = fakeEnv()
    const stop = watchForUpdates(f.registration, f.env)
    expect(f.update).not.toHaveBeenCalled()
    f.becomeVisible()
    expect(f.update).toHaveBeenCalledTimes(1)
    f.state.now += 60_000
    f.comeOnline()
    expect(f.update).toHaveBeenCalledTimes(2)
    stop()
  })

  it('checks at most once a minute for those events', () => {
    const f = fakeEnv()
    const stop = watchForUpdates(f.registration, f.env)
    f.becomeVisible()
    f.state.now += 10_000
    f.comeOnline()
    f.becomeVisible()
    f.state.now += 49_999
    f.becomeVisible()
    expect(f.update).toHaveBeenCalledTimes(1)
    f.state.now += 1
    f.becomeVisible()
    expect(f.update).toHaveBeenCalledTimes(2)
    stop()
  })

  it('ignores the tab being hidden and never checks while offline', () => {
    const f = fakeEnv()
    const stop = watchForUpdates(f.registration, f.env)
    f.becomeVisible('hidden')
    expect(f.update).not.toHaveBeenCalled()
    f.state.online = false
    f.becomeVisible()
    vi.advanceTimersByTime(3_600_000)
    expect(f.update).not.toHaveBeenCalled()
    // Offline did not use up the minute: coming back online checks at once.
    f.comeOnline()
    expect(f.update).toHaveBeenCalledTimes(1)
    stop()
  })

  it('still checks hourly, and a failed check is swallowed', async () => {
    const f = fakeEnv()
    f.update.mockImplementation(() => Promise.reject(new Error('offline')))
    const unhandled = vi.fn()
    process.on('unhandledRejection', unhandled)
    try {
      const stop = watchForUpdates(f.registration, f.env)
      vi.advanceTimersByTime(3_600_000)
      expect(f.update).toHaveBeenCalledTimes(1)
      vi.advanceTimersByTime(3_600_000)
      expect(f.update).toHaveBeenCalledTimes(2)
      await vi.waitFor(() => Promise.resolve())
      stop()
    } finally {
      process.off('unhandledRejection', unhandled)
    }
    expect(unhandled).not.toHaveBeenCalled()
  })

  it('stops listening and polling when stopped', () => {
    const f = fakeEnv()
    watchForUpdates(f.registration, f.env)()
    f.becomeVisible()
    f.comeOnline()
    vi.advanceTimersByTime(3 * 3_600_000)
    expect(f.update).not.toHaveBeenCalled()
  })
})
