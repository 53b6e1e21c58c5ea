/**
 * Attack tests over real HTTP (issue #4, issue #11 "Attack tests"): fast-check sends ≥ 1,000 hostile requests to
 * EACH procedure of the router — queries over GET, mutations over POST, the subscription as an event stream — as an
 * operator, a viewer and anonymously (drawn per run). Hostile means: inputs derived from the procedure's valid sample
 * with fields replaced, `__proto__`/`constructor`/`prototype` members (also nested), JSON nested 10,000 deep, strings
 * of ~1 MB, numbers JSON cannot carry (`1e999` parses to Infinity, `-0`, `"NaN"`, `"Infinity"` as strings, a bare
 * `NaN` token — tRPC here has no transformer, so this is exactly what reaches zod), batches over the batch limit,
 * bodies and URLs over the size limits, and the wrong HTTP method.
 *
 * Every answer must be < 500 (also inside a 207 batch and a stream's first event), arrive within 15 s (no hang),
 * and leak no stack trace or Redis address. The server runs in its own process (serverProcess.ts, `--expose-gc`), so
 * that its `Object.prototype` is checked after every run and its memory after a full GC is compared before and after
 * the ~24,000 requests (server/testing/memory.ts `memoryGrowth`): what live JS values hold (heap used + external:
 * objects, strings, Buffers, zlib contexts) may grow < 16 MiB, resident memory outside V8's heap (malloc'ed memory V8
 * is not told about) < 80 MiB, on Node 20, 22 and 24 alike. Not bounded: the free pages V8 keeps in its heap after a
 * GC, which V8 sizes — a bound on the whole RSS failed on Node 20, 22 and 24 without any leak (see
 * LIVE_GROWTH_LIMIT_BYTES). `FUZZ_TRACE=1` prints the server's memory parts every 5 s. Requests over node's 16 KiB
 * header limit or the 1 MiB body limit may be cut at the socket after node:http's 431/413; those are counted apart,
 * any other failure to answer fails.
 *
 * Speed (2 cores): the procedures run 5 at a time (`it.concurrent`, Vitest's default maxConcurrency), each with
 * LANES properties side by side, over undici's keep-alive pool; the runs/s figure is printed at the end (229 runs/s,
 * ~2 min for the file, on the 2-core VM of docs/BENCHMARKS.md).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryGrowth } from '../testing/memory'
import { testRedisTarget } from '../testing/redis'
import { MAX_BODY_BYTES } from './http'
import { listProcedures, prepareSample, sampleFor, type ProcedureInfo } from './testing/procedureSamples'
import type { ServerProbe } from './testing/serverProcess'
import { startServerProcess, type ServerProcess } from './testing/serverProcessClient'
import { callRaw, effectiveStatus, MUTATION_HEADERS, rawGet, type CallResult } from './testing/testServer'

/** fast-check runs per procedure (issue #11: ≥ 1,000). */
const RUNS = 1000
/**
 * Each procedure's runs are split over this many properties run side by side (seeds differ), so that requests,
 * not fast-check, are what waits: 5 procedures × 2 = 10 requests in flight.
 */
const LANES = 2
/** A request not answered within this is a hang. */
const HANG_MS = 15_000
/** How long a subscription is read for its first event before it is aborted. */
const SSE_WAIT_MS = 2000
/**
 * Allowed growth of the server process's memory over the whole run, after a full GC at both ends (issue #11; see
 * `memoryGrowth` in server/testing/memory.ts for what each part holds). Over 24,000 requests a leak of ≥ 700 bytes per
 * request fails the first, one of ≥ 3.4 KiB of native memory the second (the RSS bound it replaces, 50 MiB, let
 * anything under 2.1 KiB through, and failed without a leak).
 *
 * Why not the RSS (2-core VM, 2026-12-01; MiB after a full GC, before → after the run, no leak): it grew by 60.7 on
 * Node 20, 83.1 on Node 22 and 95.9 on Node 24 with the heap used flat (+6.4, +4.9, +3.2). Node 24 grows its young
 * generation to 2 × 64 MiB (Node 20, 22: 2 × 16) and keeps its pages resident when empty (new space 128 committed,
 * 99 resident, 0 used); Node 20 kept 83 MiB of old space committed with 23 used (Node 22: 52 with 23); and glibc
 * kept freed memory in its arenas (see SERVER_MALLOC_ENV). Measured with these bounds and SERVER_MALLOC_ENV, live /
 * outside the heap (RSS, not bounded): Node 20 +4.4 / +1.2 (+7.9) and +4.3 / +20.3 (+26.3), Node 22 +3.3 / +4.0
 * (+11.1) and, in the whole Node 22 matrix run (other files beside it), +3.1 / +50.4 (+58.0), Node 24 +1.3 / +14.6
 * (+95.4) and +1.2 / +15.7 (+88.8) in its matrix run. With a leak injected into the server for a check (each
 * request keeping 128 numbers in an array and an unused AES-GCM cipher: ≈ 1.2 KiB of heap and 1.6 KiB of native
 * memory), the first bound failed on every version:
 * Node 20 +32.7 / +36.5, Node 22 +31.9 / +34.2, Node 24 +30.5 / +51.3. The second bound is the coarse one — that
 * 1.6 KiB native leak stays inside the allocator's noise under load (a native-only leak is rare here: Node reports
 * Buffers, zlib and most of its own C++ memory as external); with 4 such ciphers per request (≈ 6.5 KiB of native
 * memory, 0.5 KiB of heap) the second failed and the first held: Node 20 +13.4 / +127.5, Node 22 +12.5 / +220.2, Node 24
 * +11.6 / +171.3.
 */
const LIVE_GROWTH_LIMIT_BYTES = 16 * 2 ** 20
const OUTSIDE_HEAP_GROWTH_LIMIT_BYTES = 80 * 2 ** 20
/**
 * glibc malloc for the server process: blocks of ≥ 32 KiB get their own mmap and go back to the OS when freed. By
 * default glibc starts at 128 KiB and raises the threshold to the size of each mmapped block freed (up to 32 MiB), so
 * after the first ~1 MB body is freed, later ones — and every 64 KiB socket read — come from the malloc arenas and
 * stay there, fragmented: on Node 22 the memory outside V8's heap wandered between 55 and 131 MiB during the run and
 * ended 51 MiB up with nothing leaked; a fixed 128 KiB still left Node 20 up to +46 MiB (presumably the 64 KiB socket reads); with 32 KiB
 * it ends within the figures above. A leaked block is never freed, so it counts as before. (Setting the variable
 * turns glibc's dynamic adjustment off, mallopt(3); other C libraries ignore it. MALLOC_ARENA_MAX=2 was tried too:
 * Node 24 still ended 75 MiB up in RSS, its young generation.)
 */
const SERVER_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(32 * 1024) }
/** Node's default `--max-http-header-size` (16 KiB): a longer request head is refused with 431 by node:http. */
const MAX_HEADER_BYTES = 16 * 1024

const procedures = listProcedures()
/** The run's Redis (a URL or cluster seeds, server/testing/redis.ts), and every `host:port` of it no answer may name. */
const target = testRedisTarget()
const redisAddresses = typeof target === 'string' ? [new URL(target).host] : target.cluster.split(',')
/**
 * `auth.*` procedures run one after the other after the rest: `auth.logout` (and any "sign out everywhere") end
 * sessions, so they get a fresh session per run and must not end the sessions the concurrent tests share.
 */
const isSessionProcedure = (p: ProcedureInfo): boolean => p.path.startsWith('auth.')

type Caller = 'operator' | 'viewer' | 'anonymous'

let srv: ServerProcess
let baseline: ServerProbe
let protoNames: string[]
const cookies = new Map<Caller, string>()
let requests = 0
let transportRefusals = 0
let startedAt = 0
let testCpuAtStartUs = 0

beforeAll(async () => {
  srv = await startServerProcess(target, ['--expose-gc'], SERVER_MALLOC_ENV)
  cookies.set('operator', await srv.login('operator'))
  cookies.set('viewer', await srv.login('viewer'))
  protoNames = Object.getOwnPropertyNames(Object.prototype).sort()
  // Warm-up (JIT, pools, lazily built objects), so the memory baseline is the steady state, not the empty process.
  for (const p of procedures) {
    const input = await prepareSample(p.path, { redis: srv.redis, keys: srv.keys })
    if (p.type === 'query' && !isSessionProcedure(p)) querySamples.set(p.path, JSON.stringify(input))
    for (let i = 0; i < 20; i++) await callRaw(srv.base, p.path, p.type, JSON.stringify(input), cookies.get('operator'), SSE_WAIT_MS)
  }
  // The allocator's high-water mark: as many ~1 MB inputs in flight at once as the runs below can have (10).
  for (let round = 0; round < 3; round++) {
    const big = JSON.stringify({ token: 'é'.repeat(500_000) })
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const p = procedures[(round * 10 + i) % procedures.length]!
        return callRaw(srv.base, p.path, p.type, big, cookies.get('operator'), SSE_WAIT_MS).catch(() => undefined)
      }),
    )
  }
  // Sessions the warm-up's auth.logout ended.
  cookies.set('operator', await srv.login('operator'))
  cookies.set('viewer', await srv.login('viewer'))
  baseline = await settledMemory()
  expect(baseline.collected).toBe(true)
  if (process.env.FUZZ_TRACE) {
    // Diagnosis (decided the bounds above): the server's memory parts every 5 s while the attacks run.
    const show = (tag: string, m: ServerProbe): void => {
      const spaces = Object.entries(m.heapSpaces).filter(([, v]) => v.committedBytes > 2 ** 20)
      console.log(
        `[trace] ${tag} ${((performance.now() - startedAt) / 1000).toFixed(0)} s: ${memoryParts(m)}, outside the heap ${mib(m.rssAnonBytes - m.heapPhysicalBytes)}; ` +
          `spaces committed/resident/used ${spaces.map(([k, v]) => `${k} ${mib(v.committedBytes)}/${mib(v.physicalBytes)}/${mib(v.usedBytes)}`).join(', ')}`,
      )
    }
    show('baseline', baseline)
    traceTimer = setInterval(() => void srv.probe(false).then((m) => show('run', m)), 5000)
  }
  startedAt = performance.now()
  testCpuAtStartUs = process.cpuUsage().user + process.cpuUsage().system
}, 120_000)
let traceTimer: NodeJS.Timeout | undefined
/** Bytes as MiB with one decimal. */
const mib = (b: number): string => (b / 2 ** 20).toFixed(1)
/** A probe's memory parts, MiB, in one line. */
const memoryParts = (m: ServerProbe): string =>
  `rss ${mib(m.rssBytes)} (anon ${mib(m.rssAnonBytes)}), heap used ${mib(m.heapUsedBytes)} of ${mib(m.heapTotalBytes)} committed ` +
  `(${mib(m.heapPhysicalBytes)} resident), external ${mib(m.externalBytes)} (array buffers ${mib(m.arrayBuffersBytes)})`
/** Each query's valid input as JSON, path → text (filled by the warm-up). */
const querySamples = new Map<string, string>()

/**
 * The server's memory after a full GC, with what the last hostile requests left referenced let go first: every query
 * once with its valid input (V8's RegExp last-match info, for one, holds the last string a regex ran on — up to a
 * ~1 MB input, in `external` when node made it an external string), then GC, a pause for V8's background sweeping of
 * freed ArrayBuffers, GC again.
 */
async function settledMemory(): Promise<ServerProbe> {
  for (const [path, input] of querySamples) await callRaw(srv.base, path, 'query', input, cookies.get('operator'), SSE_WAIT_MS)
  await srv.probe(true)
  await sleep(200)
  return srv.probe(true)
}
afterAll(async () => {
  clearInterval(traceTimer)
  await srv?.close()
})

// ---------------------------------------------------------------------------------------------------------------
// Hostile values.
// ---------------------------------------------------------------------------------------------------------------

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
const longString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1_000, max: 10_240 }))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n))

/**
 * A ~1 MB string of one character — ASCII, 2-byte, astral (surrogate pairs), an escaped quote, `%` (3 bytes in a
 * URL) — at lengths that put its JSON just under or over the 1 MiB body limit. A constant set (15 strings, built
 * once), so that the run pays for sending them, not for building them.
 */
const MEGA_STRINGS = ['a', 'é', '𝄞', '"', '%'].flatMap((c) => [1_000_000, 1_040_000, 1_050_000].map((n) => c.repeat(Math.ceil(n / c.length))))
const megaString = fc.constantFrom(...MEGA_STRINGS)

/** JSON text nested `depth` deep (arrays or objects), up to 10,000 levels. */
const deepJson = fc
  .tuple(fc.oneof(fc.integer({ min: 10, max: 2_000 }), fc.constantFrom(5_000, 10_000)), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)))

/**
 * Number-like JSON text JSON cannot carry or a schema may mishandle: `1e999` parses to Infinity, `1e-400` to 0,
 * `-0`; NaN/Infinity as strings (the only way JSON carries them); bare `NaN`/`Infinity`/hex (invalid JSON); integers
 * past 2^53.
 */
const NUMBER_TEXT = ['1e999', '-1e999', '-0', '-0.0', '1e-400', '"NaN"', '"Infinity"', '"-Infinity"', '"-0"', '"1e999"', 'NaN', 'Infinity', '-Infinity', '0x10', '9007199254740993', '-9007199254740993', '1.5', '-1', '1e21', '" 60000 "']
const numberText = fc.constantFrom(...NUMBER_TEXT)

/** A random value for one field of a sample. */
const fieldValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.array(anyValue, { maxLength: 5 }),
  fc.object({ key, maxDepth: 2 }),
  longString,
  fc.constantFrom('{evil}', 'a:b', '*', '../../etc/passwd', '\u0000', '__proto__', ' ', '', '\t', '\r\n'),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, -0, 9_999, 10_000, 3_600_001, Number.MIN_VALUE),
)

/** A field value as JSON text: any of `fieldValue`, or hostile text JSON.stringify cannot produce. */
const fieldText = fc.oneof(
  { weight: 6, arbitrary: fieldValue.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 3, arbitrary: numberText },
  { weight: 1, arbitrary: deepJson },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"polluted":"yes"}}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
      '{"__proto__":{"method":"GET","route":"/x"},"method":"GET"}',
      '[{"__proto__":{"polluted":"yes"}}]',
      '{"prototype":{"polluted":"yes"},"length":1e999}',
    ),
  },
)

function json(value: unknown): string | undefined {
  return JSON.stringify(value)
}

/** Inserts raw JSON members (e.g. an own `__proto__` key, which an object literal cannot express) into an object's JSON. */
function withMembers(objectJson: string, members: string): string {
  return objectJson === '{}' ? `{${members}}` : `{${members},${objectJson.slice(1)}`
}

/** `sample` without `field`, as JSON, with `"field":<valueText>` inserted as raw text. */
function replaceField(sample: Record<string, unknown>, field: string, valueText: string): string {
  const rest = Object.fromEntries(Object.entries(sample).filter(([k]) => k !== field))
  return withMembers(json(rest) ?? '{}', `${JSON.stringify(field)}:${valueText}`)
}

const POLLUTERS = [
  '"__proto__":{"polluted":"yes","isAdmin":true,"role":"operator"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"__proto__":{"__proto__":{"polluted":"yes"}}',
  '"prototype":{"polluted":"yes"}',
  '"__proto__":null',
  '"__proto__":[]',
]

/**
 * The wire text (body of a mutation, `input` parameter of a query/subscription) of a hostile input derived from a
 * procedure's valid sample; `undefined` sends no input at all. `heavy`: weight of the ~1 MB strings (0: none).
 */
function wireArb(sample: unknown, heavy: number): fc.Arbitrary<string | undefined> {
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
  // The sample with one field replaced by hostile text: everything else valid, so that field's validation is tested.
  const oneField = fields.length === 0 ? mutated : fc.tuple(fc.constantFrom(...fields), fieldText).map(([f, v]) => replaceField(sampleObject, f, v))
  const polluted = fc
    .tuple(fc.constantFrom(...POLLUTERS), fc.boolean())
    .map(([members, keepSample]) => withMembers(json(keepSample ? sampleObject : {}) ?? '{}', members))
  const arbs: fc.WeightedArbitrary<string | undefined>[] = [
    { weight: 3, arbitrary: anyValue.map(json) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 4, arbitrary: mutated },
    { weight: 8, arbitrary: oneField },
    { weight: 3, arbitrary: polluted },
    { weight: 1, arbitrary: longString.map(json) },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: numberText },
    { weight: 1, arbitrary: fc.string({ maxLength: 64 }) }, // not JSON at all, mostly
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(json(sample)) },
  ]
  if (heavy > 0) {
    const whole = megaString.map(json)
    const inField = fields.length === 0 ? whole : fc.tuple(fc.constantFrom(...fields), megaString).map(([f, s]) => replaceField(sampleObject, f, JSON.stringify(s)))
    arbs.push({ weight: heavy, arbitrary: fc.oneof(whole, inField) })
  }
  return fc.oneof(...arbs)
}

// ---------------------------------------------------------------------------------------------------------------
// Requests.
// ---------------------------------------------------------------------------------------------------------------

/**
 * One hostile request: `single` — the procedure's own method and URL; `batch` — `?batch=1` with `size` copies
 * (the limit is 10); `wrongMethod` — POST for a query, GET for a mutation; `oversized` — a body of `bytes` > 1 MiB.
 */
type Attack =
  | { shape: 'single'; caller: Caller; wire: string | undefined }
  | { shape: 'batch'; caller: Caller; wire: string | undefined; size: number }
  | { shape: 'wrongMethod'; caller: Caller; wire: string | undefined }
  | { shape: 'oversized'; caller: Caller; bytes: (typeof OVERSIZED_BYTES)[number] }

const caller = fc.constantFrom<Caller>('operator', 'operator', 'viewer', 'anonymous')

/** Body sizes over the 1 MiB limit: one byte over, 1.5 MiB, 2 MiB. */
const OVERSIZED_BYTES = [MAX_BODY_BYTES + 1, 1.5 * MAX_BODY_BYTES, 2 * MAX_BODY_BYTES] as const
/** A valid-looking JSON object whose one string makes the body `bytes` long (built once per size). */
const oversizedBodies = new Map(OVERSIZED_BYTES.map((bytes) => [bytes, `{"token":"${'y'.repeat(bytes - 12)}"}`]))

/**
 * `type`: in a mutation's body a ~1 MB string reaches JSON.parse and zod, so it gets twice the weight it has in a
 * query's URL (refused by node:http past 16 KiB whatever its size).
 */
function attackArb(sample: unknown, type: ProcedureInfo['type']): fc.Arbitrary<Attack> {
  const light = wireArb(sample, 0)
  return fc.oneof(
    { weight: 16, arbitrary: fc.record({ shape: fc.constant('single' as const), caller, wire: wireArb(sample, type === 'mutation' ? 2 : 1) }) },
    { weight: 2, arbitrary: fc.record({ shape: fc.constant('batch' as const), caller, wire: light, size: fc.constantFrom(2, 10, 11, 50, 500) }) },
    { weight: 1, arbitrary: fc.record({ shape: fc.constant('wrongMethod' as const), caller, wire: light }) },
    { weight: 1, arbitrary: fc.record({ shape: fc.constant('oversized' as const), caller, bytes: fc.constantFrom(...OVERSIZED_BYTES) }) },
  )
}

async function post(pathAndQuery: string, body: string, cookie: string | undefined): Promise<CallResult> {
  const res = await fetch(`${srv.base}${pathAndQuery}`, { method: 'POST', headers: { ...MUTATION_HEADERS, ...(cookie ? { cookie } : {}) }, body })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

/** What was sent, in bytes: the request line's URL and the body (for telling a transport refusal from an error). */
interface Sent {
  urlBytes: number
  bodyBytes: number
}

async function send(p: ProcedureInfo, a: Attack, cookie: string | undefined, sent: Sent): Promise<CallResult> {
  const accept: Record<string, string> = p.type === 'subscription' ? { accept: 'text/event-stream' } : {}
  const auth: Record<string, string> = cookie ? { cookie } : {}
  const get = (pathAndQuery: string): Promise<CallResult> => {
    sent.urlBytes = Buffer.byteLength(pathAndQuery)
    return rawGet(srv.base, pathAndQuery, { ...accept, ...auth }, SSE_WAIT_MS)
  }
  const postBody = (pathAndQuery: string, body: string): Promise<CallResult> => {
    sent.bodyBytes = Buffer.byteLength(body)
    return post(pathAndQuery, body, cookie)
  }
  const input = (wire: string | undefined): string => (wire === undefined ? '' : `input=${encodeURIComponent(wire)}`)
  switch (a.shape) {
    case 'single':
      if (p.type === 'mutation') return postBody(`/trpc/${p.path}`, a.wire ?? '')
      return get(`/trpc/${p.path}${a.wire === undefined ? '' : `?${input(a.wire)}`}`)
    case 'batch': {
      const paths = Array.from({ length: a.size }, () => p.path).join(',')
      const body = `{${Array.from({ length: a.size }, (_, i) => `"${i}":${a.wire ?? 'null'}`).join(',')}}`
      return p.type === 'mutation' ? postBody(`/trpc/${paths}?batch=1`, body) : get(`/trpc/${paths}?batch=1&${input(body)}`)
    }
    case 'wrongMethod':
      return p.type === 'mutation' ? get(`/trpc/${p.path}?${input(a.wire)}`) : postBody(`/trpc/${p.path}`, a.wire ?? '')
    case 'oversized':
      return postBody(`/trpc/${p.path}`, oversizedBodies.get(a.bytes)!)
  }
}

/** Rejects when `promise` has not settled within `ms`: the server hung on this request. */
async function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

function describeAttack(p: ProcedureInfo, a: Attack): string {
  const detail = a.shape === 'oversized' ? `${a.bytes} B body` : `${a.shape === 'batch' ? `×${a.size} ` : ''}${(a.wire ?? '<none>').slice(0, 200)}${(a.wire?.length ?? 0) > 200 ? `… (${a.wire?.length} chars)` : ''}`
  return `${p.type} ${p.path} as ${a.caller}, ${a.shape}: ${detail}`
}

/** What no answer may ever contain: stack traces, the Redis URL or address, a 5xx inside a batch or stream. */
function expectNoLeak(res: CallResult, what: string): void {
  expect(res.text, what).not.toMatch(/"stack"/)
  expect(res.text, what).not.toMatch(/\bat [^\s"]+ \(?[^\s"]*:\d+:\d+\)?/)
  expect(res.text, what).not.toContain('redis://')
  for (const address of redisAddresses) expect(res.text, what).not.toContain(address)
  expect(res.text, what).not.toMatch(/"httpStatus":5\d\d/)
}

/** `Object.prototype` of the server process is untouched. */
async function expectServerPrototypeUntouched(what: string): Promise<void> {
  const probe = await srv.probe(false)
  expect(probe.prototypeKeys, what).toEqual([])
  expect(probe.prototypeNames, what).toEqual(protoNames)
  expect(probe.probeValues, what).toBe('[null,null,null]')
}

/**
 * Sends one attack and checks the answer. A request whose head is over node's 16 KiB limit or whose body is over
 * 1 MiB may be cut at the socket (node:http answers 431/413 and closes while the client still writes): that
 * refusal is counted, anything else that fails to get an answer fails the test.
 */
async function attackOnce(p: ProcedureInfo, a: Attack, statuses: Map<number | string, number>): Promise<void> {
  const what = describeAttack(p, a)
  const cookie = a.caller === 'anonymous' ? undefined : isSessionProcedure(p) ? await srv.login(a.caller) : cookies.get(a.caller)
  const sent: Sent = { urlBytes: 0, bodyBytes: 0 }
  requests++
  let res: CallResult
  try {
    res = await withinMs(send(p, a, cookie, sent), HANG_MS, what)
  } catch (e) {
    const oversized = sent.urlBytes > MAX_HEADER_BYTES || sent.bodyBytes > MAX_BODY_BYTES
    const reset = e instanceof TypeError && /fetch failed|other side closed|EPIPE|ECONNRESET|socket/i.test(`${e.message} ${String((e as { cause?: unknown }).cause)}`)
    if (!oversized || !reset) throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
    transportRefusals++
    statuses.set('reset', (statuses.get('reset') ?? 0) + 1)
    return
  }
  const status = effectiveStatus(res)
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
  expect(status, `${what} → ${res.text.slice(0, 500)}`).toBeLessThan(500)
  expectNoLeak(res, what)
  await expectServerPrototypeUntouched(what)
}

async function fuzzProcedure(p: ProcedureInfo): Promise<Map<number | string, number>> {
  const sample = await prepareSample(p.path, { redis: srv.redis, keys: srv.keys })
  const statuses = new Map<number | string, number>()
  const seed = Math.floor(Math.random() * 2 ** 30)
  await Promise.all(
    Array.from({ length: LANES }, (_, lane) =>
      fc.assert(
        fc.asyncProperty(attackArb(sample, p.type), (a) => attackOnce(p, a, statuses)),
        { numRuns: Math.ceil(RUNS / LANES), seed: seed + lane },
      ),
    ),
  )
  await expectServerPrototypeUntouched(p.path)
  const health = await fetch(`${srv.base}/healthz`)
  expect(health.status).toBe(200)
  // Hostile inputs must be refused by validation (a procedure without an input parser ignores its input).
  if (p.hasInput) expect([...statuses.keys()].some((s) => typeof s === 'number' && s >= 400 && s < 500), JSON.stringify([...statuses])).toBe(true)
  if (process.env.FUZZ_STATS) console.log(p.path, JSON.stringify([...statuses].sort()))
  return statuses
}

const title = (p: ProcedureInfo): string => `${p.type} ${p.path}: ${RUNS} hostile requests (operator, viewer, anonymous) get a 4xx (or 2xx), never a 5xx, a hang or a leak`

describe('attacking every procedure over HTTP (server in its own process)', () => {
  it('covers every procedure of the router', () => {
    expect(procedures.length).toBeGreaterThan(0)
    for (const p of procedures) sampleFor(p.path) // throws "add a sample for <path>" when one is missing
  })

  // Reads and commands, 5 at a time; each property runs its requests one after the other.
  it.concurrent.each(procedures.filter((p) => !isSessionProcedure(p)).map((p) => [title(p), p] as const))('%s', async (_name, p) => {
    await fuzzProcedure(p)
  }, 240_000)

  it.concurrent(`answers ${RUNS} garbage query strings (not JSON, bad escapes, batch flags) with < 500 and no leak`, async () => {
    // A query that takes an input (garbage in the input must be refused, not ignored).
    const query = procedures.find((p) => p.type === 'query' && p.hasInput)
    expect(query).toBeDefined()
    const cookie = cookies.get('operator')!
    // Raw query strings, sent as is (fetch only percent-encodes what it must): stray %, unicode, repeated params.
    const garbage = fc.oneof(
      fc.string({ maxLength: 200 }).map((s) => `input=${s}`),
      fc.string({ maxLength: 200, unit: 'binary' }).map((s) => `input=${encodeURIComponent(s)}`),
      fc.constantFrom('input=%', 'input=%E0%A4%A', 'input=%00', 'input={', 'input=[', 'input=undefined', 'input=NaN', 'input', 'input=1e999', 'input=%7B%22windowMs%22%3A1e999%7D'),
      fc.tuple(fc.string({ maxLength: 50 }), fc.string({ maxLength: 50 })).map(([a, b]) => `input=${a}&input=${b}`),
      fc.string({ maxLength: 100 }).map((s) => `batch=1&input=${s}`),
      fc.string({ maxLength: 100 }).map((s) => `batch=${s}&input=${encodeURIComponent('{"0":{}}')}`),
      fc.string({ maxLength: 100 }),
    )
    await fc.assert(
      fc.asyncProperty(garbage, async (qs) => {
        requests++
        const res = await withinMs(rawGet(srv.base, `/trpc/${query!.path}?${qs}`, { cookie }), HANG_MS, qs)
        // A well-formed input can be valid (200); anything else is a client error.
        expect(res.status, `${qs} → ${res.text.slice(0, 300)}`).toBeLessThan(500)
        expectNoLeak(res, qs)
      }),
      { numRuns: RUNS },
    )
    const notJson = await rawGet(srv.base, `/trpc/${query!.path}?input=${encodeURIComponent('{not json')}`, { cookie })
    expect(notJson.status, notJson.text).toBeGreaterThanOrEqual(400)
    expect(notJson.status, notJson.text).toBeLessThan(500)
    await expectServerPrototypeUntouched('garbage query strings')
  }, 120_000)

  it.concurrent(`answers ${RUNS} random batches of procedure paths (over the batch limit too) with < 500`, async () => {
    const cookie = cookies.get('operator')!
    // auth.* are left out: a batched auth.logout would end the session the concurrent tests share.
    const paths = fc.array(fc.oneof(fc.constantFrom(...procedures.filter((p) => !isSessionProcedure(p)).map((p) => p.path)), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 15 })
    await fc.assert(
      fc.asyncProperty(paths, fc.dictionary(fc.string({ maxLength: 3 }), fieldValue, { maxKeys: 4 }), async (batch, inputs) => {
        requests++
        const path = batch.map(encodeURIComponent).join(',')
        const res = await withinMs(rawGet(srv.base, `/trpc/${path}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`, { cookie }), HANG_MS, path)
        expect(res.status, `${path} → ${res.text.slice(0, 300)}`).toBeLessThan(500)
        expectNoLeak(res, path)
      }),
      { numRuns: RUNS },
    )
    await expectServerPrototypeUntouched('random batches')
  }, 120_000)

  // Session procedures, one at a time, each run with its own fresh session.
  it.each(procedures.filter(isSessionProcedure).map((p) => [title(p), p] as const))('%s', async (_name, p) => {
    await fuzzProcedure(p)
  }, 240_000)

  it('keeps the server process healthy: prototype untouched, memory growth after GC < 16 MiB live and < 80 MiB outside the heap, every request answered', async () => {
    const elapsedS = (performance.now() - startedAt) / 1000
    const testCpuS = (process.cpuUsage().user + process.cpuUsage().system - testCpuAtStartUs) / 1e6
    const end = await settledMemory()
    expect(end.prototypeKeys).toEqual([])
    expect(end.probeValues).toBe('[null,null,null]')
    const growth = memoryGrowth(baseline, end)
    console.log(
      `[fuzz] node ${process.version}: ${requests} requests in ${elapsedS.toFixed(1)} s (${(requests / elapsedS).toFixed(0)} runs/s); ` +
        `${transportRefusals} oversized requests cut at the socket; CPU: server ${((end.cpuMs - baseline.cpuMs) / 1000).toFixed(1)} s, ` +
        `this process ${testCpuS.toFixed(1)} s\n[fuzz] server memory after GC, MiB: before ${memoryParts(baseline)}\n[fuzz]   after ${memoryParts(end)}\n` +
        `[fuzz]   growth: live (heap used + external) ${mib(growth.liveBytes)} (limit ${mib(LIVE_GROWTH_LIMIT_BYTES)}), ` +
        `outside V8's heap ${mib(growth.outsideHeapBytes)} (limit ${mib(OUTSIDE_HEAP_GROWTH_LIMIT_BYTES)}), rss ${mib(growth.rssBytes)} (not bounded)`,
    )
    expect(requests).toBeGreaterThanOrEqual(procedures.length * RUNS)
    expect.soft(growth.liveBytes, `live memory (heap used + external) grew by ${mib(growth.liveBytes)} MiB`).toBeLessThan(LIVE_GROWTH_LIMIT_BYTES)
    expect.soft(growth.outsideHeapBytes, `resident memory outside V8's heap grew by ${mib(growth.outsideHeapBytes)} MiB`).toBeLessThan(OUTSIDE_HEAP_GROWTH_LIMIT_BYTES)
    const health = await fetch(`${srv.base}/healthz`)
    expect(health.status).toBe(200)
  })
})
