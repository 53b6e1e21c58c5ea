/**
 * Acceptance of the `fusebox-dashboard` tarball as a new user meets it (issue #12, docs/decisions/023): `packDashboard`
 * (what `npm run pack` runs), then a fresh project in the OS temp folder outside the repo installs the tarball and its
 * dependencies from the registry (`--prefer-offline`), and `npx fusebox --redis …` runs as a real process against the
 * test redis-server: /healthz, an operator login over HTTP, `overview.get` showing a service a collector wrote, the
 * PWA's index.html and a hashed asset; `--help`, `--version`, a bad flag and a bad value.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OverviewSnapshot } from '../../shared/schemas'
import { createCollector } from '../sdk/index'
import { testRedisUrl } from '../testing/redis'
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
    JSON.stringify({ name: 'ops', version: '1.0.0', private: true, dependencies: { 'fusebox-dashboard': `file:${packed.tarball}` } }, null, 2),
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
    expect(files.filter((f) => /\.(m|c)?tsx?$/.test(f) || /\.map$/.test(f))).toEqual([])
    expect(files.filter((f) => /^(client|server|shared|e2e|bench|docs|packaging|node_modules)\//.test(f) || /(^|\/)\.env/.test(f))).toEqual([])
    expect(files.filter((f) => !/^(dist|public)\//.test(f)).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'THIRD-PARTY-NOTICES.md', 'package.json'])
    expect(files.filter((f) => f.startsWith('dist/'))).toEqual(['dist/cli.js'])
    expect(files.some((f) => /^public\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true)
  })

  it('installs with its runtime dependencies only: no tsx, TypeScript, vite or React, and a bundle that imports no tsx', () => {
    const installed = join(app, 'node_modules', 'fusebox-dashboard')
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> }
    expect(pkg.bin).toEqual({ fusebox: './dist/cli.js' })
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx')
    for (const name of ['tsx', 'typescript', 'vite', 'esbuild', 'react', 'recharts', 'vitest']) expect(existsSync(join(app, 'node_modules', name)), name).toBe(false)
    const bundle = readFileSync(join(installed, 'dist', 'cli.js'), 'utf8')
    expect(bundle.startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(bundle).not.toMatch(/from\s+["']tsx|import\(["']tsx|--import\s+tsx/)
    expect(existsSync(join(app, 'node_modules', '.bin', 'fusebox'))).toBe(true)
  })

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
      expect(health.status).toBe(200)
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
      const asset = /(?:src|href)="(\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1]
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

/** Waits (≤ 20 s) for the "[fusebox] server listening on http://…/" line and returns that base URL. */
async function listening(child: ChildProcess, exited: Promise<number | null>, stderr: () => string): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  let timer: NodeJS.Timeout | undefined
  const found = new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const m = /server listening on (http:\/\/[^/\s]+)\//.exec(line)
      if (m) resolve(m[1]!)
    })
  })
  try {
    return await Promise.race([
      found,
      exited.then((code) => Promise.reject(new Error(`fusebox exited (${code}) before listening: ${stderr()}`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`fusebox did not listen within 20 s: ${stderr()}`)), 20_000))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
