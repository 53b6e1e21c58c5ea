import { encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BUCKET_COUNT } from './histogram'
import { MAX_PACKED_BYTES, MAX_PACKED_LENGTH, SERIES_COUNTS_AT, SERIES_FORMAT, decodePacked, readPacked, type PackedSeries } from './seriesCodec'

/** What every value the bounded decoder accepts satisfies (docs/decisions/014). */
function expectWithinBounds(v: PackedSeries): void {
  expect(v.length).toBeGreaterThanOrEqual(SERIES_COUNTS_AT)
  expect(v.length).toBeLessThanOrEqual(MAX_PACKED_LENGTH)
  for (const n of v) expect(Number.isSafeInteger(n) && n >= 0).toBe(true)
  const run = v.length - SERIES_COUNTS_AT
  if (run > 0) expect((v[9] as number) + run).toBeLessThanOrEqual(BUCKET_COUNT)
  let inHistogram = 0
  for (let i = SERIES_COUNTS_AT; i < v.length; i++) inHistogram += v[i] as number
  expect(inHistogram).toBe(v[1])
}

/** A consistent packed value: random totals and a random run of buckets whose counts add up to `count`. */
const validPacked = fc
  .record({
    first: fc.integer({ min: 0, max: BUCKET_COUNT - 1 }),
    counts: fc.array(fc.nat({ max: 100_000 }), { maxLength: 60 }),
    errorsShare: fc.double({ min: 0, max: 1, noNaN: true }),
    sumUs: fc.maxSafeNat(),
  })
  .map(({ first, counts, errorsShare, sumUs }): PackedSeries => {
    const run = counts.slice(0, BUCKET_COUNT - first)
    const count = run.reduce((a, b) => a + b, 0)
    const errors = Math.floor(count * errorsShare)
    return [SERIES_FORMAT, count, errors, sumUs, 0, count - errors, 0, 0, errors, run.length > 0 ? first : 0, ...run]
  })

describe('decodePacked', () => {
  it('returns the packed array of a stored value as it is', () => {
    const value = [SERIES_FORMAT, 3, 1, 4500, 0, 2, 0, 0, 1, 40, 1, 0, 2]
    expect(decodePacked(encode(value))).toEqual(value)
  })

  it('rejects what the SDK could not have written: other types, short headers, other formats, negative numbers', () => {
    const header = [SERIES_FORMAT, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    for (const bad of [null, 'x', { a: 1 }, header.slice(1), [SERIES_FORMAT + 1, ...header.slice(1)], [...header, -1], [...header, 'x']]) {
      expect(() => decodePacked(encode(bad))).toThrow(/not a packed series/)
    }
    expect(() => decodePacked(new Uint8Array([0xc1]))).toThrow()
  })

  it('never returns a bucket run that reaches past the histogram layout, a fraction, or totals its counts do not add up to', () => {
    fc.assert(
      fc.property(validPacked, fc.oneof(fc.constant(1e9), fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: BUCKET_COUNT, max: 2 ** 40 })), (p, first) => {
        const run = p.length - SERIES_COUNTS_AT
        fc.pre(run > 0)
        expect(() => decodePacked(encode([...p.slice(0, 9), first, ...p.slice(10)]))).toThrow(/not a packed series/)
        expect(() => decodePacked(encode([...p.slice(0, 10), ...p.slice(10), 0.5]))).toThrow(/not a packed series/)
        expect(() => decodePacked(encode([p[0], (p[1] as number) + 1, ...p.slice(2)]))).toThrow(/not a packed series/)
      }),
    )
  })
})

describe('readPacked, the bounded decoder', () => {
  it('reads back every consistent value exactly', () => {
    fc.assert(
      fc.property(validPacked, (p) => {
        const r = readPacked(encode(p))
        expect(r).toEqual({ ok: true, value: p })
      }),
    )
  })

  it('never throws on arbitrary bytes, and accepts only values within the bounds', () => {
    const headers = fc.constantFrom([0xdc, 0xff, 0xff], [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x7f, 0xff, 0xff, 0xff], [0x9f], [0xdc, 0x00, 0x0b])
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(headers, fc.uint8Array({ maxLength: 200 })).map(([h, rest]) => Uint8Array.from([...h, ...rest])),
    )
    fc.assert(
      fc.property(bytes, (b) => {
        const r = readPacked(b)
        if (r.ok) expectWithinBounds(r.value)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on arbitrary MessagePack arrays (huge, fractional, negative, non-finite numbers, strings, nesting)', () => {
    const element = fc.oneof(
      fc.integer(),
      fc.maxSafeNat(),
      fc.double(),
      fc.constantFrom(1e9, 2 ** 64, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -0),
      fc.string({ maxLength: 4 }),
      fc.constant(null),
      fc.array(fc.nat(), { maxLength: 3 }),
    )
    const arrays = fc.oneof(
      fc.array(element, { maxLength: 40 }),
      fc.tuple(validPacked, fc.nat({ max: 20 }), element).map(([p, i, e]) => {
        const q: unknown[] = [...p]
        q[i % q.length] = e
        return q
      }),
    )
    fc.assert(
      fc.property(arrays, (a) => {
        const r = readPacked(encode(a))
        if (r.ok) expectWithinBounds(r.value)
      }),
      { numRuns: 2000 },
    )
  })

  it('rejects, by what is wrong, the values no writer produces', () => {
    const header = [SERIES_FORMAT, 1, 0, 1000, 0, 1, 0, 0, 0]
    const cases: [Uint8Array, string][] = [
      [encode([...header, 1e9, 1]), 'offset'],
      [encode([...header, Number.POSITIVE_INFINITY, 1]), 'number'],
      [encode([...header, BUCKET_COUNT - 1, 0, 1]), 'offset'],
      [encode([...header, 40, 2]), 'totals'],
      [encode([SERIES_FORMAT, 1, 2, 1000, 0, 1, 0, 0, 0, 40, 1]), 'totals'],
      [encode([...header, 40, ...new Array<number>(BUCKET_COUNT + 1).fill(0)]), 'length'],
      [Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), 'length'],
      [Uint8Array.from([0xdc, 0x00, 0x0b, 1, 1]), 'msgpack'],
      [Uint8Array.from([0x9a, ...new Array<number>(9).fill(0xcc), 1]), 'msgpack'],
      [Uint8Array.from([...encode([...header, 40, 1]), 0]), 'msgpack'],
      [encode([2, ...header.slice(1), 40, 1]), 'format'],
      [new Uint8Array(MAX_PACKED_BYTES + 1), 'size'],
    ]
    for (const [bytes, error] of cases) expect(readPacked(bytes)).toEqual({ ok: false, error })
  })
})
