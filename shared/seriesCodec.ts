/**
 * Packed value of one request series in one time bucket, as stored in a Redis hash field (docs/decisions/005).
 *
 * Wire form: a MessagePack array of integers
 *   `[FORMAT, count, errors, sumUs, n1xx, n2xx, n3xx, n4xx, n5xx, firstBucket, c0, c1, …, ck]`
 * where `ci` is the count of histogram bucket `firstBucket + i` (shared/histogram.ts layout). Buckets between the
 * first and last non-zero one are stored densely (zeros included) because latency histograms are contiguous: that
 * costs 1–3 bytes a bucket, about half of sparse (index, count) pairs. The same merge is implemented in Lua in
 * server/sdk/mergeScript.ts (the fold of an instance's value into the shared one); both must stay in step.
 *
 * In the SDK a value is kept in this wire layout as a plain array (`PackedSeries`), updated in place by
 * `addDeltaToPacked` and encoded without conversion.
 */
import { Encoder, decode } from '@msgpack/msgpack'
import { BUCKET_COUNT, bucketValue, createHistogram, type Histogram } from './histogram'

/** One encoder, reused: `encode()` of @msgpack/msgpack builds a new Encoder (and buffer) per call. */
const ENCODER = new Encoder()

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

/** A series value in wire layout (see module comment), as a mutable array. */
export type PackedSeries = number[]

/**
 * A delta recorded in process: totals plus a dense histogram whose non-zero buckets all lie in `[lo, hi]`
 * (`lo > hi` when empty).
 */
export interface SeriesDelta {
  count: number
  errors: number
  sumUs: number
  statusCounts: readonly number[]
  histogram: { counts: Float64Array }
  lo: number
  hi: number
}

/** A packed value holding nothing. */
export function emptyPacked(): PackedSeries {
  return [SERIES_FORMAT, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/** Adds a delta into a packed value in place (growing its bucket run as needed) and returns it. */
export function addDeltaToPacked(p: PackedSeries, d: SeriesDelta): PackedSeries {
  p[1] = (p[1] ?? 0) + d.count
  p[2] = (p[2] ?? 0) + d.errors
  p[3] = (p[3] ?? 0) + d.sumUs
  for (let i = 0; i < 5; i++) p[4 + i] = (p[4 + i] ?? 0) + (d.statusCounts[i] ?? 0)
  if (d.lo > d.hi) return p
  let n = p.length - COUNTS_AT
  if (n === 0) {
    p[9] = d.lo
    for (let i = d.lo; i <= d.hi; i++) p.push(d.histogram.counts[i] ?? 0)
    return p
  }
  let first = p[9] ?? 0
  if (d.lo < first) {
    p.splice(COUNTS_AT, 0, ...new Array<number>(first - d.lo).fill(0))
    n += first - d.lo
    first = d.lo
    p[9] = first
  }
  for (let idx = first + n; idx <= d.hi; idx++) p.push(0)
  const counts = d.histogram.counts
  for (let i = d.lo; i <= d.hi; i++) {
    const c = counts[i] ?? 0
    if (c !== 0) p[COUNTS_AT + i - first] = (p[COUNTS_AT + i - first] ?? 0) + c
  }
  return p
}

/**
 * MessagePack bytes of a packed value (fresh memory, safe to keep). A packed value is an array of non-negative
 * integers, so this writes the MessagePack spec's array and uint formats directly (array16/32; positive fixint,
 * uint8/16/32/64) — several times faster than the generic encoder on the flush path. Anything else (which a packed
 * value never holds) goes through the generic encoder, so the output is always valid MessagePack.
 */
export function encodePacked(p: PackedSeries): Uint8Array {
  if (scratch.length < maxEncodedLength(p)) scratch = new Uint8Array(Math.max(maxEncodedLength(p), scratch.length * 2))
  const end = encodePackedInto(p, scratch, 0)
  return end < 0 ? ENCODER.encode(p) : scratch.slice(0, end)
}

/** Upper bound of `encodePacked(p)`'s length in bytes (array header + 9 bytes a number). */
export function maxEncodedLength(p: PackedSeries): number {
  return 5 + p.length * 9
}

/**
 * Writes `p` as MessagePack into `out` from `offset` (which must have `maxEncodedLength(p)` bytes free) and
 * returns the end offset, or -1 when `p` holds something other than non-negative safe integers (then nothing
 * usable was written; use `encodePacked`, which falls back to the generic encoder). Lets a caller pack many values
 * into one buffer: one allocation per flush instead of one per value.
 */
export function encodePackedInto(p: PackedSeries, out: Uint8Array, offset: number): number {
  const n = p.length
  let o = offset
  if (n < 16) out[o++] = 0x90 | n
  else if (n < 0x10000) {
    out[o++] = 0xdc
    out[o++] = n >>> 8
    out[o++] = n & 0xff
  } else {
    out[o++] = 0xdd
    out[o++] = n >>> 24
    out[o++] = (n >>> 16) & 0xff
    out[o++] = (n >>> 8) & 0xff
    out[o++] = n & 0xff
  }
  for (let i = 0; i < n; i++) {
    const v = p[i] as number
    if (!(v >= 0) || (v > 0xffffffff ? !Number.isSafeInteger(v) : (v >>> 0) !== v)) return -1
    if (v < 0x80) out[o++] = v
    else if (v < 0x100) {
      out[o++] = 0xcc
      out[o++] = v
    } else if (v < 0x10000) {
      out[o++] = 0xcd
      out[o++] = v >>> 8
      out[o++] = v & 0xff
    } else if (v < 0x100000000) {
      out[o++] = 0xce
      out[o++] = v >>> 24
      out[o++] = (v >>> 16) & 0xff
      out[o++] = (v >>> 8) & 0xff
      out[o++] = v & 0xff
    } else {
      const hi = Math.floor(v / 0x100000000)
      const lo = v - hi * 0x100000000
      out[o++] = 0xcf
      out[o++] = hi >>> 24
      out[o++] = (hi >>> 16) & 0xff
      out[o++] = (hi >>> 8) & 0xff
      out[o++] = hi & 0xff
      out[o++] = lo >>> 24
      out[o++] = (lo >>> 16) & 0xff
      out[o++] = (lo >>> 8) & 0xff
      out[o++] = lo & 0xff
    }
  }
  return o
}

/** Scratch space of encodePacked (grown on demand); results are copied out, so it is safe to reuse. */
let scratch = new Uint8Array(16 * 1024)

/** Adds packed value `b` into packed value `a` in place (the TypeScript twin of the Lua fold's merge). */
export function mergePackedInto(a: PackedSeries, b: PackedSeries): PackedSeries {
  for (let i = 1; i < 9; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0)
  const nb = b.length - COUNTS_AT
  if (nb <= 0) return a
  const sb = b[9] ?? 0
  let na = a.length - COUNTS_AT
  if (na === 0) {
    a[9] = sb
    for (let j = COUNTS_AT; j < b.length; j++) a.push(b[j] ?? 0)
    return a
  }
  let sa = a[9] ?? 0
  if (sb < sa) {
    a.splice(COUNTS_AT, 0, ...new Array<number>(sa - sb).fill(0))
    na += sa - sb
    sa = sb
    a[9] = sa
  }
  for (let idx = sa + na; idx <= sb + nb - 1; idx++) a.push(0)
  const d = sb - sa
  for (let j = COUNTS_AT; j < b.length; j++) {
    const c = b[j] ?? 0
    if (c !== 0) a[j + d] = (a[j + d] ?? 0) + c
  }
  return a
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
  return ENCODER.encode(out)
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

/**
 * Unpacks a value to its packed array (no dense histogram: cheap for readers that merge many buckets).
 * @throws Error when the bytes are not a packed series of a known format.
 */
export function decodePacked(bytes: Uint8Array): PackedSeries {
  const a = decode(bytes)
  if (!Array.isArray(a) || a.length < COUNTS_AT || a[0] !== SERIES_FORMAT || !a.every((n) => typeof n === 'number' && n >= 0)) {
    throw new Error('not a packed series value')
  }
  return a as PackedSeries
}

/** Request count, error count and status counts of a packed value. */
export function packedTotals(p: PackedSeries): { count: number; errors: number; sumUs: number; statusCounts: [number, number, number, number, number] } {
  return { count: p[1] ?? 0, errors: p[2] ?? 0, sumUs: p[3] ?? 0, statusCounts: [p[4] ?? 0, p[5] ?? 0, p[6] ?? 0, p[7] ?? 0, p[8] ?? 0] }
}

/**
 * Several percentiles (each 0–100, ascending) of a packed value's histogram in one pass over its bucket run; same
 * definition as `percentile` in shared/histogram.ts (value of rank ⌊p/100·(n−1)⌋, within α). null when empty.
 */
export function packedPercentiles(p: PackedSeries, ps: readonly number[]): (number | null)[] {
  let n = 0
  for (let i = COUNTS_AT; i < p.length; i++) n += p[i] ?? 0
  if (n <= 0) return ps.map(() => null)
  const first = p[9] ?? 0
  const out: (number | null)[] = []
  let cumulative = 0
  let i = COUNTS_AT
  for (const q of ps) {
    const rank = Math.floor((q / 100) * (n - 1))
    while (i < p.length && cumulative + (p[i] ?? 0) <= rank) cumulative += p[i++] ?? 0
    out.push(bucketValue(first + Math.min(i, p.length - 1) - COUNTS_AT))
  }
  return out
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
