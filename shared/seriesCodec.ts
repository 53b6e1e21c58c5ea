/**
 * Packed value of one request series in one time bucket, as stored in a Redis hash field (docs/decisions/005): the
 * layout the SDK writes and the server reads, and its validating parser.
 *
 * Wire form: a MessagePack array of integers
 *   `[FORMAT, count, errors, sumUs, n1xx, n2xx, n3xx, n4xx, n5xx, firstBucket, c0, c1, …, ck]`
 * where `ci` is the count of histogram bucket `firstBucket + i` (shared/histogram.ts layout). Buckets between the
 * first and last non-zero one are stored densely (zeros included) because latency histograms are contiguous: that
 * costs 1–3 bytes a bucket, about half of sparse (index, count) pairs.
 *
 * Writers: the SDK's encoder (server/sdk/seriesEncoder.ts) and its fold script in Lua (server/sdk/mergeScript.ts).
 * Readers: the server's packed arithmetic (server/app/reads/packedSeries.ts), whose merge is the TypeScript twin of
 * the Lua one; both must stay in step.
 */
import { decode } from '@msgpack/msgpack'

/** Version tag of the packed layout (first array element). */
export const SERIES_FORMAT = 1
/** Array offset of the first histogram count (`c0`); the elements before it are the header. */
export const SERIES_COUNTS_AT = 10

/** A series value in wire layout (see module comment), as a mutable array. */
export type PackedSeries = number[]

/**
 * Unpacks a stored value to its packed array (no dense histogram: cheap for readers that merge many buckets).
 * @throws Error when the bytes are not a packed series of a known format (Redis is an input: a foreign or corrupt
 *   field is rejected, never half-read).
 */
export function decodePacked(bytes: Uint8Array): PackedSeries {
  const a = decode(bytes)
  if (!Array.isArray(a) || a.length < SERIES_COUNTS_AT || a[0] !== SERIES_FORMAT || !a.every((n) => typeof n === 'number' && n >= 0)) {
    throw new Error('not a packed series value')
  }
  return a as PackedSeries
}
