/**
 * Input fuzzing of every procedure over real HTTP (issue #4): fast-check sends ≥ 200 hostile inputs to each query,
 * mutation and subscription of the router as an operator (the role that gets furthest: past auth, into
 * validation and the resolver). Every answer must be < 500 with no stack trace or Redis address in it; afterwards
 * `Object.prototype` is untouched and the server still answers /healthz.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testRedisUrl } from '../testing/redis'
import { listProcedures, prepareSample, sampleFor } from './testing/procedureSamples'
import { callRaw, effectiveStatus, rawGet, startTestServer, type CallResult, type TestServer } from './testing/testServer'

const RUNS = 200
const procedures = listProcedures()
const redisUrl = new URL(testRedisUrl())

let srv: TestServer
let protoNames: string[]
beforeAll(async () => {
  srv = await startTestServer()
  protoNames = Object.getOwnPropertyNames(Object.prototype).sort()
})
afterAll(async () => {
  await srv?.close()
})

/** Keys that reach prototypes when an object is merged carelessly. */
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__']
const key = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) })

/** Any JS value JSON.stringify accepts (no bigint), with dangerous keys, boxed strings and null prototypes. */
const anyValue = fc.anything({
  key,
  maxDepth: 4,
  withObjectString: true,
  withBoxedValues: true,
  withNullPrototype: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
})

/** A string of up to ~10 KB, cheaply (a short random string repeated). */
const hugeString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1_000, max: 10_240 }))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n))

/** JSON text nested `depth` deep (arrays or objects). */
const deepJson = fc
  .tuple(fc.integer({ min: 10, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)))

/** A random value for one field of a sample. */
const fieldValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.array(anyValue, { maxLength: 5 }),
  fc.object({ key, maxDepth: 2 }),
  hugeString,
  fc.constantFrom('{evil}', 'a:b', '*', '../../etc/passwd', '\u0000', '__proto__', ' ', ''),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, -0, 9_999, 10_000, 3_600_001),
)

function json(value: unknown): string | undefined {
  return JSON.stringify(value)
}

/** Inserts raw JSON members (e.g. an own `__proto__` key, which an object literal cannot express) into an object's JSON. */
function withMembers(objectJson: string, members: string): string {
  return objectJson === '{}' ? `{${members}}` : `{${members},${objectJson.slice(1)}`
}

const POLLUTERS = [
  '"__proto__":{"polluted":"yes","isAdmin":true,"role":"operator"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"__proto__":{"__proto__":{"polluted":"yes"}}',
  '"prototype":{"polluted":"yes"}',
  '"__proto__":null',
]

/**
 * The wire text (body of a mutation, `input` parameter of a query/subscription) of a hostile input derived from a
 * procedure's valid sample; `undefined` sends no input at all.
 */
function wireArb(sample: unknown): fc.Arbitrary<string | undefined> {
  const sampleObject = sample !== null && typeof sample === 'object' && !Array.isArray(sample) ? (sample as Record<string, unknown>) : {}
  const fields = Object.keys(sampleObject)
  // The sample with every field replaced (or dropped) at random, sometimes with extra keys.
  const mutated = fc
    .tuple(
      fc.record(Object.fromEntries(fields.map((f) => [f, fieldValue])), { requiredKeys: [] }),
      fc.dictionary(key, fieldValue, { maxKeys: 3 }),
      fc.boolean(),
    )
    .map(([replaced, extra, keepOthers]) => json({ ...(keepOthers ? sampleObject : {}), ...extra, ...replaced }))
  // The sample with one field replaced: everything else valid, so that field's validation is what is tested.
  const oneField =
    fields.length === 0
      ? mutated
      : fc.tuple(fc.constantFrom(...fields), fieldValue).map(([f, v]) => json({ ...sampleObject, [f]: v }))
  const polluted = fc
    .tuple(fc.constantFrom(...POLLUTERS), fc.boolean())
    .map(([members, keepSample]) => withMembers(json(keepSample ? sampleObject : {}) ?? '{}', members))
  return fc.oneof(
    anyValue.map(json),
    fc.json({ maxDepth: 4 }),
    mutated,
    oneField,
    polluted,
    hugeString.map(json),
    fields.length === 0 ? deepJson : fc.tuple(fc.constantFrom(...fields), deepJson).map(([f, deep]) => withMembers(json(sampleObject) ?? '{}', `${JSON.stringify(f)}:${deep}`)),
    deepJson,
    fc.string({ maxLength: 64 }), // not JSON at all, mostly
    fc.constant(undefined),
    fc.constant(json(sample)),
  )
}

/** What no answer may ever contain: stack traces, the Redis URL or address. */
function expectNoLeak(res: CallResult): void {
  expect(res.text).not.toMatch(/"stack"/)
  expect(res.text).not.toMatch(/\bat [^\s"]+ \(?[^\s"]*:\d+:\d+\)?/)
  expect(res.text).not.toContain('redis://')
  expect(res.text).not.toContain(`${redisUrl.hostname}:${redisUrl.port}`)
}

function expectPrototypesUntouched(): void {
  expect(Object.keys(Object.prototype)).toEqual([])
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoNames)
  const probe = {} as Record<string, unknown>
  expect([probe.polluted, probe.isAdmin, probe.role]).toEqual([undefined, undefined, undefined])
}

async function expectHealthy(): Promise<void> {
  const res = await fetch(`${srv.base}/healthz`)
  expect(res.status).toBe(200)
}

describe('fuzzing every procedure over HTTP', () => {
  it('covers every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThan(0)
    for (const p of procedures) sampleFor(p.path) // throws "add a sample for <path>" when one is missing
  })

  it.each(procedures.map((p) => [`${p.type} ${p.path}`, p] as const))(
    `%s: ${RUNS} hostile inputs get a 4xx (or 2xx), never a 5xx or a leak`,
    async (_name, p) => {
      const input = await prepareSample(p.path, { redis: srv.redis, keys: srv.keys })
      const statuses = new Map<number, number>()
      await fc.assert(
        fc.asyncProperty(wireArb(input), async (wire) => {
          // A fresh operator session per run: auth.logout would otherwise end the one the next runs use.
          const res = await callRaw(srv.base, p.path, p.type, wire, await srv.login('operator'), 2000)
          const status = effectiveStatus(res)
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
          expect(status, res.text.slice(0, 500)).toBeLessThan(500)
          expectNoLeak(res)
          expectPrototypesUntouched()
        }),
        { numRuns: RUNS },
      )
      expectPrototypesUntouched()
      await expectHealthy()
      // Hostile inputs must be refused by validation (a procedure without an input parser ignores its input).
      if (p.hasInput) expect([...statuses.keys()].some((s) => s >= 400 && s < 500), JSON.stringify([...statuses])).toBe(true)
      if (process.env.FUZZ_STATS) console.log(p.path, JSON.stringify([...statuses].sort()))
    },
    120_000,
  )

  it(`answers ${RUNS} garbage query strings (not JSON, bad escapes, batch flags) with < 500 and no leak`, async () => {
    const query = procedures.find((p) => p.type === 'query' && p.path !== 'auth.me') ?? procedures.find((p) => p.type === 'query')
    expect(query).toBeDefined()
    const cookie = await srv.login('operator')
    // Raw query strings, sent as is (fetch only percent-encodes what it must): stray %, unicode, repeated params.
    const garbage = fc.oneof(
      fc.string({ maxLength: 200 }).map((s) => `input=${s}`),
      fc.string({ maxLength: 200, unit: 'binary' }).map((s) => `input=${encodeURIComponent(s)}`),
      fc.constantFrom('input=%', 'input=%E0%A4%A', 'input=%00', 'input={', 'input=[', 'input=undefined', 'input=NaN', 'input'),
      fc.tuple(fc.string({ maxLength: 50 }), fc.string({ maxLength: 50 })).map(([a, b]) => `input=${a}&input=${b}`),
      fc.string({ maxLength: 100 }).map((s) => `batch=1&input=${s}`),
      fc.string({ maxLength: 100 }).map((s) => `batch=${s}&input=${encodeURIComponent('{"0":{}}')}`),
      fc.string({ maxLength: 100 }),
    )
    await fc.assert(
      fc.asyncProperty(garbage, async (qs) => {
        const res = await rawGet(srv.base, `/trpc/${query!.path}?${qs}`, { cookie })
        // A well-formed input can be valid (200); anything else is a client error.
        expect(res.status, `${qs} → ${res.text.slice(0, 300)}`).toBeLessThan(500)
        expectNoLeak(res)
      }),
      { numRuns: RUNS },
    )
    const notJson = await rawGet(srv.base, `/trpc/${query!.path}?input=${encodeURIComponent('{not json')}`, { cookie })
    expect(notJson.status, notJson.text).toBeGreaterThanOrEqual(400)
    expect(notJson.status, notJson.text).toBeLessThan(500)
    expectPrototypesUntouched()
    await expectHealthy()
  }, 60_000)

  it('answers random batches of procedure paths (over the batch limit too) with < 500', async () => {
    const cookie = await srv.login('operator')
    const paths = fc.array(fc.oneof(fc.constantFrom(...procedures.map((p) => p.path)), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 15 })
    await fc.assert(
      fc.asyncProperty(paths, fc.dictionary(fc.string({ maxLength: 3 }), fieldValue, { maxKeys: 4 }), async (batch, inputs) => {
        const path = batch.map(encodeURIComponent).join(',')
        const res = await rawGet(srv.base, `/trpc/${path}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`, { cookie })
        expect(res.status, `${path} → ${res.text.slice(0, 300)}`).toBeLessThan(500)
        expectNoLeak(res)
      }),
      { numRuns: RUNS },
    )
    expectPrototypesUntouched()
    await expectHealthy()
  }, 60_000)
})
