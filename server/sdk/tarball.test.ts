/**
 * Acceptance of the `fusebox-sdk` tarball as a new user meets it (issue #12): `packSdk` (what `npm run pack` runs),
 * then, in a temp folder outside the repo, fresh projects that install the tarball and its dependencies and peers
 * from the registry (concurrently, one npm cache, `--prefer-offline`):
 * 1. a CommonJS Express 4 service (`require('fusebox-sdk')`),
 * 2. an ES module Fastify 5 service,
 * 3. a TypeScript project type-checked by `tsc` without `skipLibCheck` on NodeNext, Node16 and Bundler resolution.
 * The services run as real processes against the test redis-server, serve requests, close, and the test reads their
 * request series, totals, service set and breaker report back from Redis (shared/keys.ts layout).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import { decodePacked } from '../../shared/seriesCodec'
import { testRedisUrl } from '../testing/redis'
import { packSdk } from './build.mjs'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
/** Packed-series header offsets (shared/seriesCodec.ts wire form). */
const COUNT = 1
const N5XX = 8

/** The child's environment without the npm_* variables `npm test` sets, so the repo's npm config cannot leak in. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))

let work: string
let packed: Awaited<ReturnType<typeof packSdk>>
const installs: Record<string, Promise<void>> = {}
const timings: Record<string, number> = {}

/** Writes `files` into `<work>/<name>` and starts `npm install` there (awaited by the test that uses the project). */
function project(name: string, dependencies: Record<string, string>, files: Record<string, string>, type: 'module' | 'commonjs'): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type, dependencies }, null, 2))
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  const started = Date.now()
  installs[name] = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], {
    cwd: dir,
    env: childEnv,
    timeout: 120_000,
  }).then(() => {
    timings[name] = Date.now() - started
  })
  installs[name].catch(() => {}) // awaited (and reported) by its test
  return dir
}

beforeAll(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'fusebox-sdk-accept-')))
  if (!relative(ROOT, work).startsWith('..')) throw new Error(`temp folder ${work} is inside the repo`)
  packed = await packSdk({ destination: work })
  const sdk = `file:${packed.tarball}`
  project('cjs-express', { 'fusebox-sdk': sdk, express: '^4.21.0' }, { 'server.js': EXPRESS_SERVICE }, 'commonjs')
  project('esm-fastify', { 'fusebox-sdk': sdk, fastify: '^5.0.0' }, { 'server.js': FASTIFY_SERVICE }, 'module')
  project(
    'ts-nodenext',
    { 'fusebox-sdk': sdk, typescript: rootPkg.devDependencies.typescript!, '@types/node': rootPkg.devDependencies['@types/node']! },
    {
      'ok.mts': TS_ESM,
      'ok.cts': TS_CJS,
      // bad.mts rides along in the NodeNext program (one tsc less): its error must be the only one.
      'tsconfig.nodenext.json': tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext' }, ['ok.mts', 'ok.cts', 'bad.mts']),
      'tsconfig.node16.json': tsconfig({ module: 'Node16', moduleResolution: 'Node16' }, ['ok.mts', 'ok.cts']),
      'tsconfig.bundler.json': tsconfig({ module: 'ESNext', moduleResolution: 'Bundler' }, ['ok.mts']),
      'bad.mts': `import { createCollector } from 'fusebox-sdk'\ncreateCollector({ redis: 42, service: 'typed' })\n`,
    },
    'module',
  )
}, 60_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  console.info(`fusebox-sdk acceptance: ${packed?.files.length} files, ${packed?.sizeBytes} bytes packed; npm install ms ${JSON.stringify(timings)}`)
})

describe('fusebox-sdk installed from its tarball into fresh projects outside the repo', () => {
  it('brings at most 6 packages of its own besides its peers ioredis and opossum', async () => {
    await installs['cjs-express']
    const lock = JSON.parse(readFileSync(join(work, 'cjs-express', 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> }>
    }
    // The SDK's own closure: fusebox-sdk and what its `dependencies` (not its peers) pull in, as npm resolved them.
    const own = new Set<string>()
    const visit = (path: string): void => {
      if (own.has(path)) return
      own.add(path)
      for (const dep of Object.keys(lock.packages[path]?.dependencies ?? {})) {
        const nested = `${path}/node_modules/${dep}`
        visit(lock.packages[nested] ? nested : `node_modules/${dep}`)
      }
    }
    visit('node_modules/fusebox-sdk')
    expect([...own].every((p) => lock.packages[p] !== undefined)).toBe(true)
    expect(own.size).toBeLessThanOrEqual(6)
    expect(lock.packages['node_modules/ioredis']).toBeDefined()
    expect(lock.packages['node_modules/opossum']).toBeDefined()
    expect(Object.keys(lock.packages['node_modules/fusebox-sdk']?.peerDependencies ?? {}).sort()).toEqual(['ioredis', 'opossum'])
    // Nothing of the dashboard came along (express is this project's own dependency).
    for (const name of ['react', 'tsx', 'recharts', '@trpc/server', 'prom-client', 'autocannon']) expect(lock.packages[`node_modules/${name}`], name).toBeUndefined()
    console.info(`fusebox-sdk's own packages: ${[...own].map((p) => p.replace(/^.*node_modules\//, '')).join(', ')}`)
  }, 120_000)

  it("runs a CommonJS Express 4 service through require('fusebox-sdk'), and Redis holds what it served", async () => {
    await installs['cjs-express']
    await serveAndCheck('cjs-express', [
      ['/items/1', 200],
      ['/items/2', 200],
      ['/items/3', 200],
      ['/double/21', 200],
      ['/double/4', 200],
      ['/fail', 503],
    ], { 'GET /items/:id': [3, 0], 'GET /double/:n': [2, 0], 'GET /fail': [1, 1] })
  }, 120_000)

  it('runs an ES module Fastify 5 service through its plugin, and Redis holds what it served', async () => {
    await installs['esm-fastify']
    await serveAndCheck('esm-fastify', [
      ['/items/7', 200],
      ['/items/8', 200],
      ['/double/5', 200],
      ['/fail', 503],
      ['/fail', 503],
    ], { 'GET /items/:id': [2, 0], 'GET /double/:n': [1, 0], 'GET /fail': [2, 2] })
  }, 120_000)

  it('type-checks from TypeScript without skipLibCheck on NodeNext, Node16 and Bundler resolution, and rejects a wrong option', async () => {
    await installs['ts-nodenext']
    const dir = join(work, 'ts-nodenext')
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
    const check = (config: string): Promise<string> =>
      run(process.execPath, [tsc, '-p', config], { cwd: dir, timeout: 60_000 }).then(
        () => `${config}: ok`,
        (e: { stdout?: string }) => `${config}:\n${e.stdout ?? String(e)}`,
      )
    const [nodenext, node16, bundler] = await Promise.all(['tsconfig.nodenext.json', 'tsconfig.node16.json', 'tsconfig.bundler.json'].map(check))
    expect([node16, bundler]).toEqual(['tsconfig.node16.json: ok', 'tsconfig.bundler.json: ok'])
    // Every error is in bad.mts (the number given as `redis`), none in the SDK's declarations or the good files.
    const errors = [...(nodenext ?? '').matchAll(/^(\S+)\(\d+,\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`)
    expect(errors.length, nodenext).toBeGreaterThan(0)
    expect(new Set(errors), nodenext).toEqual(new Set(['bad.mts TS2322']))
  }, 120_000)
})

/**
 * Starts `<project>/server.js` against the test Redis under a fresh prefix, makes `requests` (path, expected status),
 * stops it with SIGTERM (the service closes its collector) and compares Redis with `expected`:
 * series field → [count, 5xx count], summed over every 10 s bucket, plus the service total and the breaker report.
 */
async function serveAndCheck(name: string, requests: [string, number][], expected: Record<string, [number, number]>): Promise<void> {
  const prefix = `acc${Date.now().toString(36)}${name.slice(0, 3)}`
  const child = spawn(process.execPath, ['server.js', testRedisUrl(), prefix], { cwd: join(work, name), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  try {
    const first = await Promise.race([lines.next(), exited.then(() => null)])
    if (!first || first.done) throw new Error(`${name} exited before listening: ${stderr}`)
    const { port, entry } = JSON.parse(first.value) as { port: number; entry: string }
    // The CommonJS service loads the CommonJS build, not the ES module through require(esm).
    expect(entry).toMatch(name === 'cjs-express' ? /node_modules\/fusebox-sdk\/dist\/index\.cjs$/ : /node_modules\/fusebox-sdk\/dist\/index\.js$/)
    for (const [path, status] of requests) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`)
      await res.arrayBuffer()
      expect(`${path} ${res.status}`).toBe(`${path} ${status}`)
    }
    const doubled = (await (await fetch(`http://127.0.0.1:${port}/double/50`)).json()) as { doubled: number }
    expect(doubled.doubled).toBe(100)
    expected = { ...expected, 'GET /double/:n': [(expected['GET /double/:n']?.[0] ?? 0) + 1, 0] }
    child.kill('SIGTERM')
    const last = await lines.next()
    expect(await exited, stderr).toBe(0)
    const { stats } = JSON.parse(last.done ? '{}' : last.value) as { stats?: { flushes: number; flushErrors: number } }
    expect(stats?.flushes).toBeGreaterThan(0)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }

  const keys = createKeySpace(prefix)
  const redis = new Redis(testRedisUrl())
  try {
    const seen: Record<string, [number, number]> = {}
    let total = 0
    for (const key of await redis.keys(keys.requestBucket(name, '10s', 0).replace(/0$/, '*'))) {
      for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) {
        const series = parseSeriesField(field)
        if (!series) continue
        const packedSeries = decodePacked(value)
        const id = `${series.method} ${series.route}`
        const [count, errors] = seen[id] ?? [0, 0]
        seen[id] = [count + packedSeries[COUNT]!, errors + packedSeries[N5XX]!]
      }
    }
    for (const key of await redis.keys(keys.requestTotals(name, '10s', 0).replace(/0$/, '*'))) {
      for (const value of Object.values(await redis.hgetallBuffer(key))) if (value.length > 0) total += decodePacked(value)[COUNT]!
    }
    expect(seen).toEqual(expected)
    expect(total).toBe(Object.values(expected).reduce((sum, [count]) => sum + count, 0))
    expect(await redis.sismember(keys.services(), name)).toBe(1)
    expect(await redis.exists(keys.breakerState(name, 'upstream'))).toBe(1)
  } finally {
    redis.disconnect()
  }
}

function tsconfig(resolution: Record<string, string>, files: string[]): string {
  return JSON.stringify({ compilerOptions: { ...resolution, target: 'ES2022', strict: true, noEmit: true, types: ['node'], skipLibCheck: false }, files })
}

/** What a CommonJS Express 4 user writes: require, the middleware, a breaker, close on SIGTERM. */
const EXPRESS_SERVICE = `'use strict'
const express = require('express')
const { createCollector } = require('fusebox-sdk')
const [redis, prefix] = process.argv.slice(2)
const collector = createCollector({ redis, prefix, service: 'cjs-express', instance: 'e1', flushIntervalMs: 200 })
const upstream = collector.breaker('upstream', async (n) => n * 2, { timeout: 1000 })
const app = express()
app.use(collector.httpMiddleware())
app.get('/items/:id', (req, res) => res.json({ id: req.params.id }))
app.get('/double/:n', async (req, res) => res.json({ doubled: await upstream.fire(Number(req.params.n)) }))
app.get('/fail', (req, res) => res.status(503).json({ error: 'unavailable' }))
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, entry: require.resolve('fusebox-sdk') })))
process.on('SIGTERM', () => {
  server.close()
  collector.close().then(() => console.log(JSON.stringify({ stats: collector.stats })))
})
`

/** What an ES module Fastify 5 user writes: import, the plugin, a breaker, close on SIGTERM. */
const FASTIFY_SERVICE = `import Fastify from 'fastify'
import { createCollector } from 'fusebox-sdk'
const [redis, prefix] = process.argv.slice(2)
const collector = createCollector({ redis, prefix, service: 'esm-fastify', instance: 'f1', flushIntervalMs: 200 })
const upstream = collector.breaker('upstream', async (n) => n * 2, { timeout: 1000 })
const app = Fastify()
await app.register(collector.fastifyPlugin())
app.get('/items/:id', async (request) => ({ id: request.params.id }))
app.get('/double/:n', async (request) => ({ doubled: await upstream.fire(Number(request.params.n)) }))
app.get('/fail', async (request, reply) => reply.code(503).send({ error: 'unavailable' }))
await app.listen({ port: 0, host: '127.0.0.1' })
console.log(JSON.stringify({ port: app.server.address().port, entry: import.meta.resolve('fusebox-sdk') }))
process.on('SIGTERM', async () => {
  await app.close()
  await collector.close()
  console.log(JSON.stringify({ stats: collector.stats }))
})
`

/** A strict TypeScript ES module user: the options, a typed breaker and opossum's (inlined) types, no @types/opossum. */
const TS_ESM = `import { createCollector, type Collector, type CollectorOptions, type FuseboxBreaker } from 'fusebox-sdk'
const options: CollectorOptions = { redis: 'redis://127.0.0.1:6379', service: 'typed', flushIntervalMs: 1000 }
const c: Collector = createCollector(options)
c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
const b: FuseboxBreaker<[number], number> = c.breaker('upstream', async (x: number) => x * 2, { timeout: 100, resetTimeout: 1000 })
const doubled: Promise<number> = b.fire(21)
const opened: boolean = b.opossum.opened
void doubled
void opened
export {}
`

/** The same from a CommonJS TypeScript module (resolves the \`require\` entry and its .d.cts). */
const TS_CJS = `import sdk = require('fusebox-sdk')
const c: sdk.Collector = sdk.createCollector({ redis: 'redis://127.0.0.1:6379', service: 'typed-cjs' })
const stats: sdk.CollectorStats = c.stats
void stats
export {}
`
