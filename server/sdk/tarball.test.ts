/**
 * Acceptance of the `fusebox-sdk` tarball as a new user meets it (issue #12): `packSdk` and `packDashboard` (what
 * `npm run pack` runs), then, in a temp folder outside the repo, fresh projects that install the tarballs and their
 * dependencies and peers from the registry (concurrently, one npm cache, `--prefer-offline`):
 * 1. a CommonJS Express 4 service (`require('fusebox-sdk')`),
 * 2. an ES module Fastify 5 service,
 * 3. a TypeScript project type-checked by `tsc` without `skipLibCheck` on NodeNext, Node16 and Bundler resolution,
 *    whose NodeNext build is also a node:http service,
 * 4. a CommonJS Koa 3 + @koa/router service traced with the OpenTelemetry JS SDK 2.x (sdk-trace-node,
 *    instrumentation-http, instrumentation-koa, loaded with `node --require ./instrumentation.js`), whose only
 *    Fusebox input is `collector.otelSpanProcessor()`,
 * 5. an ES module Hono 4 service on @hono/node-server with the README's few-line middleware (`routePath(c, -1)`),
 * 6. `fusebox-dashboard` in a project of its own, run as `npx fusebox --redis … --prefix …`.
 * The services run as real processes against the test redis-server under one prefix, serve a known set of requests,
 * close, and the test reads their request series, totals, service set and breaker report back from Redis
 * (shared/keys.ts layout); then the dashboard process lists all five through its HTTP API (`overview.get`,
 * `endpoints.list`: the exact request and error counts per service and route) and in Chromium (viewer sign-in with a
 * `#token=` link, every service's name and throughput on the Overview).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { chromium } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../../playwright.config'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import type { OverviewSnapshot } from '../../shared/schemas'
import { decodePacked } from '../../shared/seriesCodec'
import { packDashboard } from '../app/build.mjs'
import { ENV_VARIABLES } from '../app/env'
import type { EndpointRow } from '../app/reads/series'
import { listening } from '../testing/processes'
import { testRedisUrl } from '../testing/redis'
import { packSdk } from './build.mjs'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
/** Packed-series header offsets (shared/seriesCodec.ts wire form). */
const COUNT = 1
const N5XX = 8
/** The services, in the order their tests run; the dashboard test expects exactly these. */
const SERVICES = ['cjs-express', 'esm-fastify', 'ts-nodenext', 'koa-otel', 'esm-hono'] as const
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef'
const OPERATOR_TOKEN = 'operator-token-0123456789abcdef'

/**
 * The child's environment without the npm_* variables `npm test` sets, so the repo's npm config cannot leak in, nor
 * any Fusebox setting of this shell (the dashboard takes its configuration from flags here).
 */
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !(ENV_VARIABLES as string[]).includes(k)),
)

let work: string
/** One Redis key prefix for every service of the file and the dashboard that shows them. */
let prefix: string
let packed: Awaited<ReturnType<typeof packSdk>>
const installs: Record<string, Promise<void>> = {}
/** The dashboard tarball packed and installed in `<work>/ops`. */
let dashboardInstalled: Promise<void>
const timings: Record<string, number> = {}
/** What each service test sent and Redis confirmed: `METHOD route` → [requests, 5xx], and the totals. */
const served: Record<string, { routes: Record<string, [number, number]>; requests: number; errors: number }> = {}

/**
 * Writes `files` into `<work>/<name>` and starts `npm install` there: `installs[name]`, also returned (awaited by the
 * test that uses the project, which reports its failure).
 */
function project(name: string, dependencies: Record<string, string>, files: Record<string, string>, type: 'module' | 'commonjs'): Promise<void> {
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
  return installs[name]
}

beforeAll(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'fusebox-sdk-accept-')))
  if (!relative(ROOT, work).startsWith('..')) throw new Error(`temp folder ${work} is inside the repo`)
  prefix = `acc${Date.now().toString(36)}`
  const packStarted = Date.now()
  // The dashboard's pack (a vite build, ≈ 8 s) runs alongside the SDK's and the service installs.
  const dashboardPacked = packDashboard({ destination: work }).then((d) => {
    timings['pack-dashboard'] = Date.now() - packStarted
    return d
  })
  dashboardInstalled = dashboardPacked.then((d) => project('ops', { 'fusebox-dashboard': `file:${d.tarball}` }, {}, 'commonjs'))
  dashboardInstalled.catch(() => {}) // awaited (and reported) by the dashboard test
  packed = await packSdk({ destination: work })
  timings['pack-sdk'] = Date.now() - packStarted
  const sdk = `file:${packed.tarball}`
  project('cjs-express', { 'fusebox-sdk': sdk, express: '^4.21.0' }, { 'server.js': EXPRESS_SERVICE }, 'commonjs')
  project('esm-fastify', { 'fusebox-sdk': sdk, fastify: '^5.0.0' }, { 'server.js': FASTIFY_SERVICE }, 'module')
  project(
    'ts-nodenext',
    { 'fusebox-sdk': sdk, typescript: rootPkg.devDependencies.typescript!, '@types/node': rootPkg.devDependencies['@types/node']! },
    {
      'ok.mts': TS_ESM,
      'ok.cts': TS_CJS,
      'service.mts': TS_SERVICE,
      // bad.mts rides along in the NodeNext program (one tsc less): its error must be the only one. The program
      // emits (to out/, errors or not), so the service runs from its own NodeNext build.
      'tsconfig.nodenext.json': tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext' }, ['ok.mts', 'ok.cts', 'service.mts', 'bad.mts'], 'out'),
      'tsconfig.node16.json': tsconfig({ module: 'Node16', moduleResolution: 'Node16' }, ['ok.mts', 'ok.cts']),
      'tsconfig.bundler.json': tsconfig({ module: 'ESNext', moduleResolution: 'Bundler' }, ['ok.mts']),
      'bad.mts': `import { createCollector } from 'fusebox-sdk'\ncreateCollector({ redis: 42, service: 'typed' })\n`,
    },
    'module',
  )
  // The OpenTelemetry JS SDK 2.x line: sdk-trace-node 2.x wants @opentelemetry/api < 1.10, and the 0.2xx
  // instrumentations are its companions (0.3xx belong to SDK 3.x).
  project(
    'koa-otel',
    {
      'fusebox-sdk': sdk,
      koa: '^3.0.0',
      '@koa/router': '^15.0.0',
      '@opentelemetry/api': '~1.9.0',
      '@opentelemetry/sdk-trace-node': '^2.0.0',
      '@opentelemetry/instrumentation': '^0.223.0',
      '@opentelemetry/instrumentation-http': '^0.223.0',
      '@opentelemetry/instrumentation-koa': '^0.71.0',
    },
    { 'instrumentation.js': KOA_INSTRUMENTATION, 'server.js': KOA_SERVICE },
    'commonjs',
  )
  project('esm-hono', { 'fusebox-sdk': sdk, hono: '^4.8.0', '@hono/node-server': '^2.0.0' }, { 'server.js': HONO_SERVICE }, 'module')
}, 60_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  console.info(`fusebox-sdk acceptance: ${packed?.files.length} files, ${packed?.sizeBytes} bytes packed; pack and npm install ms ${JSON.stringify(timings)}`)
})

/** `tsc -p <config>` in the TypeScript project, memoised per config: "<config>: ok" or the config and tsc's output. */
const tscRuns = new Map<string, Promise<string>>()
function tsc(config: string): Promise<string> {
  let done = tscRuns.get(config)
  if (!done) {
    const dir = join(work, 'ts-nodenext')
    done = installs['ts-nodenext']!.then(() =>
      run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: dir, timeout: 150_000 }).then(
        () => `${config}: ok`,
        (e: { stdout?: string }) => `${config}:\n${e.stdout ?? String(e)}`,
      ),
    )
    tscRuns.set(config, done)
  }
  return done
}

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
    const [nodenext, node16, bundler] = await Promise.all(['tsconfig.nodenext.json', 'tsconfig.node16.json', 'tsconfig.bundler.json'].map(tsc))
    expect([node16, bundler]).toEqual(['tsconfig.node16.json: ok', 'tsconfig.bundler.json: ok'])
    // Every error is in bad.mts (the number given as `redis`), none in the SDK's declarations or the good files.
    const errors = [...(nodenext ?? '').matchAll(/^(\S+)\(\d+,\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`)
    expect(errors.length, nodenext).toBeGreaterThan(0)
    expect(new Set(errors), nodenext).toEqual(new Set(['bad.mts TS2322']))
  }, 180_000) // three tsc programs over @types/node without skipLibCheck: ≈ 35 s on 2 idle cores, far more on busy ones

  it('runs the TypeScript node:http service from its NodeNext build, and Redis holds what it served', async () => {
    await tsc('tsconfig.nodenext.json') // the build the type-check test made (or makes now, when run alone)
    await serveAndCheck(
      'ts-nodenext',
      [
        ['/items/4', 200],
        ['/double/8', 200],
        ['/double/9', 200],
        ['/double/10', 200],
        ['/fail', 503],
      ],
      { 'GET /items/:id': [1, 0], 'GET /double/:n': [3, 0], 'GET /fail': [1, 1] },
      { args: ['out/service.mjs'] },
    )
  }, 120_000)

  it('runs a Koa service traced with OpenTelemetry whose only Fusebox input is the span processor: route templates from @koa/router', async () => {
    await installs['koa-otel']
    await serveAndCheck(
      'koa-otel',
      [
        ['/items/5', 200],
        ['/items/6', 200],
        ['/double/3', 200],
        ['/fail', 503],
        ['/no/such/route', 404], // no route matched: no http.route on the span, so `(unmatched)`, never the raw path
      ],
      { 'GET /items/:id': [2, 0], 'GET /double/:n': [1, 0], 'GET /fail': [1, 1], 'GET (unmatched)': [1, 0] },
      { args: ['--require', './instrumentation.js', 'server.js'] },
    )
  }, 120_000)

  it('runs an ES module Hono service through a few-line middleware: templates of sub-apps, (unmatched), thrown errors', async () => {
    await installs['esm-hono']
    await serveAndCheck(
      'esm-hono',
      [
        ['/items/1', 200],
        ['/api/users/7/orders/8', 200],
        ['/api/users/9/orders/10', 200],
        ['/fail', 503],
        ['/boom', 500], // the handler throws: Hono answers 500 and sets c.error
        ['/no/such/route', 404],
      ],
      { 'GET /items/:id': [1, 0], 'GET /api/users/:userId/orders/:orderId': [2, 0], 'GET /fail': [1, 1], 'GET /boom': [1, 1], 'GET (unmatched)': [1, 0] },
    )
  }, 120_000)

  it('npx fusebox from the dashboard tarball lists every service: exact counts per service and route through its API, names in Chromium', async () => {
    await dashboardInstalled
    expect(Object.keys(served), 'every service test ran first').toEqual([...SERVICES])
    const child = spawn(
      'npx',
      ['--no', '--', 'fusebox', '--redis', testRedisUrl(), '--prefix', prefix, '--port', '0', '--viewer-tokens', `team:${VIEWER_TOKEN}`, '--operator-tokens', `alice:${OPERATOR_TOKEN}`],
      { cwd: join(work, 'ops'), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true }, // own process group: npx and its node stop together
    )
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
    try {
      const started = Date.now()
      const base = await listening(child, exited, () => stderr)
      timings['dashboard-listening'] = Date.now() - started
      const login = await fetch(`${base}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-fusebox-csrf': '1' },
        body: JSON.stringify({ token: VIEWER_TOKEN }),
      })
      expect(login.status, await login.clone().text()).toBe(200)
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
      const query = async <T>(path: string, input: unknown): Promise<T> => {
        const res = await fetch(`${base}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { cookie } })
        const text = await res.text()
        expect(res.status, `${path}: ${text}`).toBe(200)
        return (JSON.parse(text) as { result: { data: T } }).result.data
      }

      // 15 minutes (the 10 s tier) covers every request of the file; counts are exact (docs/METRICS.md).
      const overview = await query<OverviewSnapshot>('overview.get', { windowMs: 15 * 60_000 })
      expect(overview.services.map((s) => s.service).sort()).toEqual([...SERVICES].sort())
      for (const s of overview.services) {
        expect({ service: s.service, requests: s.requests, errors: s.errors }).toEqual({ service: s.service, requests: served[s.service]!.requests, errors: served[s.service]!.errors })
        expect(s.throughputRps, s.service).toBeGreaterThan(0)
        expect(s.errorRate, s.service).toBeCloseTo(served[s.service]!.errors / served[s.service]!.requests, 10)
      }
      for (const service of SERVICES) {
        const table = await query<{ total: number; rows: EndpointRow[] }>('endpoints.list', { service, windowMs: 15 * 60_000 })
        const rows = Object.fromEntries(table.rows.map((r) => [`${r.method} ${r.route}`, [r.requests, r.errors]]))
        expect({ service, rows }).toEqual({ service, rows: served[service]!.routes })
      }

      // Once in Chromium: a viewer's `#token=` link signs in; the Service picker offers every service and the Overview
      // shows each one's section with a throughput figure.
      const chromiumStarted = Date.now()
      const page = await (await browser.newContext()).newPage()
      await page.goto(`${base}/#token=${VIEWER_TOKEN}`)
      await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: 30_000 })
      const picker = page.getByLabel('Service')
      await page.waitForFunction(
        (names) => names.every((n) => [...document.querySelectorAll('option')].some((o) => o.value === n)),
        [...SERVICES],
        { timeout: 20_000 },
      )
      for (const service of SERVICES) {
        await picker.selectOption(service)
        const section = page.getByTestId(`service-${service}`)
        await section.getByRole('heading', { name: new RegExp(`^${service}\\b`) }).waitFor({ timeout: 20_000 })
        const throughput = section.getByTestId(`throughput-${service}`)
        await page.waitForFunction((el) => Number(el?.textContent?.replace(/,/g, '')) > 0, await throughput.elementHandle(), { timeout: 20_000 })
      }
      timings.chromium = Date.now() - chromiumStarted
    } finally {
      await browser.close()
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGTERM')
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      }
    }
  }, 120_000)
})


/**
 * Starts the service (`node <args> <redis url> <prefix>`, default args `server.js`) in `<work>/<name>` against the
 * test Redis under the file's prefix, makes `requests` (path, expected status), stops it with SIGTERM (the service
 * closes its collector) and compares Redis with `expected`: series field → [count, 5xx count], summed over every
 * 10 s bucket, plus the service total and the breaker report. Records what it confirmed in `served[name]`.
 */
async function serveAndCheck(
  name: string,
  requests: [string, number][],
  expected: Record<string, [number, number]>,
  { args = ['server.js'] }: { args?: string[] } = {},
): Promise<void> {
  const child = spawn(process.execPath, [...args, testRedisUrl(), prefix], { cwd: join(work, name), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  try {
    const first = await Promise.race([lines.next(), exited.then(() => null)])
    if (!first || first.done) throw new Error(`${name} exited before listening: ${stderr}`)
    const { port, entry } = JSON.parse(first.value) as { port: number; entry: string }
    // A CommonJS service loads the CommonJS build, not the ES module through require(esm).
    expect(entry).toMatch(args.includes('--require') || name === 'cjs-express' ? /node_modules\/fusebox-sdk\/dist\/index\.cjs$/ : /node_modules\/fusebox-sdk\/dist\/index\.js$/)
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
    served[name] = { routes: expected, requests: total, errors: Object.values(expected).reduce((sum, [, errors]) => sum + errors, 0) }
  } finally {
    redis.disconnect()
  }
}

/** A strict tsconfig without skipLibCheck: type-check only, or emit to `outDir` (also when there are errors). */
function tsconfig(resolution: Record<string, string>, files: string[], outDir?: string): string {
  const emit = outDir === undefined ? { noEmit: true } : { outDir }
  return JSON.stringify({ compilerOptions: { ...resolution, target: 'ES2022', strict: true, ...emit, types: ['node'], skipLibCheck: false }, files })
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

/**
 * A strict TypeScript node:http service (compiled by the NodeNext program): the middleware with its own route
 * templates, a typed breaker, close on SIGTERM.
 */
const TS_SERVICE = `import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createCollector } from 'fusebox-sdk'

const [redis = '', prefix] = process.argv.slice(2)
const collector = createCollector({ redis, prefix, service: 'ts-nodenext', instance: 't1', flushIntervalMs: 200 })
const upstream = collector.breaker('upstream', async (n: number) => n * 2, { timeout: 1000 })
const TEMPLATES: Record<string, string> = { items: '/items/:id', double: '/double/:n', fail: '/fail' }
const track = collector.httpMiddleware({ routeTemplate: (req) => TEMPLATES[(req.url ?? '/').split('/')[1] ?? ''] })

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [, first, param] = (req.url ?? '/').split('/')
  if (first === 'items') return send(res, 200, { id: param })
  if (first === 'double') return send(res, 200, { doubled: await upstream.fire(Number(param)) })
  send(res, first === 'fail' ? 503 : 404, { error: 'unavailable' })
}
const server = createServer((req, res) => {
  track(req, res)
  handle(req, res).catch(() => send(res, 500, { error: 'internal' }))
})
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port, entry: import.meta.resolve('fusebox-sdk') }))
})
process.on('SIGTERM', () => {
  server.close()
  void collector.close().then(() => console.log(JSON.stringify({ stats: collector.stats })))
})
`

/**
 * The documented OpenTelemetry setup of a CommonJS service (`node --require ./instrumentation.js server.js`): the
 * tracer provider registered before Koa is loaded, with Fusebox's span processor as its only processor, and the http
 * and Koa instrumentations (the http SERVER span takes `http.route` from @koa/router's matched layer).
 */
const KOA_INSTRUMENTATION = `'use strict'
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node')
const { registerInstrumentations } = require('@opentelemetry/instrumentation')
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http')
const { KoaInstrumentation } = require('@opentelemetry/instrumentation-koa')
const { createCollector } = require('fusebox-sdk')

const [redis, prefix] = process.argv.slice(2)
const collector = createCollector({ redis, prefix, service: 'koa-otel', instance: 'k1', flushIntervalMs: 200 })
new NodeTracerProvider({ spanProcessors: [collector.otelSpanProcessor()] }).register()
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new KoaInstrumentation()] })
module.exports = { collector }
`

/** A Koa 3 + @koa/router service with no Fusebox middleware: its requests reach Fusebox through the spans only. */
const KOA_SERVICE = `'use strict'
const Koa = require('koa')
const Router = require('@koa/router')
const { collector } = require('./instrumentation.js')

const upstream = collector.breaker('upstream', async (n) => n * 2, { timeout: 1000 })
const router = new Router()
router.get('/items/:id', (ctx) => { ctx.body = { id: ctx.params.id } })
router.get('/double/:n', async (ctx) => { ctx.body = { doubled: await upstream.fire(Number(ctx.params.n)) } })
router.get('/fail', (ctx) => { ctx.status = 503; ctx.body = { error: 'unavailable' } })
const app = new Koa()
app.use(router.routes()).use(router.allowedMethods())
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, entry: require.resolve('fusebox-sdk') })))
process.on('SIGTERM', () => {
  server.close()
  collector.close().then(() => console.log(JSON.stringify({ stats: collector.stats })))
})
`

/**
 * The README's Hono recipe (@hono/node-server, a middleware that records each request with the answering route's
 * template from `routePath(c, -1)`), plus a sub-app, a breaker, a throwing route and close on SIGTERM.
 */
const HONO_SERVICE = `import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { routePath } from 'hono/route'
import { createCollector } from 'fusebox-sdk'

const [redis, prefix] = process.argv.slice(2)
const collector = createCollector({ redis, prefix, service: 'esm-hono', instance: 'h1', flushIntervalMs: 200 })
const upstream = collector.breaker('upstream', async (n) => n * 2, { timeout: 1000 })
const app = new Hono()
app.use(async (c, next) => {
  const started = performance.now()
  await next()
  const route = routePath(c, -1)
  collector.recordRequest({ method: c.req.method, route: route === '/*' ? '' : route, status: c.res.status,
    durationMs: performance.now() - started, error: c.error !== undefined })
})
app.get('/items/:id', (c) => c.json({ id: c.req.param('id') }))
app.get('/double/:n', async (c) => c.json({ doubled: await upstream.fire(Number(c.req.param('n'))) }))
app.get('/fail', (c) => c.json({ error: 'unavailable' }, 503))
app.get('/boom', () => { throw new Error('boom') })
const api = new Hono()
api.get('/users/:userId/orders/:orderId', (c) => c.json(c.req.param()))
app.route('/api', api)
app.onError((e, c) => c.json({ error: 'internal' }, 500))
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ port: info.port, entry: import.meta.resolve('fusebox-sdk') }))
})
process.on('SIGTERM', () => server.close(() => collector.close().then(() => console.log(JSON.stringify({ stats: collector.stats })))))
`
