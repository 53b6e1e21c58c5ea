// @ts-check
/**
 * npm dependencies on a fresh clone. Only node: built-ins here — this runs before node_modules exists.
 */
import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * @param {string} path
 * @returns {number | undefined} modification time in epoch ms, undefined when missing
 */
function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/**
 * @param {string} root
 * @param {string[]} args  npm arguments
 * @param {boolean} captureErrors  keep stderr (instead of showing it) to summarise it on failure
 * @returns {{ status: number | null, stderr: string }}
 */
function npm(root, args, captureErrors) {
  const result = spawnSync('npm', args, {
    cwd: root,
    stdio: ['ignore', 'inherit', captureErrors ? 'pipe' : 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  })
  if (result.error) throw new Error(`cannot run npm: ${result.error.message}`)
  return { status: result.status, stderr: result.stderr ?? '' }
}

/**
 * Runs `npm ci --no-audit --no-fund` in `root` (with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: tests use Debian's
 * Chromium) when `node_modules/.package-lock.json` is missing or older than `package-lock.json`; npm's warnings
 * are passed on (deps.test.ts keeps them at none).
 * When npm ci refuses the lockfile (e.g. it lacks other platforms' optional packages because it was made
 * against a registry mirror without them), it says so and falls back to `npm install`, which installs the
 * same locked versions and leaves package-lock.json as it is.
 * @param {string} root  the repository root (holds package.json and package-lock.json)
 * @returns {boolean} true when it installed, false when node_modules was already up to date
 * @throws {Error} when npm cannot be run or both installs fail
 */
export function ensureDependencies(root) {
  const lockMs = mtimeMs(join(root, 'package-lock.json'))
  const installedMs = mtimeMs(join(root, 'node_modules', '.package-lock.json'))
  if (installedMs !== undefined && (lockMs === undefined || installedMs >= lockMs)) return false

  const reason = installedMs === undefined ? 'node_modules is missing' : 'package-lock.json changed'
  process.stdout.write(`${reason}: installing npm dependencies (npm ci)…\n`)
  const ci = npm(root, ['ci', '--no-audit', '--no-fund'], true)
  if (ci.status === 0) {
    // Whatever npm warned about (none on a supported Node: decision 022) is shown, not swallowed with the capture.
    process.stderr.write(ci.stderr)
    return true
  }

  const summary = ci.stderr
    .split('\n')
    .filter((line) => /npm error (code|`npm ci`|Missing:|Invalid:)/.test(line) || !line.startsWith('npm error'))
    .filter((line) => line.trim() !== '' && !line.includes('Unknown user config'))
    .slice(0, 6)
    .join('\n')
  process.stdout.write(`${summary}\nnpm ci failed (exit ${ci.status}): trying npm install with the same lockfile…\n`)
  const install = npm(root, ['install', '--no-audit', '--no-fund'], false)
  if (install.status !== 0) throw new Error(`npm install failed (exit ${install.status})`)
  return true
}
