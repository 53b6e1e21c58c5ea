/**
 * Packed value of one request series in one time bucket, as stored in a Redis hash field (docs/decisions/005).
 *
 * Wire form: a MessagePack array of integers
 *   `[FORMAT, count, errors, sumUs, n1xx, n2xx, n3xx, n4xx, n5xx, firstBucket, c0, c1, …, ck]`
 * where `ci` is the count of histogram bucket `firstBucket + i` (shared/histogram.ts layout). Buckets between the
 * first and last non-zero one are stored densely (zeros included) because latency histograms are contiguous: that
 * costs 1–3 bytes a bucket, about half of sparse (index, count) pairs. The same merge is implemented in Lua in
 * server/sdk/mergeScript.ts so that Redis merges instances' values on write; both must stay in step.
 */
import { decode, encode } from '@msgpack/msgpack'
import { BUCKET_COUNT, createHistogram, type Histogram } from './histogram'

/** Version tag of the packed layout (first array element). */
export const SERIES_FORMAT = 1
/** Array offset of the first histogram count. */
const COUNTS_AT = 10

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

/** Packs a series value (see module comment). */
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
 * Unpacks a value made by `encodeSeries` (or by the Lua merge).
 * @throws Error when the bytes are not a packed series of a known format.
 */
export function decodeSeries(bytes: Uint8Array): SeriesValue {
  const a = decode(bytes)
  if (!Array.isArray(a) || a.length < COUNTS_AT || a[0] !== SERIES_FORMAT || !a.every((n) => typeof n === 'number')) {
    throw new Error('not a packed series value')
  }
  const nums = a as number[]
  const v = emptySeries()
  v.count = nums[1] ?? 0
  v.errors = nums[2] ?? 0
  v.sumUs = nums[3] ?? 0
  v.statusCounts = [nums[4] ?? 0, nums[5] ?? 0, nums[6] ?? 0, nums[7] ?? 0, nums[8] ?? 0]
  const first = nums[9] ?? 0
  const h = v.histogram
  for (let i = COUNTS_AT; i < nums.length; i++) {
    const idx = first + i - COUNTS_AT
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
  const a = into.histogram.counts
  const b = from.histogram.counts
  for (let i = 0; i < BUCKET_COUNT; i++) {
    const c = b[i] ?? 0
    if (c !== 0) a[i] = (a[i] ?? 0) + c
  }
  into.histogram.count += from.histogram.count
  into.histogram.sumMs += from.histogram.sumMs
  return into
}
