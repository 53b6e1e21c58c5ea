/**
 * Test oracles for the packed series the SDK writes: a series value with a dense histogram, a reference encoder
 * (the generic MessagePack encoder, independent of server/sdk/seriesEncoder.ts), a decoder to dense form (over the
 * shared parser), and the plain merge the Lua fold (mergeScript.ts) must match. Tests only.
 */
import { encode } from '@msgpack/msgpack'
import { BUCKET_COUNT, createHistogram, type Histogram } from '../../shared/histogram'
import { mergeInto } from '../../shared/histogramOracle.test-helpers'
import { SERIES_COUNTS_AT, SERIES_FORMAT, decodePacked } from '../../shared/seriesCodec'

/** Aggregate of one series in one bucket. `statusCounts[0]` is 1xx … `[4]` is 5xx. Durations in µs. */
export interface SeriesValue {
  count: number
  errors: number
  sumUs: number
  statusCounts: [number, number, number, number, number]
  histogram: Histogram
}

/** An empty series value. */
export function emptySeries(): SeriesValue {
  return { count: 0, errors: 0, sumUs: 0, statusCounts: [0, 0, 0, 0, 0], histogram: createHistogram() }
}

/** Packs a series value (shared/seriesCodec.ts layout) with the generic encoder. */
export function encodeSeries(v: SeriesValue): Uint8Array {
  const counts = v.histogram.counts
  let first = -1
  let last = -1
  for (let i = 0; i < BUCKET_COUNT; i++) {
    if ((counts[i] ?? 0) !== 0) {
      if (first < 0) first = i
      last = i
    }
  }
  const out: number[] = [SERIES_FORMAT, v.count, v.errors, v.sumUs, ...v.statusCounts, Math.max(first, 0)]
  if (first >= 0) for (let i = first; i <= last; i++) out.push(counts[i] ?? 0)
  return encode(out)
}

/**
 * Unpacks a stored value (written by the SDK, the Lua fold or `encodeSeries`) into dense form.
 * @throws Error when the bytes are not a packed series of a known format.
 */
export function decodeSeries(bytes: Uint8Array): SeriesValue {
  const nums = decodePacked(bytes)
  const v = emptySeries()
  v.count = nums[1] ?? 0
  v.errors = nums[2] ?? 0
  v.sumUs = nums[3] ?? 0
  v.statusCounts = [nums[4] ?? 0, nums[5] ?? 0, nums[6] ?? 0, nums[7] ?? 0, nums[8] ?? 0]
  const first = nums[9] ?? 0
  const h = v.histogram
  for (let i = SERIES_COUNTS_AT; i < nums.length; i++) {
    const idx = first + i - SERIES_COUNTS_AT
    const c = nums[i] ?? 0
    if (idx >= BUCKET_COUNT || c <= 0) continue
    h.counts[idx] = (h.counts[idx] ?? 0) + c
    h.count += c
  }
  h.sumMs = v.sumUs / 1000
  return v
}

/** Adds `from` into `into` (in place) and returns `into`. */
export function mergeSeriesInto(into: SeriesValue, from: SeriesValue): SeriesValue {
  into.count += from.count
  into.errors += from.errors
  into.sumUs += from.sumUs
  for (let i = 0; i < 5; i++) into.statusCounts[i as 0] += from.statusCounts[i as 0]
  mergeInto(into.histogram, from.histogram)
  return into
}
