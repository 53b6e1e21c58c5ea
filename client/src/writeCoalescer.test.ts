import { describe, expect, it } from 'vitest'
import { coalesceWrites } from './writeCoalescer'

/** A write function whose calls finish only when the test releases them. */
function controlledWrites() {
  const calls: Array<{ key: string; value: string; release: () => void }> = []
  const write = (key: string, value: string) =>
    new Promise<void>((resolve) => {
      calls.push({ key, value, release: resolve })
    })
  return { calls, write }
}

describe('coalesceWrites', () => {
  it('writes only the first and the last value when values arrive faster than storage finishes', async () => {
    const { calls, write } = controlledWrites()
    const writer = coalesceWrites(write)
    const done = Promise.all([writer.write('k', 'a'), writer.write('k', 'b'), writer.write('k', 'c')])
    expect(calls.map((c) => c.value)).toEqual(['a'])
    calls[0]?.release()
    await Promise.resolve()
    await Promise.resolve()
    expect(calls.map((c) => c.value)).toEqual(['a', 'c'])
    calls[1]?.release()
    await done
    expect(calls).toHaveLength(2)
  })

  it('keeps writes of different keys independent', () => {
    const { calls, write } = controlledWrites()
    const writer = coalesceWrites(write)
    void writer.write('x', '1')
    void writer.write('y', '2')
    expect(calls.map((c) => `${c.key}=${c.value}`)).toEqual(['x=1', 'y=2'])
  })

  it('drops a pending value when the key is cancelled', async () => {
    const { calls, write } = controlledWrites()
    const writer = coalesceWrites(write)
    void writer.write('k', 'a')
    void writer.write('k', 'b')
    const cancelled = writer.cancel('k')
    calls[0]?.release()
    await cancelled
    expect(calls.map((c) => c.value)).toEqual(['a'])
  })
})
