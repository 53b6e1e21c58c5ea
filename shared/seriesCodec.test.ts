import { decode, encode } from '@msgpack/msgpack'
import { describe, expect, it } from 'vitest'
import { encodePacked } from './seriesCodec'

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

describe('packed reads', () => {
  it('computes the same percentiles from a packed value as from the dense histogram, merged or not', async () => {
    const { createHistogram, percentile, recordValue } = await import('./histogram')
    const { SeriesAccumulator, decodePacked, emptyPacked, mergePackedInto, packedPercentiles } = await import('./seriesCodec')
    const dense = createHistogram()
    const parts = [new SeriesAccumulator(), new SeriesAccumulator()]
    let x = 7
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      const v = Math.exp(2 + 3 * (x / 2147483648))
      const idx = recordValue(dense, v)
      const d = { count: 1, errors: 0, sumUs: 0, statusCounts: [0, 1, 0, 0, 0], histogram: { counts: new Float64Array(dense.counts.length) }, lo: idx, hi: idx }
      d.histogram.counts[idx] = 1
      parts[i % 2]!.addDelta(d)
    }
    const merged = mergePackedInto(emptyPacked(), parts[0]!.toPacked())
    mergePackedInto(merged, parts[1]!.toPacked())
    // The accumulator's own encoder writes the same bytes as the generic packed encoder.
    const both = new SeriesAccumulator().addAccumulator(parts[0]!).addAccumulator(parts[1]!)
    const direct = new Uint8Array(both.maxEncodedLength())
    expect(Buffer.from(direct.subarray(0, both.encodeInto(direct, 0)))).toEqual(Buffer.from(encodePacked(merged)))
    const ps = [0, 50, 95, 99, 99.9, 100]
    expect(packedPercentiles(decodePacked(encodePacked(merged)), ps)).toEqual(ps.map((p) => percentile(dense, p)))
    expect(packedPercentiles(emptyPacked(), [50])).toEqual([null])
  })
})
