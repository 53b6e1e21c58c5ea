/**
 * Acceptance of the `fusebox-dashboard` tarball as a new user meets it (issue #12, docs/decisions/023): `packDashboard`
 * (what `npm run pack` runs), then a fresh project in the OS temp folder outside the repo installs the tarball and its
 * dependencies from the registry (`--prefer-offline`), and `npx fusebox --redis …` runs as a real process against the
 * test redis-server: /healthz, an operator login over HTTP, `overview.get` showing a service a collector wrote, the
 * PWA's index.html and a hashed asset; `--help`, `--version`, a bad flag and a bad value. The mount API
 * (docs/decisions/025): publint and @arethetypeswrong/cli on the tarball, both entry points loadable as ESM and
 * CommonJS, and a CommonJS Express 4 app (express@4 from the registry; the dashboard's own express 5 nested) that
 * `require`s the package and mounts it under /ops/fusebox with its own sign-in standing in for Fusebox's — over HTTP,
 * then in a real Chromium signed in by the host's session cookie alone: installed and run offline there
 * (server/testing/pwaUnderBase.ts, the same check basePathBrowser.test.ts runs against the in-repo server).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OverviewSnapshot } from '../../shared/schemas'
import { createCollector } from '../sdk/index'
import { listening } from '../testing/processes'
import { checkPwaUnderBase, launchPersistentChromium, type PersistentChromium } from '../testing/pwaUnderBase'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { attwTarball, publintTarball } from '../sdk/build.mjs'
import { packDashboard } from './build.mjs'
import { ENV_VARIABLES } from './env'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
const OPERATOR_TOKEN = 'op-token-0123456789abcdef'
/** The child's environment without the npm_* variables `npm test` sets, nor any Fusebox setting of this shell. */
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !(ENV_VARIABLES as string[]).includes(k)),
)

let work: string
let app: string
let packed: Awaited<ReturnType<typeof packDashboard>>
let installMs = 0

beforeAll(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'fusebox-dashboard-accept-')))
  if (!relative(ROOT, work).startsWith('..')) throw new Error(`temp folder ${work} is inside the repo`)
  packed = await packDashboard({ destination: work })
  app = join(work, 'ops')
  mkdirSync(app)
  writeFileSync(
    join(app, 'package.json'),
    // express 4: the host app of the mount test (the dashboard's own express 5 installs nested under it).
    JSON.stringify({ name: 'ops', version: '1.0.0', private: true, dependencies: { 'fusebox-dashboard': `file:${packed.tarball}`, express: '^4.21.2' } }, null, 2),
  )
  const started = Date.now()
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: app, env: childEnv, timeout: 120_000 })
  installMs = Date.now() - started
}, 150_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
  console.info(`fusebox-dashboard acceptance: ${packed?.files.length} files, ${packed?.sizeBytes} bytes packed (${packed?.unpackedSizeBytes} unpacked); npm install ${installMs} ms`)
})

/** `npx fusebox …args` in the installed project, to completion (`--no`: never fetch a package called fusebox from the registry). */
function npxFusebox(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('npx', ['--no', '--', 'fusebox', ...args], { cwd: app, env: { ...childEnv, ...env }, timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  )
}

describe('fusebox-dashboard packed and installed from its tarball outside the repo', () => {
  it('ships the built PWA, one plain-JS server bundle, LICENSE, README and CHANGELOG — no sources, e2e, bench or docs', () => {
    expect(packed.name).toBe('fusebox-dashboard')
    expect(packed.tarball).toBe(join(work, `fusebox-dashboard-${rootPkg.version}.tgz`))
    const files = packed.files
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'THIRD-PARTY-NOTICES.md', 'dist/cli.js', 'public/index.html', 'public/sw.js', 'public/manifest.webmanifest']))
    // No sources: TypeScript files other than the bundled declarations, or source maps.
    expect(files.filter((f) => (/\.(m|c)?tsx?$/.test(f) && !/^dist\/(index|fastify)\.d\.c?ts$/.test(f)) || /\.map$/.test(f))).toEqual([])
    expect(files.filter((f) => /^(client|server|shared|e2e|bench|docs|packaging|node_modules)\//.test(f) || /(^|\/)\.env/.test(f))).toEqual([])
    expect(files.filter((f) => !/^(dist|public)\//.test(f)).sort()).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'THIRD-PARTY-NOTICES.md',
      'fastify/package.json',
      'package.json',
    ])
    expect(files.filter((f) => f.startsWith('dist/'))).toEqual(
      ['cli.js', 'fastify.cjs', 'fastify.d.cts', 'fastify.d.ts', 'fastify.js', 'index.cjs', 'index.d.cts', 'index.d.ts', 'index.js'].map((f) => `dist/${f}`),
    )
    expect(files.some((f) => /^public\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true)
  })

  it('installs with its runtime dependencies only: no tsx, TypeScript, vite or React, and a bundle that imports no tsx', () => {
    const installed = join(app, 'node_modules', 'fusebox-dashboard')
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> }
    expect(pkg.bin).toEqual({ fusebox: './dist/cli.js' })
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx')
    for (const name of ['tsx', 'typescript', 'vite', 'esbuild', 'react', 'recharts', 'vitest', 'fastify']) expect(existsSync(join(app, 'node_modules', name)), name).toBe(false)
    const bundle = readFileSync(join(installed, 'dist', 'cli.js'), 'utf8')
    expect(bundle.startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(bundle).not.toMatch(/from\s+["']tsx|import\(["']tsx|--import\s+tsx/)
    expect(existsSync(join(app, 'node_modules', '.bin', 'fusebox'))).toBe(true)
  })

  it('passes publint --strict', async () => {
    expect(await publintTarball(packed.tarball)).toMatch(/All good/)
  }, 30_000)

  it('passes @arethetypeswrong/cli for both entry points on node10, node16 (from CJS and from ESM) and bundler', async () => {
    const analysis = await attwTarball(packed.tarball)
    expect(analysis.problems).toEqual([])
    for (const entry of ['.', './fastify']) {
      expect(Object.keys(analysis.entrypoints[entry]?.resolutions ?? {}).sort(), entry).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm'])
    }
  }, 60_000)

  it('loads as ESM and as CommonJS; only the ./fastify declarations import Fastify, and nothing imports it at run time', async () => {
    const probe = (code: string, type: 'module' | 'commonjs') =>
      run(process.execPath, ['--input-type', type, '-e', code], { cwd: app, env: childEnv, timeout: 30_000 }).then((r) => r.stdout.trim())
    const kinds = '[typeof m.createDashboard, typeof m.fuseboxExpress, typeof f.fuseboxFastify].join()'
    expect(await probe(`const m = await import('fusebox-dashboard'); const f = await import('fusebox-dashboard/fastify'); console.log(${kinds})`, 'module')).toBe(
      'function,function,function',
    )
    expect(await probe(`const m = require('fusebox-dashboard'); const f = require('fusebox-dashboard/fastify'); console.log(${kinds})`, 'commonjs')).toBe(
      'function,function,function',
    )
    const installed = join(app, 'node_modules', 'fusebox-dashboard')
    const importsOf = (file: string) => [...readFileSync(join(installed, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1])
    expect(importsOf('dist/index.d.ts').filter((m) => m === 'fastify' || m === 'express')).toEqual([])
    expect(importsOf('dist/fastify.d.ts')).toContain('fastify')
    expect(readFileSync(join(installed, 'dist', 'index.cjs'), 'utf8')).not.toMatch(/require\(["']fastify["']\)/)
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { peerDependenciesMeta?: Record<string, { optional?: boolean }> }
    expect(pkg.peerDependenciesMeta?.fastify?.optional).toBe(true)
  }, 60_000)

  it('type-checks an Express host written in TypeScript (NodeNext, strict, no skipLibCheck) against the bundled declarations', async () => {
    const dir = join(app, 'ts-host')
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'host.ts'),
      `import { createServer, type IncomingMessage } from 'node:http'
import { createDashboard, fuseboxExpress, type HostUser } from 'fusebox-dashboard'

type HostRequest = IncomingMessage & { user?: { email: string; admin: boolean } }
const toUser = (req: HostRequest): HostUser | null => (req.user ? { role: req.user.admin ? 'operator' : 'viewer', name: req.user.email } : null)
const handler = fuseboxExpress({ redis: 'redis://127.0.0.1:6379', keyPrefix: 'shop', authenticate: async (req: HostRequest) => toUser(req) })
const dashboard = createDashboard({ redis: 'redis://127.0.0.1:6379', operatorTokens: [{ name: 'alice', token: 'x'.repeat(16) }], readOnly: true })
createServer(dashboard.app).close()
const closed: Promise<void> = handler.close()
// @ts-expect-error: a role the hook may not answer
fuseboxExpress({ redis: 'redis://x', authenticate: () => ({ role: 'admin', name: 'x' }) })
void closed
`,
    )
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          // Node's types from the repo (the project installs none of its own).
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['host.ts'],
      }),
    )
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 60_000 }).then(
      () => ({ code: 0, out: '' }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '' }),
    )
    expect(result, result.out).toEqual({ code: 0, out: '' })
  }, 60_000)

  it('a CommonJS Express 4 app requires it and mounts it under /ops/fusebox: its own sign-in maps users to roles; API, audit and PWA answer there', async () => {
    const prefix = `mnt${Date.now().toString(36)}`
    const collector = createCollector({ redis: testRedisUrl(), prefix, service: 'checkout', instance: 'c1', flushIntervalMs: 200 })
    for (let i = 0; i < 4; i++) collector.recordRequest({ method: 'GET', route: '/cart', status: 200, durationMs: 5 + i })
    await collector.flush()
    const redis = new Redis(testRedisUrl())
    await redis.sadd(`${prefix}:{checkout}:breakers`, 'payments')
    let started: HostApp | undefined
    try {
      started = await startExpressHost(prefix)
      const { child, exited, url: host } = started
      expect(await (await fetch(`${host}/`)).text()).toMatch(/^host 4\./)
      const base = `${host}/ops/fusebox`
      const ops = { cookie: 'hostsid=sid-ops' }
      const dev = { cookie: 'hostsid=sid-dev' }
      const me = (await (await fetch(`${base}/trpc/auth.me`, { headers: dev })).json()) as { result: { data: unknown } }
      expect(me.result.data).toEqual({ role: 'viewer', actor: 'dev@example.com' })
      expect((await fetch(`${base}/trpc/auth.me`)).status).toBe(401)
      const overview = (await (await fetch(`${base}/trpc/overview.get`, { headers: dev })).json()) as { result: { data: OverviewSnapshot } }
      expect(overview.result.data.services).toMatchObject([{ service: 'checkout', requests: 4 }])
      const command = (headers: Record<string, string>) =>
        fetch(`${base}/trpc/breakers.command`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'x-fusebox-csrf': '1' },
          body: JSON.stringify({ service: 'checkout', breaker: 'payments', command: 'forceOpen', reason: 'drill' }),
        })
      expect((await command(dev)).status).toBe(403)
      const issued = await command(ops)
      expect(issued.status, await issued.clone().text()).toBe(200)
      const audit = (await (await fetch(`${base}/trpc/audit.list?input=${encodeURIComponent('{"service":"checkout"}')}`, { headers: dev })).json()) as {
        result: { data: { entries: { actor: string }[] } }
      }
      expect(audit.result.data.entries.map((e) => e.actor)).toEqual(['ops@example.com'])

      // The PWA under the mount path: the shell names its base, and its hashed script and service worker load there.
      expect((await fetch(base, { redirect: 'manual' })).headers.get('location')).toBe('/ops/fusebox/')
      const shell = await fetch(`${base}/`)
      expect(shell.status).toBe(200)
      const html = await shell.text()
      expect(html).toContain('<base href="/ops/fusebox/"')
      const asset = /src="(?:\.?\/)?(assets\/index-[\w-]+\.js)"/.exec(html)?.[1]
      expect(asset, html).toBeDefined()
      expect((await fetch(`${base}/${asset}`)).status).toBe(200)
      expect((await fetch(`${base}/sw.js`)).status).toBe(200)

      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      started?.stop()
      await collector.close()
      await redis.del(`${prefix}:{checkout}:breakers`)
      redis.disconnect()
    }
  }, 60_000)

  it('Chromium installs it from that host under /ops/fusebox and runs it offline, signed in by the host session cookie alone', async () => {
    const prefix = `mntb${Date.now().toString(36)}`
    // A live service (open all along: the janitor prunes services whose instances have gone).
    const collector = createCollector({ redis: testRedisUrl(), prefix, service: 'checkout', instance: 'c1', flushIntervalMs: 200 })
    for (let i = 0; i < 4; i++) collector.recordRequest({ method: 'GET', route: '/cart', status: 200, durationMs: 5 + i })
    await collector.flush()
    let started: HostApp | undefined
    let browser: PersistentChromium | undefined
    try {
      started = await startExpressHost(prefix)
      const { child, exited, url: host } = started
      browser = await launchPersistentChromium('fusebox-mount-')
      // The host's own sign-in: its session cookie (a viewer) and no Fusebox token; the hook maps it to a role.
      await browser.context.addCookies([{ name: 'hostsid', value: 'sid-dev', url: host }])
      await checkPwaUnderBase({ context: browser.context, origin: host, base: '/ops/fusebox', service: 'checkout' })
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      await browser?.close()
      started?.stop()
      await collector.close()
      const redis = new Redis(testRedisUrl())
      await deletePrefix(redis, prefix)
      redis.disconnect()
    }
  }, 60_000)

  it('npx fusebox --help prints usage with examples and every variable, --version the version; both exit 0', async () => {
    const help = await npxFusebox(['--help'])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^Usage: fusebox \[options\]/)
    expect(help.stdout).toContain('Examples:')
    expect(help.stdout).toContain('--redis <url>')
    for (const variable of ENV_VARIABLES) expect(help.stdout, variable).toContain(variable)
    const version = await npxFusebox(['--version'])
    expect(version).toMatchObject({ code: 0, stdout: `${rootPkg.version}\n` })
  }, 60_000)

  it('exits 2 with a clear message on an unknown flag, a missing value, a bad value or no Redis', async () => {
    const [unknown, missing, bad, noRedis] = await Promise.all([
      npxFusebox(['--redis', testRedisUrl(), '--bogus']),
      npxFusebox(['--redis']),
      npxFusebox(['--redis', testRedisUrl(), '--port', '70000', '--session-ttl', '5']),
      npxFusebox([]),
    ])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown option '--bogus'")
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("option '--redis <url>' argument missing")
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--port (PORT): Too big')
    expect(bad.stderr).toContain('--session-ttl (FUSEBOX_SESSION_TTL_S): Too small')
    expect(noRedis.code).toBe(2)
    expect(noRedis.stderr).toContain('--redis (REDIS_URL): required')
  }, 60_000)

  it('npx fusebox login-link prints a one-time link stored in Redis under the prefix, and exits 2 without a Redis', async () => {
    const prefix = `link${Date.now().toString(36)}`
    const [printed, noRedis] = await Promise.all([
      npxFusebox(['login-link', '--redis', testRedisUrl(), '--prefix', prefix, '--public-url', 'https://ops.example.com/']),
      npxFusebox(['login-link']),
    ])
    expect(printed.code, printed.stderr).toBe(0)
    expect(printed.stdout).toMatch(/^https:\/\/ops\.example\.com\/#token=[\w-]{43}$/m)
    const redis = new Redis(testRedisUrl())
    try {
      expect(await redis.keys(`${prefix}:loginlink:*`)).toHaveLength(1)
    } finally {
      redis.disconnect()
    }
    expect(noRedis.code).toBe(2)
    expect(noRedis.stderr).toContain('REDIS_URL: required')
  }, 60_000)

  it('runs as a real process: /healthz, operator login, overview.get with a collected service, the PWA and a hashed asset', async () => {
    const prefix = `dash${Date.now().toString(36)}`
    // A live service writes through the SDK under the prefix the bin is given (open all along: the janitor prunes
    // services whose instances have gone).
    const collector = createCollector({ redis: testRedisUrl(), prefix, service: 'checkout', instance: 'c1', flushIntervalMs: 200 })
    for (let i = 0; i < 5; i++) collector.recordRequest({ method: 'GET', route: '/cart', status: i === 0 ? 500 : 200, durationMs: 10 + i })
    await collector.flush()

    // Flags win over variables: the variable's prefix and port are wrong, the flags right.
    const child = spawn('npx', ['--no', '--', 'fusebox', '--redis', testRedisUrl(), '--port', '0', '--prefix', prefix], {
      cwd: app,
      env: { ...childEnv, FUSEBOX_PREFIX: 'wrong-prefix', PORT: '1', FUSEBOX_OPERATOR_TOKENS: `alice:${OPERATOR_TOKEN}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: npx and the node it starts are stopped together
    })
    let stderr = ''
    let stdout = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const redis = new Redis(testRedisUrl())
    try {
      const base = await listening(child, exited, () => stderr)
      const health = await fetch(`${base}/healthz`)
      expect(health.status, await health.clone().text()).toBe(200)
      expect(await health.json()).toEqual({ status: 'ok', redis: 'ready' })

      const login = await fetch(`${base}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-fusebox-csrf': '1' },
        body: JSON.stringify({ token: OPERATOR_TOKEN }),
      })
      expect(login.status, await login.clone().text()).toBe(200)
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
      expect(cookie).toMatch(/=/)
      const me = (await (await fetch(`${base}/trpc/auth.me`, { headers: { cookie } })).json()) as { result: { data: { role: string } } }
      expect(me.result.data.role).toBe('operator')

      const overview = await fetch(`${base}/trpc/overview.get`, { headers: { cookie } })
      expect(overview.status).toBe(200)
      const snapshot = ((await overview.json()) as { result: { data: OverviewSnapshot } }).result.data
      expect(snapshot.services.map((s) => s.service)).toEqual(['checkout'])
      expect(snapshot.services[0]).toMatchObject({ requests: 5, errors: 1 })
      // The session lives under the flag's prefix, nothing under the variable's.
      expect((await redis.keys(`${prefix}:*`)).length).toBeGreaterThan(0)
      expect(await redis.keys('wrong-prefix:*')).toEqual([])

      const index = await fetch(`${base}/`)
      expect(index.status).toBe(200)
      expect(index.headers.get('content-type')).toMatch(/text\/html/)
      const html = await index.text()
      // Relative to the shell's <base href> (docs/decisions/024): `./assets/…` or, from older builds, `/assets/…`.
      const asset = /(?:src|href)="\.?(\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1]
      expect(asset, html).toBeDefined()
      const script = await fetch(`${base}${asset}`)
      expect(script.status).toBe(200)
      expect(script.headers.get('cache-control')).toContain('immutable')
      const code = await script.text()
      expect(code.length).toBeGreaterThan(1000)
      // A production build even though vitest runs the pack with NODE_ENV=test: React's development JSX runtime is absent.
      expect(code.includes('jsxDEV'), 'the PWA is a React development build').toBe(false)
      expect((await fetch(`${base}/sw.js`)).status).toBe(200)

      // SIGTERM to the group (as a terminal's Ctrl-C or an orchestrator would): the server shuts down gracefully and
      // frees the port; npx itself ends by the signal (npm re-raises it), so its exit code is not the server's.
      process.kill(-child.pid!, 'SIGTERM')
      await exited
      expect(stdout, stderr).toContain('[fusebox] shutting down')
      expect(stderr).not.toContain('shutdown took too long')
      await expect(fetch(`${base}/healthz`)).rejects.toThrow()
    } finally {
      await collector.close()
      redis.disconnect()
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
  }, 60_000)
})

/** The CommonJS Express 4 host app of the mount tests (`<app>/host.cjs`): `require`s the installed package, mounts it
 * under /ops/fusebox with its own cookie sign-in (`hostsid=sid-ops` an operator, `hostsid=sid-dev` a viewer). */
const HOST_APP = `'use strict'
const express = require('express')
const { fuseboxExpress } = require('fusebox-dashboard')
const users = { 'sid-ops': { email: 'ops@example.com', admin: true }, 'sid-dev': { email: 'dev@example.com', admin: false } }
const app = express()
app.use(express.json())
app.use((req, _res, next) => { req.user = users[(/hostsid=([^;]+)/.exec(req.headers.cookie || '') || [])[1]]; next() })
app.get('/', (_req, res) => res.send('host ' + require('express/package.json').version))
const fusebox = fuseboxExpress({
  redis: process.env.REDIS_URL,
  keyPrefix: process.env.PREFIX,
  authenticate: (req) => (req.user ? { role: req.user.admin ? 'operator' : 'viewer', name: req.user.email } : null),
})
app.use('/ops/fusebox', fusebox)
const server = app.listen(0, '127.0.0.1', () => console.log('host listening on http://127.0.0.1:' + server.address().port))
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(); fusebox.close().then(() => process.exit(0)) })
`

/** A running host app: its origin (`http://127.0.0.1:<port>`), the child, its exit code, and `stop` (SIGKILL if still running). */
interface HostApp {
  child: ChildProcess
  exited: Promise<number | null>
  url: string
  stop(): void
}

/**
 * Writes and starts the host app (HOST_APP) against the test Redis under `prefix`; resolves once it listens (≤ 20 s).
 * SIGTERM ends it gracefully with 0; the caller stops it. Rejects (the child killed) when it exits or does not listen.
 */
async function startExpressHost(prefix: string): Promise<HostApp> {
  writeFileSync(join(app, 'host.cjs'), HOST_APP)
  const child = spawn(process.execPath, ['host.cjs'], { cwd: app, env: { ...childEnv, REDIS_URL: testRedisUrl(), PREFIX: prefix }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  try {
    const url = await listening(child, exited, () => stderr, /host listening on (http:\/\/[^/\s]+)/)
    return { child, exited, url, stop: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) }
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
}

