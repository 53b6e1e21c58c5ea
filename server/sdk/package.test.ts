/**
 * The published `fusebox-sdk` tarball as a registry would hold it (`packSdk`, the code behind `npm run pack`): what it
 * contains, its generated package.json, and the verdicts of publint and @arethetypeswrong/cli on the tarball itself.
 * Installing it into fresh projects and running them is server/sdk/tarball.test.ts.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packSdk } from './build.mjs'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'node_modules', '.bin')

interface PackedManifest {
  name: string
  version: string
  private?: boolean
  type?: string
  license?: string
  exports?: Record<string, unknown>
  engines?: Record<string, string>
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
}

let out: Awaited<ReturnType<typeof packSdk>>
let manifest: PackedManifest
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fusebox-sdk-pkg-'))
  out = await packSdk({ destination: dir })
  const { stdout } = await run('tar', ['-xzOf', out.tarball, 'package/package.json'])
  manifest = JSON.parse(stdout) as PackedManifest
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the fusebox-sdk tarball', () => {
  it('holds only the built SDK, its README, CHANGELOG and MIT LICENSE: no client, server, shared, e2e, bench or docs file', async () => {
    expect(out.tarball).toMatch(/fusebox-sdk-\d+\.\d+\.\d+\.tgz$/)
    expect(out.files).toEqual(
      ['CHANGELOG.md', 'LICENSE', 'README.md', 'dist/index.cjs', 'dist/index.cjs.map', 'dist/index.d.cts', 'dist/index.d.ts', 'dist/index.js', 'dist/index.js.map', 'package.json'].sort(),
    )
    expect(out.files.filter((f) => /^(client|server|shared|e2e|bench|docs|test-results)\//.test(f))).toEqual([])
    const { stdout: license } = await run('tar', ['-xzOf', out.tarball, 'package/LICENSE'])
    expect(license).toMatch(/^MIT License/)
    expect(out.sizeBytes).toBeLessThan(400_000)
  })

  it('is a public ES module package named fusebox-sdk with import and require entries, each with its own types', () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackedManifest
    expect(manifest.name).toBe('fusebox-sdk')
    expect(manifest.version).toBe(root.version)
    expect(manifest.private).toBeUndefined()
    expect(manifest.type).toBe('module')
    expect(manifest.license).toBe('MIT')
    expect(manifest.exports?.['.']).toEqual({
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    })
    expect(manifest.engines?.node).toMatch(/20\.19/)
  })

  it('depends only on zod and @msgpack/msgpack; ioredis and opossum are peers in the ranges the repo tests', () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackedManifest
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(['@msgpack/msgpack', 'zod'])
    expect(manifest.peerDependencies).toEqual({ ioredis: root.dependencies?.ioredis, opossum: root.dependencies?.opossum })
    expect(manifest.optionalDependencies).toBeUndefined()
  })

  it('has types that import neither opossum (inlined) nor Express, Fastify or OpenTelemetry', async () => {
    const { stdout: dts } = await run('tar', ['-xzOf', out.tarball, 'package/dist/index.d.ts'])
    const { stdout: dcts } = await run('tar', ['-xzOf', out.tarball, 'package/dist/index.d.cts'])
    for (const types of [dts, dcts]) {
      const imported = [...types.matchAll(/from '([^']+)'/g)].map((m) => m[1]).sort()
      expect(new Set(imported)).toEqual(new Set(['events', 'ioredis', 'node:http', 'zod']))
      expect(types).toMatch(/declare class CircuitBreaker</)
    }
  })

  it('passes publint --strict', async () => {
    const { stdout } = await run(join(BIN, 'publint'), [out.tarball, '--strict'], { timeout: 30_000 })
    expect(stdout).toMatch(/All good/)
  }, 30_000)

  it('passes @arethetypeswrong/cli on node10, node16 (from CJS and from ESM) and bundler', async () => {
    const result = await run(join(BIN, 'attw'), [out.tarball, '--format', 'json'], { timeout: 60_000 }).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
    )
    const report = JSON.parse(result.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, unknown> }> } }
    expect(report.analysis.problems).toEqual([])
    expect(Object.keys(report.analysis.entrypoints['.']?.resolutions ?? {}).sort()).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm'])
  }, 60_000)
})
