import { decode, encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { encodePacked } from './seriesEncoder'

describe('encodePacked', () => {
  it('writes the same MessagePack as the reference encoder for every integer width and array length', () => {
    const widths = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]
    for (const length of [0, 1, 15, 16, 200, 70_000]) {
      const arr = Array.from({ length }, (_, i) => widths[i % widths.length]!)
      const mine = encodePacked(arr)
      expect(decode(mine)).toEqual(arr)
      if (length < 1000) expect(Buffer.from(mine).equals(Buffer.from(encode(arr)))).toBe(true)
    }
  })

  it('falls back to the generic encoder for values a packed series never holds', () => {
    for (const odd of [[1, -5], [1.5], [Number.NaN]]) expect(decode(encodePacked(odd))).toEqual(odd)
  })
})
