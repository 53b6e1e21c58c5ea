/**
 * The server's arithmetic over packed series values (the layout of shared/seriesCodec.ts, read with its
 * `decodePacked`): adding values up and taking percentiles straight from the packed bucket run, with no dense
 * histogram, so a read that merges many buckets stays cheap.
 */
import { bucketValue } from '../../../shared/histogram'
import { SERIES_COUNTS_AT, SERIES_FORMAT, type PackedSeries } from '../../../shared/seriesCodec'

/** A packed value holding nothing. */
export function emptyPacked(): PackedSeries {
  return [SERIES_FORMAT, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/**
 * Adds packed value `b` into packed value `a` in place and returns `a`: the TypeScript twin of the merge in the
 * SDK's fold script (server/sdk/mergeScript.ts); both must stay in step. Both must be values `readPacked` accepted
 * (or sums of such): then every index stays below `MAX_PACKED_LENGTH` and no loop runs past `BUCKET_COUNT`
 * (docs/decisions/014 — an unchecked first-bucket offset of 1e9 made this allocate 1e9 zeros).
 */
export function mergePackedInto(a: PackedSeries, b: PackedSeries): PackedSeries {
  for (let i = 1; i < 9; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0)
  const nb = b.length - SERIES_COUNTS_AT
  if (nb <= 0) return a
  const sb = b[9] ?? 0
  let na = a.length - SERIES_COUNTS_AT
  if (na === 0) {
    a[9] = sb
    for (let j = SERIES_COUNTS_AT; j < b.length; j++) a.push(b[j] ?? 0)
    return a
  }
  let sa = a[9] ?? 0
  if (sb < sa) {
    a.splice(SERIES_COUNTS_AT, 0, ...new Array<number>(sa - sb).fill(0))
    na += sa - sb
    sa = sb
    a[9] = sa
  }
  for (let idx = sa + na; idx <= sb + nb - 1; idx++) a.push(0)
  const d = sb - sa
  for (let j = SERIES_COUNTS_AT; j < b.length; j++) {
    const c = b[j] ?? 0
    if (c !== 0) a[j + d] = (a[j + d] ?? 0) + c
  }
  return a
}

/**
 * Several percentiles (each 0–100, ascending) of a packed value's histogram in one pass over its bucket run; same
 * definition as `percentile` in shared/histogram.ts (value of rank ⌊p/100·(n−1)⌋, within α). null when empty.
 */
export function packedPercentiles(p: PackedSeries, ps: readonly number[]): (number | null)[] {
  let n = 0
  for (let i = SERIES_COUNTS_AT; i < p.length; i++) n += p[i] ?? 0
  if (n <= 0) return ps.map(() => null)
  const first = p[9] ?? 0
  const out: (number | null)[] = []
  let cumulative = 0
  let i = SERIES_COUNTS_AT
  for (const q of ps) {
    const rank = Math.floor((q / 100) * (n - 1))
    while (i < p.length && cumulative + (p[i] ?? 0) <= rank) cumulative += p[i++] ?? 0
    out.push(bucketValue(first + Math.min(i, p.length - 1) - SERIES_COUNTS_AT))
  }
  return out
}
