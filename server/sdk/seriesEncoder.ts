/**
 * The SDK's writer of packed series values (the wire layout of shared/seriesCodec.ts, which also holds the server's
 * validating parser). A packed value is an array of non-negative integers, so this writes the MessagePack spec's
 * array and uint formats directly (array16/32; positive fixint, uint8/16/32/64) — several times faster than the
 * generic encoder on the flush path — and falls back to the generic encoder for anything else (which a packed value
 * never holds), so the output is always valid MessagePack.
 */
import { Encoder } from '@msgpack/msgpack'
import { SERIES_COUNTS_AT, SERIES_FORMAT, type PackedSeries } from '../../shared/seriesCodec'

/** One encoder, reused: `encode()` of @msgpack/msgpack builds a new Encoder (and buffer) per call. */
const ENCODER = new Encoder()

/** Request totals of a series value: counts, errors, duration sum (µs), per status class [1xx … 5xx]. */
export interface SeriesTotals {
  count: number
  errors: number
  sumUs: number
  statusCounts: ArrayLike<number>
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

/**
 * MessagePack bytes of a packed value (fresh memory, safe to keep): the direct writer when every element is a
 * non-negative safe integer, the generic encoder otherwise.
 */
export function encodePacked(p: PackedSeries): Uint8Array {
  const bound = 5 + p.length * 9 // array header + at most 9 bytes a number
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2))
  let o = writeArrayHeader(scratch, 0, p.length)
  for (let i = 0; i < p.length && o >= 0; i++) o = writeUint(scratch, o, p[i] as number)
  return o < 0 ? ENCODER.encode(p) : scratch.slice(0, o)
}

/** Scratch space of encodePacked (grown on demand); results are copied out, so it is safe to reuse. */
let scratch = new Uint8Array(16 * 1024)

/** Upper bound in bytes of a packed value whose non-zero buckets span `[lo, hi]`. */
export function maxDenseEncodedLength(lo: number, hi: number): number {
  return 5 + (SERIES_COUNTS_AT + Math.max(0, hi - lo + 1)) * 9
}

/**
 * Writes a packed series (shared/seriesCodec.ts layout) from totals and a dense count array holding bucket
 * `base + i` at index `i`, non-zero only in `[lo, hi]` (`lo > hi`: empty), at `offset` of `out`
 * (`maxDenseEncodedLength(lo, hi)` bytes free). Returns the end offset, or -1 when a number is not a non-negative
 * safe integer.
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
  const n = SERIES_COUNTS_AT + runs
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
