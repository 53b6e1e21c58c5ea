import { encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { SERIES_FORMAT, decodePacked } from './seriesCodec'

describe('decodePacked', () => {
  it('returns the packed array of a stored value as it is', () => {
    const value = [SERIES_FORMAT, 3, 1, 4500, 0, 2, 0, 0, 1, 40, 1, 0, 2]
    expect(decodePacked(encode(value))).toEqual(value)
  })

  it('rejects what the SDK could not have written: other types, short headers, other formats, negative numbers', () => {
    const header = [SERIES_FORMAT, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    for (const bad of [null, 'x', { a: 1 }, header.slice(1), [SERIES_FORMAT + 1, ...header.slice(1)], [...header, -1], [...header, 'x']]) {
      expect(() => decodePacked(encode(bad))).toThrow(/not a packed series/)
    }
    expect(() => decodePacked(new Uint8Array([0xc1]))).toThrow()
  })
})
