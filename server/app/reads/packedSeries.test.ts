import { describe, expect, it } from 'vitest'
import { createHistogram, percentile, recordValue } from '../../../shared/histogram'
import { decodePacked } from '../../../shared/seriesCodec'
import { SeriesAccumulator } from '../../sdk/seriesAccumulator'
import { encodePacked } from '../../sdk/seriesEncoder'
import { emptyPacked, mergePackedInto, packedPercentiles } from './packedSeries'

describe('packed reads', () => {
  it('computes the same percentiles from a packed value as from the dense histogram, merged or not', () => {
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
