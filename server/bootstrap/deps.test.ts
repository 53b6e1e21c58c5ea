/**
 * The first `npm ci` of a fresh clone is quiet and leaves package-lock.json as it is (issue #12, decision 022):
 * npm itself resolves package.json + package-lock.json (copies, in a temp folder) and must print no warning or
 * error — an EBADENGINE for a package that needs a newer Node than this one, an incomplete lock, an install script
 * that package.json's allowScripts does not decide.
 */
import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)
const work = mkdtempSync(join(tmpdir(), 'fusebox-deps-test-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface LockPackage { hasInstallScript?: boolean; optional?: boolean; os?: string[] }

describe('npm dependencies of a fresh clone', () => {
  it('npm resolves the lock on this Node with no warning and no change to package-lock.json', async () => {
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(work, file))
    const { stderr } = await run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: work,
      timeout: 60_000,
      env: { ...process.env, npm_config_loglevel: 'warn' },
    })
    const npmLines = stderr.split('\n').filter((line) => /^npm (warn|error)/i.test(line))
    expect(npmLines, `node ${process.version}`).toEqual([])
    expect(readFileSync(join(work, 'package-lock.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
  }, 90_000)

  it('every locked package with an install script is allowed or denied in package.json allowScripts', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> }
    const allowScripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {}
    const undecided = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript && !(p.optional && p.os && !p.os.includes(process.platform)))
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
      .filter((name) => !Object.keys(allowScripts).some((entry) => entry === name || entry.startsWith(`${name}@`)))
    expect(undecided).toEqual([])
  })
})
