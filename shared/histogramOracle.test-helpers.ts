/**
 * Test oracles over dense histograms (shared/histogram.ts layout): the plain index-by-index merge and a sparse
 * (bucket index → count) round trip. No production code merges dense histograms or stores sparse ones — the SDK
 * accumulates and the server merges packed values — so these live beside the tests that use them as references.
 */
import { BUCKET_COUNT, type Histogram } from './histogram'

/** A histogram in sparse form: bucket index → count (non-zero only). */
export type SparseHistogram = Record<number, number>

/** Adds every count of `from` into `into` (in place) and returns `into`. */
export function mergeInto(into: Histogram, from: Histogram): Histogram {
  const a = into.counts
  const b = from.counts
  for (let i = 0; i < BUCKET_COUNT; i++) {
    const c = b[i] ?? 0
    if (c !== 0) a[i] = (a[i] ?? 0) + c
  }
  into.count += from.count
  into.sumMs += from.sumMs
  return into
}

/** Adds a sparse histogram (bucket index → count) into `into`; indexes outside the layout are ignored. */
export function mergeSparseInto(into: Histogram, sparse: SparseHistogram, sumMs = 0): Histogram {
  for (const key of Object.keys(sparse)) {
    const i = Number(key)
    const c = sparse[i] ?? 0
    if (!Number.isInteger(i) || i < 0 || i >= BUCKET_COUNT || !(c > 0)) continue
    into.counts[i] = (into.counts[i] ?? 0) + c
    into.count += c
  }
  into.sumMs += sumMs
  return into
}

/** Sparse form of `h`: only non-zero buckets. */
export function toSparse(h: Histogram): SparseHistogram {
  const out: SparseHistogram = {}
  const counts = h.counts
  for (let i = 0; i < BUCKET_COUNT; i++) {
    const c = counts[i] ?? 0
    if (c !== 0) out[i] = c
  }
  return out
}
