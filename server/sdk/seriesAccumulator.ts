/**
 * Compact in-process series values for the SDK's writer (seriesWriter.ts): a closed 10 s bucket's values are copied
 * into accumulators and rolled up into the 1 min and 1 h buckets, then encoded straight into the flush buffer.
 */
import { BUCKET_COUNT } from '../../shared/histogram'
import { SERIES_FORMAT, type PackedSeries } from '../../shared/seriesCodec'
import { encodeDenseInto, maxDenseEncodedLength, type EncodableSeries, type SeriesTotals } from './seriesEncoder'

/**
 * A series value recorded in process (the recorder's cumulative aggregate of one 10 s bucket): totals plus a dense
 * histogram whose non-zero buckets all lie in `[lo, hi]` (`lo > hi` when empty).
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

/** Spare buckets added on each side when an accumulator's window grows, so a growing range reallocates rarely. */
const ACC_GROW_MARGIN = 16

/**
 * A series value being accumulated in process: the same content as a `PackedSeries`, kept in typed arrays so adding
 * a delta and encoding are tight numeric loops. Counts live in a window `[base, base + counts.length)` of the
 * histogram layout that grows (with a margin) to cover every bucket touched; `[lo, hi]` is the run of non-zero
 * buckets actually written (`lo > hi` when empty). Counts are float64, exact up to 2^53 per bucket.
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

  /** Adds a value recorded in process (a recorder aggregate; histogram non-zero only in `[d.lo, d.hi]`). */
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
   * Writes the value as a packed series (identical to `encodePacked(toPacked())`) into `out` from `offset`
   * (`maxEncodedLength()` bytes free); returns the end offset, or -1 when a number is not a non-negative safe
   * integer (then use `encodePacked(acc.toPacked())`).
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
