/**
 * `.env` loading of `npm start` (env.mjs): the environment wins, a malformed line is an error naming it, and a child
 * process started afterwards sees the loaded variables (real processes, temp folders).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { dotEnvProblems, loadDotEnv } from './env.mjs'

const ENV_MODULE = fileURLToPath(new URL('./env.mjs', import.meta.url))
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function withDotEnv(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fusebox-env-test-'))
  dirs.push(dir)
  writeFileSync(join(dir, '.env'), text)
  return dir
}

describe('loadDotEnv', () => {
  it('sets the variables the environment lacks and keeps those it has, even empty ones', () => {
    const dir = withDotEnv('# comment\n\nPORT=4100\nexport FUSEBOX_PREFIX=ops\nREDIS_URL="redis://127.0.0.1:6399"\nHOST=0.0.0.0\n')
    const env: NodeJS.ProcessEnv = { PORT: '3000', HOST: '' }
    const result = loadDotEnv(dir, env)
    expect(result).toEqual({ path: join(dir, '.env'), loaded: ['FUSEBOX_PREFIX', 'REDIS_URL'], kept: ['HOST', 'PORT'] })
    expect(env).toEqual({ PORT: '3000', HOST: '', FUSEBOX_PREFIX: 'ops', REDIS_URL: 'redis://127.0.0.1:6399' })
  })

  it('returns undefined and changes nothing without a .env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusebox-env-test-'))
    dirs.push(dir)
    const env: NodeJS.ProcessEnv = { A: '1' }
    expect(loadDotEnv(dir, env)).toBeUndefined()
    expect(env).toEqual({ A: '1' })
  })

  it('accepts a quoted value over several lines, as Node parses it', () => {
    const dir = withDotEnv('FUSEBOX_VIEWER_TOKENS="carol:viewer-token-0123456789\ndave:viewer-token-9876543210"\nPORT=1\n')
    const env: NodeJS.ProcessEnv = {}
    loadDotEnv(dir, env)
    expect(env).toEqual({ FUSEBOX_VIEWER_TOKENS: 'carol:viewer-token-0123456789\ndave:viewer-token-9876543210', PORT: '1' })
  })

  it('a malformed .env is an error naming the file and each bad line, and sets nothing', () => {
    const dir = withDotEnv('PORT=4100\nHOST 0.0.0.0\nFUSEBOX-PREFIX=x\nA="never closed\n')
    const env: NodeJS.ProcessEnv = {}
    expect(() => loadDotEnv(dir, env)).toThrow(
      `${join(dir, '.env')} is malformed (see .env.example):\n` +
        '  line 2: expected NAME=value (NAME of letters, digits and _), got "HOST 0.0.0.0"\n' +
        '  line 3: expected NAME=value (NAME of letters, digits and _), got "FUSEBOX-PREFIX=x"\n' +
        '  line 4: the " quote of A is never closed',
    )
    expect(env).toEqual({})
  })

  it('dotEnvProblems passes what .env.example documents', () => {
    expect(dotEnvProblems('# a\n  # b\nA=\nB = spaced\nC=\'single\'\nD=`back`\r\nexport E=1\n')).toEqual([])
  })

  it('a child process started after loading sees the variables; the parent environment still wins', () => {
    const dir = withDotEnv('FUSEBOX_ENV_TEST_A=from-file\nFUSEBOX_ENV_TEST_B=from-file\n')
    const script = [
      `import { loadDotEnv } from ${JSON.stringify(ENV_MODULE)}`,
      "import { spawnSync } from 'node:child_process'",
      `loadDotEnv(${JSON.stringify(dir)})`,
      "const child = spawnSync(process.execPath, ['-p', 'process.env.FUSEBOX_ENV_TEST_A + \" \" + process.env.FUSEBOX_ENV_TEST_B'], { env: { ...process.env }, encoding: 'utf8' })",
      'process.stdout.write(child.stdout)',
    ].join('\n')
    const env: NodeJS.ProcessEnv = { ...process.env, FUSEBOX_ENV_TEST_B: 'from-environment' }
    delete env.FUSEBOX_ENV_TEST_A
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('from-file from-environment')
  })
})
