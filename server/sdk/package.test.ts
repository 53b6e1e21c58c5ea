/**
 * The SDK as another service would use it: `npm run build:sdk` output, imported by package name (`fusebox/sdk`,
 * resolved through package.json `exports`) from plain Node — no TypeScript loader — and type-checked from a
 * TypeScript project with `module`/`moduleResolution` NodeNext.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testRedisUrl } from '../testing/redis'
import { buildSdk } from './build.mjs'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Inside the package, so `fusebox/sdk` resolves by self-reference exactly as it would from node_modules/fusebox. */
const CONSUMER = join(ROOT, '.fusebox', 'sdk-consumer')

beforeAll(async () => {
  await buildSdk()
  rmSync(CONSUMER, { recursive: true, force: true })
  mkdirSync(CONSUMER, { recursive: true })
}, 60_000)
afterAll(() => rmSync(CONSUMER, { recursive: true, force: true }))

describe('the built SDK (dist-sdk)', () => {
  it('runs from plain Node: records, flushes to Redis and closes', async () => {
    const prefix = `pkg${Date.now().toString(36)}`
    const script = join(CONSUMER, 'service.mjs')
    writeFileSync(
      script,
      `import { createCollector } from 'fusebox/sdk'
const collector = createCollector({ redis: process.argv[2], service: 'plain', instance: 'p1', prefix: process.argv[3], flushIntervalMs: 60_000 })
for (let i = 0; i < 40; i++) collector.recordRequest({ method: 'GET', route: '/items/:id', status: i % 10 === 0 ? 503 : 200, durationMs: 5 + i })
for (let i = 0; i < 50 && collector.stats.flushes === 0; i++) { await collector.flush(); await new Promise((r) => setTimeout(r, 50)) }
await collector.close()
console.log(JSON.stringify(collector.stats))
`,
    )
    // No --import tsx: exactly what a JavaScript service runs.
    const { stdout } = await run(process.execPath, [script, testRedisUrl(), prefix], { cwd: CONSUMER, timeout: 30_000 })
    const stats = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { flushes: number; flushErrors: number }
    expect(stats.flushes).toBeGreaterThan(0)
    const redis = new Redis(testRedisUrl())
    try {
      const keys = await redis.keys(`${prefix}:{plain}:req:10s:*`)
      expect(keys.length).toBe(1)
      expect(await redis.hlen(keys[0]!)).toBeGreaterThan(0)
      expect(await redis.sismember(`${prefix}:services`, 'plain')).toBe(1)
    } finally {
      redis.disconnect()
    }
  })

  it('type-checks from a strict NodeNext TypeScript project, and its types reject a wrong option', async () => {
    writeFileSync(
      join(CONSUMER, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, include: ['*.mts'] }),
    )
    writeFileSync(
      join(CONSUMER, 'ok.mts'),
      `import { createCollector, type Collector } from 'fusebox/sdk'
const c: Collector = createCollector({ redis: 'redis://127.0.0.1:6379', service: 'typed' })
c.recordRequest({ method: 'GET', route: '/a', status: 200, durationMs: 1 })
const b = c.breaker('upstream', async (x: number) => x * 2, { timeout: 100 })
const doubled: Promise<number> = b.fire(21)
void doubled
`,
    )
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    await expect(run(process.execPath, [tsc, '-p', CONSUMER], { cwd: CONSUMER, timeout: 60_000 })).resolves.toBeDefined()

    writeFileSync(join(CONSUMER, 'bad.mts'), `import { createCollector } from 'fusebox/sdk'\ncreateCollector({ redis: 42, service: 'typed' })\n`)
    const failed = await run(process.execPath, [tsc, '-p', CONSUMER], { cwd: CONSUMER, timeout: 60_000 }).then(
      () => null,
      (e: { stdout?: string }) => e.stdout ?? '',
    )
    expect(failed).toMatch(/bad\.mts.*TS2322|bad\.mts.*not assignable/s)
  }, 90_000)
})
