import { afterEach, describe, expect, it, vi } from 'vitest'
import type { OverviewSnapshot } from '../../shared/schemas'
import { FAILURE_REPORT_INTERVAL_MS, LiveHub } from './liveHub'

afterEach(() => vi.useRealTimers())

const snapshot = (asOfMs: number) => ({ asOfMs, services: [], breakers: [] }) as unknown as OverviewSnapshot

describe('LiveHub failure reports', () => {
  it('reports the first failure of a run, then one a minute with the count, then the recovery', async () => {
    vi.useFakeTimers()
    let down = true
    const errors: number[] = []
    const recovered: number[] = []
    const hub = new LiveHub(
      () => (down ? Promise.reject(new Error('Connection is closed.')) : Promise.resolve(snapshot(Date.now()))),
      1000,
      (_e, n) => errors.push(n),
      (n) => recovered.push(n),
    )
    const abort = new AbortController()
    const received: OverviewSnapshot[] = []
    const consumer = (async () => {
      for await (const s of hub.stream(60_000, abort.signal)) received.push(s)
    })()
    await vi.advanceTimersByTimeAsync(0) // tick 1 fails: reported
    expect(errors).toEqual([1])
    await vi.advanceTimersByTimeAsync(FAILURE_REPORT_INTERVAL_MS - 1000) // ticks 2–60: quiet
    expect(errors).toEqual([1])
    await vi.advanceTimersByTimeAsync(1000) // tick 61, a minute after the first report: 60 failed since
    expect(errors).toEqual([1, 60])
    await vi.advanceTimersByTimeAsync(9000) // 70 failures in all
    down = false
    await vi.advanceTimersByTimeAsync(1000)
    expect(recovered).toEqual([70])
    expect(received).toHaveLength(1)
    down = true
    await vi.advanceTimersByTimeAsync(1000) // a new run of failures is reported at once
    expect(errors).toEqual([1, 60, 1])
    abort.abort()
    await consumer
    hub.close()
  })
})
