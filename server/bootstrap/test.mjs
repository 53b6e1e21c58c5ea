// @ts-check
/**
 * `npm test`: every check, in order, on a fresh clone. Installs npm deps, redis-server and chromium when
 * missing (see debian.mjs), then runs typecheck → lint → build → vitest → playwright, stopping at the first
 * failure with its exit code, and prints how long each step took.
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { constants } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnChild } from './children.mjs'
import { ensureDebianBinary } from './debian.mjs'
import { ensureDependencies } from './deps.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Machine-readable reports of the two test runners, summed into the closing "N passed, N failed" line. */
const REPORT_DIR = join(ROOT, '.fusebox', 'reports')
const VITEST_REPORT = join(REPORT_DIR, 'vitest.json')
const FAULTS_REPORT = join(REPORT_DIR, 'vitest-faults.json')
/** Fault tests compare host latency across phases: they run alone, after the parallel run, so other test files
 * cannot load the 2 cores during one phase and not the other — and one file at a time, for the same reason
 * (faultScenarios.test.ts runs its four long scenarios concurrently inside itself). */
const FAULTS_FILES = ['server/sdk/faults.test.ts', 'server/sdk/faultScenarios.test.ts']
const PLAYWRIGHT_REPORT = join(REPORT_DIR, 'playwright.json')

/** @type {Array<{ label: string, command: string, args: string[] }>} */
const STEPS = [
  { label: 'typecheck', command: 'npm', args: ['run', 'typecheck'] },
  { label: 'lint', command: 'npm', args: ['run', 'lint'] },
  { label: 'build', command: 'npx', args: ['--no-install', 'vite', 'build'] },
  {
    label: 'unit + integration (vitest)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', ...FAULTS_FILES.flatMap((f) => ['--exclude', f]), '--reporter=default', '--reporter=json', `--outputFile.json=${VITEST_REPORT}`],
  },
  {
    label: 'fault injection (vitest, alone)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', ...FAULTS_FILES, '--no-file-parallelism', '--reporter=default', '--reporter=json', `--outputFile.json=${FAULTS_REPORT}`],
  },
  { label: 'browser (playwright)', command: 'npx', args: ['--no-install', 'playwright', 'test'] },
]

/** @type {import('./children.mjs').ChildHandle | undefined} */
let running
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    // The step runs in its own process group (under guard.mjs): it gets the signal once, from us, and
    // whatever it spawned goes with it.
    if (running?.isRunning()) void running.stop(signal, 10_000)
    else process.exit(128 + constants.signals[signal])
  })
}

/**
 * @param {{ label: string, command: string, args: string[] }} step
 * @returns {Promise<number>} exit code (128 + signal number when killed by a signal)
 */
async function run({ label, command, args }) {
  running = spawnChild(label, command, args, {
    cwd: ROOT,
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', PLAYWRIGHT_JSON_OUTPUT_FILE: PLAYWRIGHT_REPORT },
    inheritOutput: true,
  })
  const { code, signal } = await running.exited
  running = undefined
  return code ?? (signal ? 128 + constants.signals[signal] : 1)
}

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(8)

async function main() {
  try {
    ensureDependencies(ROOT)
    ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
    ensureDebianBinary({ binary: '/usr/bin/chromium', pkg: 'chromium' })
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }

  rmSync(REPORT_DIR, { recursive: true, force: true })
  mkdirSync(REPORT_DIR, { recursive: true })
  /** @type {Array<{ label: string, durationMs: number, code: number }>} */
  const results = []
  for (const step of STEPS) {
    process.stdout.write(`\n▶ ${step.label}: ${step.command} ${step.args.filter((a) => a !== '--no-install').join(' ')}\n`)
    const startedMs = Date.now()
    const code = await run(step)
    results.push({ label: step.label, durationMs: Date.now() - startedMs, code })
    if (code !== 0) break
  }

  process.stdout.write('\nnpm test summary\n')
  for (const { label, durationMs, code } of results) {
    process.stdout.write(`  ${code === 0 ? 'ok  ' : 'FAIL'} ${seconds(durationMs)}  ${label}${code === 0 ? '' : ` (exit ${code})`}\n`)
  }
  for (const step of STEPS.slice(results.length)) process.stdout.write(`  skip ${seconds(0)}  ${step.label}\n`)
  const failed = results.find((r) => r.code !== 0)
  const totalMs = results.reduce((sum, r) => sum + r.durationMs, 0)
  process.stdout.write(`  ${failed ? 'failed' : 'all passed'} in ${seconds(totalMs).trim()}\n`)
  const counts = countTests()
  const extra = `${counts.skipped ? `, ${counts.skipped} skipped` : ''}${counts.flaky ? `, ${counts.flaky} of the passed only on a retry (flaky)` : ''}`
  process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${extra}\n`)
  return failed ? failed.code : counts.failed > 0 || counts.passed === 0 ? 1 : 0
}

/**
 * Sums the test counts of the Vitest and Playwright JSON reports (missing report = that runner did not run).
 * @returns {{ passed: number, failed: number, skipped: number, flaky: number }}  flaky: passed on a Playwright retry
 *   (counted in `passed` too)
 */
function countTests() {
  const out = { passed: 0, failed: 0, skipped: 0, flaky: 0 }
  /** @param {string} file */
  const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null)
  try {
    for (const file of [VITEST_REPORT, FAULTS_REPORT]) {
      const v = read(file)
      if (!v) continue
      out.passed += v.numPassedTests ?? 0
      // numFailedTestSuites also counts every describe block and file around a failed test; only a file that failed
      // without a failed test (an import or hook error) adds a failure of its own.
      const brokenFiles = (v.testResults ?? []).filter(
        (/** @type {{ status?: string, assertionResults?: Array<{ status?: string }> }} */ f) =>
          f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
      ).length
      out.failed += (v.numFailedTests ?? 0) + brokenFiles
      out.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0)
    }
    const p = read(PLAYWRIGHT_REPORT)
    if (p?.stats) {
      out.passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0)
      out.flaky += p.stats.flaky ?? 0
      out.failed += p.stats.unexpected ?? 0
      out.skipped += p.stats.skipped ?? 0
    }
  } catch (error) {
    process.stderr.write(`cannot read test reports: ${error instanceof Error ? error.message : String(error)}\n`)
    out.failed += 1
  }
  return out
}

process.exitCode = await main()
