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
  o = writeArrayHeader(out, o, n)
  for (let i = 0; i < n; i++) {
    o = writeUint(out, o, p[i] as number)
    if (o < 0) return -1
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

/** Request totals of a series value: counts, errors, duration sum (µs), per status class [1xx … 5xx]. */
export interface SeriesTotals {
  count: number
  errors: number
  sumUs: number
  statusCounts: ArrayLike<number>
}

/** Spare buckets added on each side when an accumulator's window grows, so a growing range reallocates rarely. */
const ACC_GROW_MARGIN = 16

/**
 * A series value being accumulated in process (the SDK's open buckets): the same content as a `PackedSeries`, kept
 * in typed arrays so adding a delta and encoding are tight numeric loops. Counts live in a window
 * `[base, base + counts.length)` of the histogram layout that grows (with a margin) to cover every bucket touched;
 * `[lo, hi]` is the run of non-zero buckets actually written (`lo > hi` when empty). Counts are float64, exact up to
 * 2^53 per bucket.
 */
export class SeriesAccumulator implements EncodableSeries {
  /** The `count` of this value's last confirmed write (kept by the SDK's writer). */
  writtenCount = 0
  count = 0
  errors = 0
  sumUs = 0
  /** Requests per status class: [1xx, 2xx, 3xx, 4xx, 5xx]. */
  readonly statusCounts = new Float64Array(5)
  /** Histogram counts of buckets `base …`, zero outside `[lo, hi]`. */
  private counts = new Float64Array(0)
  private base = 0
  /** First and last bucket index with a non-zero count (`lo > hi` when empty). */
  lo = BUCKET_COUNT
  hi = -1

  /** Makes buckets `[lo, hi]` addressable (grows the window, keeping the counts). */
  private cover(lo: number, hi: number): void {
    const end = this.base + this.counts.length
    if (this.counts.length > 0 && lo >= this.base && hi < end) return
    const newBase = Math.max(0, Math.min(lo, this.counts.length > 0 ? this.base : lo) - ACC_GROW_MARGIN)
    const newEnd = Math.min(BUCKET_COUNT, Math.max(hi + 1, this.counts.length > 0 ? end : hi + 1) + ACC_GROW_MARGIN)
    const next = new Float64Array(newEnd - newBase)
    if (this.lo <= this.hi) next.set(this.counts.subarray(this.lo - this.base, this.hi - this.base + 1), this.lo - newBase)
    this.counts = next
    this.base = newBase
  }

  /** Adds a delta recorded in process (histogram non-zero only in `[d.lo, d.hi]`). */
  addDelta(d: SeriesDelta): this {
    return this.add(d, d.histogram.counts, 0, d.lo, d.hi)
  }

  /** Adds another accumulator's content (rolling a closed bucket up into a coarser one). */
  addAccumulator(o: SeriesAccumulator): this {
    return this.add(o, o.counts, o.base, o.lo, o.hi)
  }

  /** Adds totals and the counts of buckets `[lo, hi]`, held at `src[i - srcBase]`. */
  private add(totals: SeriesTotals, src: Float64Array, srcBase: number, lo: number, hi: number): this {
    this.count += totals.count
    this.errors += totals.errors
    this.sumUs += totals.sumUs
    for (let i = 0; i < 5; i++) this.statusCounts[i] = (this.statusCounts[i] ?? 0) + (totals.statusCounts[i] ?? 0)
    if (lo > hi) return this
    this.cover(lo, hi)
    const dst = this.counts
    const base = this.base
    for (let i = lo; i <= hi; i++) dst[i - base] = (dst[i - base] as number) + (src[i - srcBase] as number)
    if (lo < this.lo) this.lo = lo
    if (hi > this.hi) this.hi = hi
    return this
  }

  /** Upper bound of the encoded length in bytes (array header + 9 bytes a number). */
  maxEncodedLength(): number {
    return maxDenseEncodedLength(this.lo, this.hi)
  }

  /**
   * Writes the value as a packed series (the wire layout of the module comment, identical to `encodePacked` of
   * `toPacked()`) into `out` from `offset` (`maxEncodedLength()` bytes free); returns the end offset, or -1 when a
   * number is not a non-negative safe integer (then use `encodePacked(acc.toPacked())`).
   */
  encodeInto(out: Uint8Array, offset: number): number {
    return encodeDenseInto(out, offset, this, this.counts, this.base, this.lo, this.hi)
  }

  /** The value as a `PackedSeries` array (tests, fallbacks). */
  toPacked(): PackedSeries {
    const p: PackedSeries = [SERIES_FORMAT, this.count, this.errors, this.sumUs, ...this.statusCounts, this.lo <= this.hi ? this.lo : 0]
    for (let i = this.lo; i <= this.hi; i++) p.push(this.counts[i - this.base] as number)
    return p
  }
}

/** A series value the SDK can write: its request count, an encoder into a caller's buffer, and a fallback. */
export interface EncodableSeries {
  readonly count: number
  /** Upper bound of `encodeInto`'s output in bytes. */
  maxEncodedLength(): number
  /** Writes the packed value at `offset`; returns the end offset or -1 (then encode `toPacked()` instead). */
  encodeInto(out: Uint8Array, offset: number): number
  toPacked(): PackedSeries
}

/** Upper bound in bytes of a packed value whose non-zero buckets span `[lo, hi]`. */
export function maxDenseEncodedLength(lo: number, hi: number): number {
  return 5 + (COUNTS_AT + Math.max(0, hi - lo + 1)) * 9
}

/**
 * Writes a packed series (module comment) from totals and a dense count array holding bucket `base + i` at index
 * `i`, non-zero only in `[lo, hi]` (`lo > hi`: empty), at `offset` of `out` (`maxDenseEncodedLength(lo, hi)` bytes
 * free). Returns the end offset, or -1 when a number is not a non-negative safe integer.
 */
export function encodeDenseInto(
  out: Uint8Array,
  offset: number,
  totals: SeriesTotals,
  counts: Float64Array,
  base: number,
  lo: number,
  hi: number,
): number {
  const runs = lo <= hi ? hi - lo + 1 : 0
  const n = COUNTS_AT + runs
  let o = writeArrayHeader(out, offset, n)
  o = writeUint(out, o, SERIES_FORMAT)
  o = writeUint(out, o, totals.count)
  o = writeUint(out, o, totals.errors)
  o = writeUint(out, o, totals.sumUs)
  for (let i = 0; i < 5; i++) o = writeUint(out, o, totals.statusCounts[i] ?? 0)
  o = writeUint(out, o, runs > 0 ? lo : 0)
  if (o < 0) return -1
  for (let i = lo - base, end = hi - base; i <= end; i++) {
    const v = counts[i] as number
    // Counts are small integers almost always: the one-byte case inline, the rest through writeUint.
    if (v < 0x80 && v >= 0 && (v | 0) === v) out[o++] = v
    else {
      o = writeUint(out, o, v)
      if (o < 0) return -1
    }
  }
  return o
}

/** Writes a MessagePack array header (fixarray, array16 or array32) for `n` elements at `o`; returns the end offset. */
function writeArrayHeader(out: Uint8Array, o: number, n: number): number {
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
  return o
}

/**
 * Writes a non-negative safe integer as the smallest MessagePack uint (positive fixint, uint8/16/32/64) at `o`;
 * returns the end offset, or -1 for anything else (negative, fractional, unsafe — or an earlier -1 passed in).
 */
function writeUint(out: Uint8Array, o: number, v: number): number {
  if (o < 0 || !(v >= 0)) return -1
  if (v < 0x80) {
    if ((v | 0) !== v) return -1
    out[o++] = v
  } else if (v < 0x100) {
    if ((v | 0) !== v) return -1
    out[o++] = 0xcc
    out[o++] = v
  } else if (v < 0x10000) {
    if ((v | 0) !== v) return -1
    out[o++] = 0xcd
    out[o++] = v >>> 8
    out[o++] = v & 0xff
  } else if (v < 0x100000000) {
    if ((v >>> 0) !== v) return -1
    out[o++] = 0xce
    out[o++] = v >>> 24
    out[o++] = (v >>> 16) & 0xff
    out[o++] = (v >>> 8) & 0xff
    out[o++] = v & 0xff
  } else {
    if (!Number.isSafeInteger(v)) return -1
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
  return o
}
