/**
 * FUSEBOX_BASE_PATH / `--base-path` and FUSEBOX_READ_ONLY / `--read-only` at the edge (env.ts, cli.ts): parsed and
 * normalized once, and a bad value stops the bin (and `npm start`'s server) with exit code 2 and a message naming the
 * flag and the variable — never a server listening somewhere unexpected; a good one serves under the base. The bin
 * and the server run as real processes from the repo (`node --import tsx`).
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { checkEnv } from './env'

/** Runs a TypeScript entry of this folder with `args` and `env` added to ours; resolves (never rejects) when it exits. */
function runEntry(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env }
  delete base.FUSEBOX_BASE_PATH
  delete base.FUSEBOX_READ_ONLY
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `server/app/${entry}`, ...args],
      { env: { ...base, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

describe('FUSEBOX_BASE_PATH and FUSEBOX_READ_ONLY in the env schema', () => {
  it('default to "" and false; "/" is the root; read-only takes 1/true/0/false in any case', () => {
    const env = (extra: NodeJS.ProcessEnv) => {
      const r = checkEnv({ REDIS_URL: 'redis://127.0.0.1:6379', ...extra })
      if (!r.ok) throw new Error(JSON.stringify(r.issues))
      return [r.env.FUSEBOX_BASE_PATH, r.env.FUSEBOX_READ_ONLY]
    }
    expect(env({})).toEqual(['', false])
    expect(env({ FUSEBOX_BASE_PATH: '/', FUSEBOX_READ_ONLY: '' })).toEqual(['', false])
    expect(env({ FUSEBOX_BASE_PATH: '/ops/fusebox', FUSEBOX_READ_ONLY: '1' })).toEqual(['/ops/fusebox', true])
    expect(env({ FUSEBOX_READ_ONLY: 'TRUE' })[1]).toBe(true)
    expect(env({ FUSEBOX_READ_ONLY: 'false' })[1]).toBe(false)
    expect(env({ FUSEBOX_READ_ONLY: '0' })[1]).toBe(false)
  })

  it('names each bad value with its reason', () => {
    const r = checkEnv({ REDIS_URL: 'redis://127.0.0.1:6379', FUSEBOX_BASE_PATH: '/ops/../etc', FUSEBOX_READ_ONLY: 'yes' })
    expect(r.ok).toBe(false)
    expect(r.ok ? [] : r.issues).toEqual([
      { variable: 'FUSEBOX_BASE_PATH', message: 'must not contain "." or ".." segments' },
      { variable: 'FUSEBOX_READ_ONLY', message: 'must be 1, true, 0 or false' },
    ])
  })
})

describe('FUSEBOX_METRICS_FLEET in the env schema', () => {
  it('defaults to leader, takes always and never, and names anything else', () => {
    const fleet = (v?: string) => checkEnv({ REDIS_URL: 'redis://127.0.0.1:6379', ...(v === undefined ? {} : { FUSEBOX_METRICS_FLEET: v }) })
    const ok = (v?: string) => {
      const r = fleet(v)
      return r.ok ? r.env.FUSEBOX_METRICS_FLEET : null
    }
    expect([ok(), ok('always'), ok('never'), ok('leader')]).toEqual(['leader', 'always', 'never', 'leader'])
    const bad = fleet('sometimes')
    expect(bad.ok ? [] : bad.issues.map((i) => i.variable)).toEqual(['FUSEBOX_METRICS_FLEET'])
  })
})

describe('the fusebox bin and the server with a bad base path', () => {
  // Each reason is checked in basePath.test.ts; here that the bin stops on them and names the flag.
  it('exits 2 naming --base-path (FUSEBOX_BASE_PATH) for a relative, dot-dot or markup path', async () => {
    const cases: [string, string][] = [
      ['ops/fusebox', 'must start with "/"'],
      ['/ops/../etc', 'must not contain "." or ".." segments'],
      ['/ops/"><script>alert(1)</script>', 'may contain only A-Z a-z 0-9 . _ ~ - between slashes'],
    ]
    const results = await Promise.all(cases.map(([path]) => runEntry('cli.ts', ['--redis', testRedisUrl(), '--port', '0', '--base-path', path])))
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(`--base-path (FUSEBOX_BASE_PATH): ${cases[i]![1]}`)
      expect(r.stdout).not.toContain('listening')
    })
  }, 60_000)

  it('exits 2 for a bad FUSEBOX_BASE_PATH or FUSEBOX_READ_ONLY variable, from the bin and from the server itself', async () => {
    const env = { REDIS_URL: testRedisUrl(), PORT: '0', FUSEBOX_BASE_PATH: '/a b', FUSEBOX_READ_ONLY: 'maybe' }
    const [bin, server] = await Promise.all([runEntry('cli.ts', [], env), runEntry('main.ts', [], env)])
    expect(bin.code, bin.stderr).toBe(2)
    expect(bin.stderr).toContain('--base-path (FUSEBOX_BASE_PATH): may contain only A-Z a-z 0-9 . _ ~ - between slashes')
    expect(bin.stderr).toContain('--read-only (FUSEBOX_READ_ONLY): must be 1, true, 0 or false')
    expect(server.code, server.stderr).toBe(2)
    expect(server.stderr).toContain('FUSEBOX_BASE_PATH: may contain only A-Z a-z 0-9 . _ ~ - between slashes')
    expect(server.stderr).toContain('FUSEBOX_READ_ONLY: must be 1, true, 0 or false')
  }, 60_000)

  it('knows --read-only as a boolean flag and accepts a good --base-path: only the bad --port is reported', async () => {
    const r = await runEntry('cli.ts', ['--redis', testRedisUrl(), '--read-only', '--base-path', '/ops/fusebox', '--port', '70000'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('--port (PORT): Too big')
    expect(r.stderr).not.toMatch(/unknown option|--read-only \(|--base-path \(/)
  }, 60_000)
})

describe('the fusebox bin with --base-path', () => {
  it('serves the dashboard under the base (shell, /healthz) and answers 404 at /', async () => {
    const prefix = `bpcli${randomBytes(4).toString('hex')}`
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'server/app/cli.ts', '--redis', testRedisUrl(), '--port', '0', '--prefix', prefix, '--base-path', '/ops/fusebox', '--viewer-tokens', 'viewer-token-for-cli-test-01'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    try {
      const origin = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line within 20 s:\n${output}`)), 20_000)
        const check = () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/ops\/fusebox\//.exec(output)
          if (m) {
            clearTimeout(timer)
            resolve(m[1]!)
          }
        }
        child.stdout.on('data', check)
        void exited.then(() => reject(new Error(`exited before listening:\n${output}`)))
      })
      const shell = await fetch(`${origin}/ops/fusebox/breakers`)
      expect(shell.status).toBe(200)
      expect(await shell.text()).toContain('<base href="/ops/fusebox/" />')
      expect((await fetch(`${origin}/ops/fusebox/healthz`)).status).toBe(200)
      expect((await fetch(`${origin}/healthz`)).status).toBe(404)
      expect((await fetch(`${origin}/`)).status).toBe(404)
    } finally {
      child.kill('SIGTERM')
      await exited
      const redis = new Redis(testRedisUrl())
      await deletePrefix(redis, prefix)
      await redis.quit()
    }
  }, 60_000)
})
