// @ts-check
/**
 * Debian packages the project runs on (redis-server, chromium): find them, install them when we may, or say
 * exactly how. Only node: built-ins here — this runs before node_modules exists.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

let aptUpdated = false

/**
 * @param {string} binary  a name looked up in PATH, or an absolute path
 * @returns {string | undefined} the executable's path
 */
function findExecutable(binary) {
  const candidates = binary.includes('/')
    ? [binary]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].map(
        (dir) => join(dir, binary),
      )
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  return undefined
}

/**
 * @param {string} command
 * @param {string[]} args
 */
function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  if (result.error) throw new Error(`cannot run ${command}: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`)
}

/**
 * Returns the path of a binary from a Debian package, installing the package first when it is missing and
 * we are root with apt-get (prints "installing <pkg> from Debian (apt-get)…"; `apt-get update` runs once
 * per process).
 * @param {{ binary: string, pkg: string }} wanted
 *   binary: name in PATH ('redis-server') or absolute path ('/usr/bin/chromium'); pkg: Debian package name
 * @returns {string} absolute path of the executable
 * @throws {Error} when it is missing and cannot be installed here; the message holds the exact install
 *   command (and, for redis-server, REDIS_URL as the alternative), or apt-get's failure
 */
export function ensureDebianBinary({ binary, pkg }) {
  const found = findExecutable(binary)
  if (found) return found

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (isRoot && findExecutable('apt-get')) {
    process.stdout.write(`${binary} is missing: installing ${pkg} from Debian (apt-get)…\n`)
    if (!aptUpdated) {
      run('apt-get', ['update'])
      aptUpdated = true
    }
    run('apt-get', ['install', '-y', '--no-install-recommends', pkg])
    const installed = findExecutable(binary)
    if (!installed) throw new Error(`installed Debian package ${pkg}, but ${binary} is still not there`)
    process.stdout.write(`installed ${pkg}: ${installed}\n`)
    return installed
  }

  const alternative = pkg === 'redis-server' ? ', or set REDIS_URL=redis://host:port to use an existing Redis' : ''
  throw new Error(`${binary} is missing. Install it with:\n  sudo apt-get install -y ${pkg}\n(Debian package ${pkg}${alternative})`)
}
