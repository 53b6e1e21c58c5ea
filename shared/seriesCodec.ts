/**
 * Packed value of one request series in one time bucket, as stored in a Redis hash field (docs/decisions/005): the
 * layout the SDK writes and the server reads, and its bounded, validating decoder (docs/decisions/014).
 *
 * Wire form: a MessagePack array of integers
 *   `[FORMAT, count, errors, sumUs, n1xx, n2xx, n3xx, n4xx, n5xx, firstBucket, c0, c1, …, ck]`
 * where `ci` is the count of histogram bucket `firstBucket + i` (shared/histogram.ts layout). Buckets between the
 * first and last non-zero one are stored densely (zeros included) because latency histograms are contiguous: that
 * costs 1–3 bytes a bucket, about half of sparse (index, count) pairs.
 *
 * Writers: the SDK's encoder (server/sdk/seriesEncoder.ts) and its fold script in Lua (server/sdk/mergeScript.ts).
 * Readers: the server's packed arithmetic (server/app/reads/packedSeries.ts), whose merge is the TypeScript twin of
 * the Lua one; both must stay in step, and so must the bounds below and the script's `valid` check.
 *
 * Redis is an input: a value is only ever read through `readPacked`, which accepts exactly what a writer can
 * produce — at most `MAX_PACKED_BYTES` bytes, one MessagePack array of `SERIES_COUNTS_AT` … `MAX_PACKED_LENGTH`
 * non-negative safe integers, format `SERIES_FORMAT`, a bucket run inside the histogram layout
 * (`firstBucket + run ≤ BUCKET_COUNT`), histogram counts adding up to `count`, errors and status classes not above
 * it — and allocates nothing before the claimed length has been checked against those bounds and the bytes present.
 */
import { BUCKET_COUNT } from './histogram'

/** Version tag of the packed layout (first array element). */
export const SERIES_FORMAT = 1
/** Array offset of the first histogram count (`c0`); the elements before it are the header. */
export const SERIES_COUNTS_AT = 10
/** Most elements a packed value holds: the header plus one count per bucket of the layout (1,112). */
export const MAX_PACKED_LENGTH = SERIES_COUNTS_AT + BUCKET_COUNT
/** Most bytes a packed value takes: an array32 header and a 9-byte uint64 per element (≈ 10 KB). */
export const MAX_PACKED_BYTES = 5 + MAX_PACKED_LENGTH * 9

/** A series value in wire layout (see module comment), as a mutable array. */
export type PackedSeries = number[]

/**
 * Why `readPacked` refused a value: `size` more than MAX_PACKED_BYTES; `msgpack` not exactly one well-formed
 * MessagePack array (malformed, truncated, trailing bytes, another type); `length` fewer elements than the header or
 * more than MAX_PACKED_LENGTH; `number` an element that is not a non-negative safe integer; `format` another
 * SERIES_FORMAT; `offset` a bucket run reaching past the histogram layout; `totals` histogram counts that do not add
 * up to `count`, or errors / status classes above it.
 */
export type PackedReadError = 'size' | 'msgpack' | 'length' | 'number' | 'format' | 'offset' | 'totals'

/** Result of `readPacked`: the value, or why it was refused. */
export type PackedRead = { ok: true; value: PackedSeries } | { ok: false; error: PackedReadError }

/** Sentinel of `readNumber` for an element that is not a non-negative safe integer (or is truncated). */
const NOT_A_COUNT = -1
const TRUNCATED = -2

/**
 * Decodes a stored value with bounds (see module comment); never throws, whatever the bytes. Work and memory are
 * O(bytes.length), at most MAX_PACKED_BYTES; the only allocation is the returned array, after its claimed length
 * passed the checks.
 */
export function readPacked(bytes: Uint8Array): PackedRead {
  if (bytes.length > MAX_PACKED_BYTES) return { ok: false, error: 'size' }
  const b0 = bytes[0]
  let n: number
  let o: number
  if (b0 === undefined) return { ok: false, error: 'msgpack' }
  if (b0 >= 0x90 && b0 <= 0x9f) {
    n = b0 & 0x0f
    o = 1
  } else if (b0 === 0xdc) {
    if (bytes.length < 3) return { ok: false, error: 'msgpack' }
    n = ((bytes[1] as number) << 8) | (bytes[2] as number)
    o = 3
  } else if (b0 === 0xdd) {
    if (bytes.length < 5) return { ok: false, error: 'msgpack' }
    n = (bytes[1] as number) * 0x1000000 + (((bytes[2] as number) << 16) | ((bytes[3] as number) << 8) | (bytes[4] as number))
    o = 5
  } else return { ok: false, error: 'msgpack' }
  if (n < SERIES_COUNTS_AT || n > MAX_PACKED_LENGTH) return { ok: false, error: 'length' }
  // Every element takes at least one byte: a claim the bytes cannot hold is refused before allocating for it.
  if (bytes.length - o < n) return { ok: false, error: 'msgpack' }
  const out: PackedSeries = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const t = bytes[o] as number
    if (t < 0x80) {
      // Positive fixint (0–127), nearly every histogram count: inline.
      out[i] = t
      o++
      continue
    }
    const r = readNumber(bytes, o)
    if (r.value === TRUNCATED) return { ok: false, error: 'msgpack' }
    if (r.value === NOT_A_COUNT) return { ok: false, error: 'number' }
    out[i] = r.value
    o = r.end
  }
  if (o !== bytes.length) return { ok: false, error: 'msgpack' }
  const error = checkPacked(out)
  return error === null ? { ok: true, value: out } : { ok: false, error }
}

/** The bounds a decoded array must meet beyond its element types (see `PackedReadError`), or null when it does. */
function checkPacked(v: PackedSeries): PackedReadError | null {
  if (v[0] !== SERIES_FORMAT) return 'format'
  const run = v.length - SERIES_COUNTS_AT
  if (run > 0 && (v[9] as number) + run > BUCKET_COUNT) return 'offset'
  const count = v[1] as number
  let inHistogram = 0
  for (let i = SERIES_COUNTS_AT; i < v.length; i++) inHistogram += v[i] as number
  let inClasses = 0
  for (let i = 4; i < 9; i++) inClasses += v[i] as number
  if (inHistogram !== count || (v[2] as number) > count || inClasses > count) return 'totals'
  return null
}

/** Reusable result of `readNumber` (one decode at a time: JS is single-threaded and readPacked does not re-enter). */
const number = { value: 0, end: 0 }

/**
 * Reads one MessagePack number at `o`: its value when it is a non-negative safe integer (any int/uint/float
 * encoding of one), `NOT_A_COUNT` for any other value or type, `TRUNCATED` when the bytes end inside it.
 */
function readNumber(bytes: Uint8Array, o: number): { value: number; end: number } {
  if (o >= bytes.length) return truncated()
  const t = bytes[o] as number
  let value: number
  let size = 0
  if (t < 0x80) value = t
  else if (t >= 0xcc && t <= 0xd3) {
    // uint8/16/32/64 (0xcc–0xcf), int8/16/32/64 (0xd0–0xd3): big-endian, 1 << (t & 3) bytes.
    size = 1 << (t & 3)
    if (o + 1 + size > bytes.length) return truncated()
    if (t >= 0xd0 && (bytes[o + 1] as number) >= 0x80) value = NOT_A_COUNT // signed and negative: never a count
    else {
      value = 0
      for (let i = 1; i <= size; i++) value = value * 256 + (bytes[o + i] as number)
    }
  } else if (t === 0xca || t === 0xcb) {
    size = t === 0xca ? 4 : 8
    if (o + 1 + size > bytes.length) return truncated()
    const view = new DataView(bytes.buffer, bytes.byteOffset + o + 1, size)
    value = size === 4 ? view.getFloat32(0) : view.getFloat64(0)
  } else {
    // Any other type (nil, bool, negative fixint, str, bin, array, map, ext, 0xc1): not a count.
    value = NOT_A_COUNT
  }
  number.value = Number.isSafeInteger(value) && value >= 0 ? value : NOT_A_COUNT
  number.end = o + 1 + size
  return number
}

function truncated(): { value: number; end: number } {
  number.value = TRUNCATED
  number.end = 0
  return number
}

/**
 * Unpacks a stored value to its packed array (no dense histogram: cheap for readers that merge many buckets);
 * `readPacked` that throws, for callers that treat a bad value as a bug (tests, tools).
 * @throws Error `not a packed series value (<PackedReadError>)` when `readPacked` refuses the bytes
 */
export function decodePacked(bytes: Uint8Array): PackedSeries {
  const r = readPacked(bytes)
  if (!r.ok) throw new Error(`not a packed series value (${r.error})`)
  return r.value
}
