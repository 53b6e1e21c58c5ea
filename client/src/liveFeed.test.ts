import { afterEach, describe, expect, it, vi } from 'vitest'
import { StallWatch } from './liveFeed'

afterEach(() => vi.useRealTimers())

describe('StallWatch', () => {
  it('probes only after stallMs of silence, then every stallMs / 2 while silence lasts, one probe at a time', async () => {
    vi.useFakeTimers()
    const probes: number[] = []
    let finish: () => void = () => undefined
    const watch = new StallWatch(
      () => {
        probes.push(Date.now())
        return new Promise<void>((resolve) => (finish = resolve))
      },
      10_000,
    )
    const start = Date.now()
    await vi.advanceTimersByTimeAsync(6_000)
    watch.fresh() // a snapshot at 6 s: silence starts over
    await vi.advanceTimersByTimeAsync(9_000)
    expect(probes).toEqual([])
    await vi.advanceTimersByTimeAsync(3_000) // 18 s: 12 s of silence
    expect(probes.map((t) => t - start)).toEqual([17_500])
    await vi.advanceTimersByTimeAsync(20_000) // still in flight: no second probe
    expect(probes).toHaveLength(1)
    finish()
    await vi.advanceTimersByTimeAsync(2_500)
    expect(probes).toHaveLength(2) // the answer brought no data: asks again
    finish()
    watch.fresh()
    await vi.advanceTimersByTimeAsync(9_000)
    expect(probes).toHaveLength(2)
    watch.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(probes).toHaveLength(2)
  })
})
