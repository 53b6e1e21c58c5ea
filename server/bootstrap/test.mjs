// @ts-check
/**
 * `npm test`: every check, in order, on a fresh clone. Installs npm deps, redis-server and chromium when
 * missing (see debian.mjs), and Node 22 and 24 into a cache folder outside the repo (see nodes.mjs), then runs
 * typecheck → lint → build → vitest → faults (+ the SDK and server suites on Node 22 — on the Redis Cluster — and on
 * Node 24 alongside the later steps, decision 032) → playwright, stopping at the first failure with its exit code, and prints how long each step took.
 * `npm test -- --step <label start>` runs only the matching steps (after the same installs).
 * Only node: built-ins here — this runs before node_modules exists.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { constants } from 'node:os'
import { basename, delimiter, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnChild } from './children.mjs'
import { ensureDebianBinary } from './debian.mjs'
import { ensureDependencies } from './deps.mjs'
import { EXTRA_NODE_VERSIONS, ensureNodeVersion } from './nodes.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** Machine-readable reports of the two test runners, summed into the closing "N passed, N failed" line. */
const REPORT_DIR = join(ROOT, '.fusebox', 'reports')
const VITEST_REPORT = join(REPORT_DIR, 'vitest.json')
const FAULTS_REPORT = join(REPORT_DIR, 'vitest-faults.json')
const SCENARIOS_REPORT = join(REPORT_DIR, 'vitest-fault-scenarios.json')
const SSE_LOAD_REPORT = join(REPORT_DIR, 'vitest-sse-load.json')
/** @param {string} version @param {string} [topology] */
const nodeReport = (version, topology = 'single') => join(REPORT_DIR, `vitest-node-${version}${topology === 'single' ? '' : `-${topology.replace(/ /g, '-')}`}.json`)
/** faults.test.ts measures host p99 latency across phases: it runs alone, after the parallel run, so nothing else
 * loads the 2 cores during one phase and not the other. faultScenarios.test.ts (four long scenarios concurrently
 * inside itself, mostly waiting on timers) runs next, with the Node 22/24 suites alongside (decision 022). */
const FAULTS_FILE = 'server/sdk/faults.test.ts'
const SCENARIOS_FILE = 'server/sdk/faultScenarios.test.ts'
/** prometheus.test.ts: a real Prometheus scraping two dashboard servers for ~95 s against steady traffic (issue #12
 * acceptance). Timing-sensitive and long, so kept out of the parallel run and the Node 22/24 suites; it runs in the
 * fault-scenarios step, beside faultScenarios.test.ts (both mostly wait on timers). */
const PROMETHEUS_FILE = 'server/app/prometheus.test.ts'
/** clusterFailover.test.ts: SIGKILL of a lagging Redis Cluster master under load (issue #13, decision 029): its own
 * 6 redis-servers and 2 host processes, ~45 s, and bounds on how soon flushes land after the promotion, so it runs
 * beside the fault scenarios rather than among the parallel files. */
const FAILOVER_FILE = 'server/sdk/clusterFailover.test.ts'
const FAULTS_FILES = [FAULTS_FILE, SCENARIOS_FILE, PROMETHEUS_FILE, FAILOVER_FILE]
/** What runs again on each of EXTRA_NODE_VERSIONS: the SDK, the server and the wire formats (not the faults, the
 * client, the bootstrap or the browser tests: decision 022). */
const MATRIX_DIRS = ['server/sdk', 'server/app', 'shared']
/** sseLoad.test.ts compares flush p99 with and without 200 live streams: it passes alone on Node 22 and 24 (p99 19.5
 * and 51.9 ms, limits 87.9 and 77.6) but not beside the rest of the matrix on 2 cores (Node 22: 112.4 ms, limit
 * 52.4), so on those versions it runs in a step of its own (SSE_LOAD_STEPS). */
const SSE_LOAD_FILE = 'server/app/sseLoad.test.ts'
/** Topology tests (issue #13): HAProxy in front of two servers with Chromium (~45 s) and the SDK and server suites on
 * the test Redis Cluster (~40 s): the load balancer and the cluster, not the Node version, are what they test; they run
 * on the machine's Node only (npm test's time budget, decision 022). */
const TOPOLOGY_FILES = ['server/app/haproxy.test.ts', 'server/app/cluster.test.ts', 'server/app/clusterAuth.test.ts', 'server/sdk/cluster.test.ts']
/** Left out of the matrix lane: FAULTS_FILES, which run in their own steps above, SSE_LOAD_FILE (its own steps),
 * TOPOLOGY_FILES and fuzz.test.ts (its own lane: `fuzzRun`). */
const MATRIX_EXCLUDE = [...FAULTS_FILES, SSE_LOAD_FILE, ...TOPOLOGY_FILES, 'server/app/fuzz.test.ts']
/** @param {string} version */
const sseLoadReport = (version) => join(REPORT_DIR, `vitest-sse-load-node-${version}.json`)
/** @type {Map<string, string>} version → path of its node binary, filled before the steps run */
const nodeBinaries = new Map()
/** For the steps whose files never use the shared test cluster (TOPOLOGY_FILES run in the parallel step only): its
 * globalSetup (server/testing/redisClusterGlobalSetup.ts) then starts nothing, saving ~6 s each. */
const NO_CLUSTER = { FUSEBOX_TEST_NO_CLUSTER: '1' }

/** Suites that need one Redis node by what they test — a CLI child or an installed tarball handed a `redis://` URL,
 * ACL users of that node, the base path and the Express mount (HTTP, not Redis) — left out of the cluster run, which
 * their `testRedisUrl()` would refuse (server/testing/redis.ts). Every other file under MATRIX_DIRS runs on the cluster
 * too (issue #13; a test inside a file that needs one node is `skipIf(testTopology() === 'cluster')` with its reason). */
const SINGLE_NODE_FILES = [
  'server/sdk/tarball.test.ts',
  'server/app/dashboardTarball.test.ts',
  'server/app/cliBasePath.test.ts',
  'server/app/mount.test.ts',
  'server/app/basePath.test.ts',
  'server/app/basePathBrowser.test.ts',
  'server/app/redisAcl.test.ts',
]
/** fuzz.test.ts (24,000 hostile HTTP requests, ~190–215 s on 2 cores whatever the topology) runs on the standalone node
 * on Node 20 and 24 only: in Node 22's cluster lane it would put that lane ~200 s past the step beside it and npm test
 * over its budget. Its server on the cluster passes it (`FUSEBOX_TEST_TOPOLOGY=cluster npx vitest run
 * server/app/fuzz.test.ts`: 26 passed, decision 032). */
const FUZZ_FILE = 'server/app/fuzz.test.ts'
/** @param {string} version */
const fuzzReport = (version) => join(REPORT_DIR, `vitest-fuzz-node-${version}.json`)
const CLUSTER_LANE_EXCLUDE = [FUZZ_FILE]

/**
 * fuzz.test.ts runs once per npm test, on the newest Node (EXTRA_NODE_VERSIONS' last: its memory bounds are the
 * tightest there, V8 keeping a larger young generation), in a lane of its own beside the fault scenarios: ≥ 1,000
 * hostile requests per procedure grow with the API (40 procedures with alerting), and as the critical path of the
 * parallel step (~200 s of its 333 s) and again in Node 24's lane beside Playwright (255 s of its 677 s) it put
 * npm test at 1,515 s on 2 cores; the scenarios beside it mostly wait on timers (decision 036).
 * @param {string} version
 * @returns {{ label: string, command: string, args: string[], env: NodeJS.ProcessEnv, prefixed: true }}
 */
function fuzzRun(version) {
  const binary = nodeBinaries.get(version) ?? 'node'
  return {
    label: `Node ${version}: ${FUZZ_FILE} (vitest)`,
    command: binary,
    args: [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', FUZZ_FILE, '--reporter=dot', '--reporter=json', `--outputFile.json=${fuzzReport(version)}`],
    env: { PATH: `${dirname(binary)}${delimiter}${process.env.PATH ?? ''}`, ...NO_CLUSTER },
    prefixed: true,
  }
}

/**
 * The matrix lane of one extra Node version (decision 022), on a Redis topology (decision 032):
 * - `single`: every file under MATRIX_DIRS but MATRIX_EXCLUDE against the standalone test redis-server;
 * - `cluster`: the same files but SINGLE_NODE_FILES and CLUSTER_LANE_EXCLUDE against the test Redis Cluster
 *   (`FUSEBOX_TEST_TOPOLOGY=cluster`);
 * - `single-node files`: SINGLE_NODE_FILES alone against the standalone node (what `cluster` left out).
 * @param {string} version
 * @param {'single' | 'cluster' | 'single-node files'} topology
 * @returns {{ label: string, command: string, args: string[], env: NodeJS.ProcessEnv, prefixed: true }}  the suites on
 *   that Node, its `node` first on PATH (so npm, npx and `node` in the tests are that version too)
 */
function matrixRun(version, topology = 'single') {
  const binary = nodeBinaries.get(version) ?? 'node'
  const files = topology === 'single-node files' ? SINGLE_NODE_FILES : MATRIX_DIRS
  const exclude = topology === 'single-node files' ? [] : topology === 'cluster' ? [...MATRIX_EXCLUDE, ...SINGLE_NODE_FILES, ...CLUSTER_LANE_EXCLUDE] : MATRIX_EXCLUDE
  const topologyEnv = topology === 'cluster' ? { FUSEBOX_TEST_TOPOLOGY: 'cluster' } : NO_CLUSTER
  return {
    label: `Node ${version}${topology === 'single' ? '' : `, ${topology === 'cluster' ? 'Redis Cluster' : 'single-node files'}`}: ${files.join(', ')} (vitest)`,
    command: binary,
    args: [
      join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files, ...exclude.flatMap((f) => ['--exclude', f]),
      '--reporter=dot', '--reporter=json', `--outputFile.json=${nodeReport(version, topology)}`,
    ],
    env: { PATH: `${dirname(binary)}${delimiter}${process.env.PATH ?? ''}`, ...topologyEnv },
    prefixed: true,
  }
}

/**
 * @param {string} version
 * @returns {{ label: string, command: string, args: string[], env: NodeJS.ProcessEnv }} SSE_LOAD_FILE alone on that
 *   Node. `command` and `env` are read when the step runs: the binaries are installed after STEPS is built.
 */
function sseLoadRun(version) {
  const binary = () => {
    const path = nodeBinaries.get(version)
    if (path === undefined) throw new Error(`Node ${version} is not installed (ensureNodeVersion runs before the steps)`)
    return path
  }
  return {
    label: `Node ${version}: SSE load (vitest, alone)`,
    get command() {
      return binary()
    },
    args: [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', SSE_LOAD_FILE, '--reporter=default', '--reporter=json', `--outputFile.json=${sseLoadReport(version)}`],
    get env() {
      return { PATH: `${dirname(binary())}${delimiter}${process.env.PATH ?? ''}`, ...NO_CLUSTER }
    },
  }
}
/** An ANSI colour escape (ESC [ … m), as reporters put into failure messages. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')
const PLAYWRIGHT_REPORT = join(REPORT_DIR, 'playwright.json')

/**
 * @typedef {{ label: string, command: string, args: string[], env?: NodeJS.ProcessEnv, prefixed?: boolean }} Command
 *   env: added to ours; prefixed: its output lines start with `[label] ` (it runs beside another command)
 * @typedef {Command & { alongside?: () => Command[][] }} Step  alongside: lanes that run while the step runs, side by
 *   side, each lane's commands one after another; the step fails when any of them fails
 */
/** @type {Step[]} */
const STEPS = [
  { label: 'typecheck', command: 'npm', args: ['run', 'typecheck'] },
  { label: 'lint', command: 'npm', args: ['run', 'lint'] },
  { label: 'build', command: 'npx', args: ['--no-install', 'vite', 'build'] },
  {
    // Two workers on 2 cores: most files wait on Redis, child processes and Chromium, so one worker (Vitest's default
    // here, cores − 1) left a core idle — 229.5 s with two in a fresh-clone run, 309 s with one before the cluster
    // suites (decision 022, update). The timing-bound files run alone in the steps below.
    label: 'unit + integration (vitest)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', '--maxWorkers=2', ...[...FAULTS_FILES, SSE_LOAD_FILE, 'server/app/fuzz.test.ts'].flatMap((f) => ['--exclude', f]), '--reporter=default', '--reporter=json', `--outputFile.json=${VITEST_REPORT}`],
  },
  {
    label: 'SSE load (vitest, alone)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', SSE_LOAD_FILE, '--reporter=default', '--reporter=json', `--outputFile.json=${SSE_LOAD_REPORT}`],
    env: NO_CLUSTER,
  },
  {
    label: 'fault injection: host p99 (vitest, alone)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', FAULTS_FILE, '--reporter=default', '--reporter=json', `--outputFile.json=${FAULTS_REPORT}`],
    env: NO_CLUSTER,
  },
  {
    label: 'fault scenarios + Prometheus + cluster failover (vitest)',
    command: 'npx',
    args: ['--no-install', 'vitest', 'run', SCENARIOS_FILE, PROMETHEUS_FILE, FAILOVER_FILE, '--reporter=default', '--reporter=json', `--outputFile.json=${SCENARIOS_REPORT}`],
    env: NO_CLUSTER, // the failover test starts a cluster of its own
    prefixed: true,
    // The first extra version beside the scenarios, the others beside Playwright (one worker): run one after the
    // other here they took 491 s against the scenarios' ~230 s, and npm test 20.0 min (decision 022, update).
    // Node 22's lane runs the suites on the Redis Cluster (then the single-node files on the standalone node); Node 24's
    // on the standalone node: each topology on two Node versions (Node 20 runs the cluster's own suites), within the
    // time budget (decision 032).
    alongside: () => [
      EXTRA_NODE_VERSIONS.slice(0, 1).flatMap((v) => [matrixRun(v, 'cluster'), matrixRun(v, 'single-node files')]),
      EXTRA_NODE_VERSIONS.slice(-1).map(fuzzRun),
    ],
  },
  ...EXTRA_NODE_VERSIONS.map(sseLoadRun),
  { label: 'browser (playwright)', command: 'npx', args: ['--no-install', 'playwright', 'test'], alongside: () => [EXTRA_NODE_VERSIONS.slice(1).map((v) => matrixRun(v, 'single'))] },
]

/** @type {import('./children.mjs').ChildHandle | undefined} the step's own command */
let running
/** @type {Set<import('./children.mjs').ChildHandle>} commands running beside the step (its `alongside`) */
const besides = new Set()
/** Set by a signal: nothing new starts (the lane's next version included). */
let interrupted = false
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    interrupted = true
    // The step runs in its own process group (under guard.mjs): it gets the signal once, from us, and
    // whatever it spawned goes with it.
    const children = [running, ...besides].filter((child) => child?.isRunning())
    if (children.length > 0) for (const child of children) void child?.stop(signal, 10_000)
    else process.exit(128 + constants.signals[signal])
  })
}

/**
 * @param {Command} command
 * @param {(child: import('./children.mjs').ChildHandle) => void} [track]
 * @returns {Promise<number>} exit code (128 + signal number when killed by a signal)
 */
async function runCommand({ label, command, args, env, prefixed }, track) {
  const child = spawnChild(label.split(':')[0] ?? label, command, args, {
    cwd: ROOT,
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', PLAYWRIGHT_JSON_OUTPUT_FILE: PLAYWRIGHT_REPORT, ...env },
    inheritOutput: !prefixed,
  })
  track?.(child)
  const { code, signal } = await child.exited
  return code ?? (signal ? 128 + constants.signals[signal] : 1)
}

/**
 * Runs the step, and beside it its `alongside` lanes (side by side; each lane's commands one after another).
 * @param {Step} step
 * @returns {Promise<Array<{ label: string, durationMs: number, code: number }>>} the step's result first
 */
async function run(step) {
  const startedMs = Date.now()
  const main = runCommand(step, (child) => { running = child }).then((code) => {
    running = undefined
    return { label: step.label, durationMs: Date.now() - startedMs, code }
  })
  /** @param {Command[]} commands */
  const runLane = async (commands) => {
    /** @type {Array<{ label: string, durationMs: number, code: number }>} */
    const done = []
    for (const command of commands) {
      if (interrupted) break
      process.stdout.write(`▶ alongside — ${command.label}: ${command.command} ${command.args.join(' ')}\n`)
      const commandStartedMs = Date.now()
      const code = await runCommand(command, (child) => {
        besides.add(child)
        void child.exited.then(() => besides.delete(child))
      })
      done.push({ label: `  ↳ ${command.label}`, durationMs: Date.now() - commandStartedMs, code })
    }
    return done
  }
  const lane = Promise.all((step.alongside?.() ?? []).map(runLane)).then((lanes) => lanes.flat())
  const [first, ...rest] = await Promise.all([main, lane]).then(([m, l]) => [m, ...l])
  if (!first) throw new Error('unreachable')
  // The step's own duration covers its lane too: the next step waits for both.
  return [{ ...first, durationMs: Date.now() - startedMs, code: first.code || (rest.find((r) => r.code !== 0)?.code ?? 0) }, ...rest]
}

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`.padStart(8)

async function main() {
  /** @type {string[] | undefined} */
  let only
  try {
    // `npm test -- --step <label start>` runs only the steps whose label starts so (e.g. "fault scenarios").
    only = parseArgs({ options: { step: { type: 'string', multiple: true } } }).values.step
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nusage: npm test [-- --step <label start>…]\n`)
    return 2
  }
  try {
    ensureDependencies(ROOT)
    ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
    ensureDebianBinary({ binary: 'redis-cli', pkg: 'redis-tools' }) // redis-cli --cluster create: server/bootstrap/redisCluster.mjs
    ensureDebianBinary({ binary: 'haproxy', pkg: 'haproxy' }) // two dashboard servers behind a load balancer (issue #13)
    ensureDebianBinary({ binary: '/usr/bin/chromium', pkg: 'chromium' })
    ensureDebianBinary({ binary: 'prometheus', pkg: 'prometheus' }) // prometheus + promtool: server/app/prometheus.test.ts
    ensureDebianBinary({ binary: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' }) // server/app/alerts/alertsFleet.test.ts
    for (const version of EXTRA_NODE_VERSIONS) nodeBinaries.set(version, ensureNodeVersion(version))
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }

  const steps = only ? STEPS.filter((s) => only.some((prefix) => s.label.startsWith(prefix))) : STEPS
  rmSync(REPORT_DIR, { recursive: true, force: true })
  mkdirSync(REPORT_DIR, { recursive: true })
  /** @type {Array<{ label: string, durationMs: number, code: number }>} */
  const results = []
  for (const step of steps) {
    process.stdout.write(`\n▶ ${step.label}: ${step.command} ${step.args.filter((a) => a !== '--no-install').join(' ')}\n`)
    const stepResults = await run(step)
    results.push(...stepResults)
    if (stepResults.some((r) => r.code !== 0)) break
  }

  process.stdout.write('\nnpm test summary\n')
  for (const { label, durationMs, code } of results) {
    process.stdout.write(`  ${code === 0 ? 'ok  ' : 'FAIL'} ${seconds(durationMs)}  ${label}${code === 0 ? '' : ` (exit ${code})`}\n`)
  }
  const ranLabels = new Set(results.map((r) => r.label))
  for (const step of steps.filter((s) => !ranLabels.has(s.label))) process.stdout.write(`  skip ${seconds(0)}  ${step.label}\n`)
  const failed = results.find((r) => r.code !== 0)
  const totalMs = results.filter((r) => !r.label.startsWith('  ↳')).reduce((sum, r) => sum + r.durationMs, 0)
  process.stdout.write(`  ${failed ? 'failed' : 'all passed'} in ${seconds(totalMs).trim()}\n`)
  const counts = countTests()
  const extra = `${counts.skipped ? `, ${counts.skipped} skipped` : ''}${counts.flaky ? `, ${counts.flaky} of the passed only on a retry (flaky)` : ''}`
  process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${extra}\n`)
  // The failures last, so they are in the tail a CI log keeps (a lane's own output scrolls away above the summary).
  for (const f of counts.failures) process.stdout.write(`  ✗ ${f}\n`)
  return failed ? failed.code : counts.failed > 0 || counts.passed === 0 ? 1 : 0
}

/**
 * Sums the test counts of the Vitest and Playwright JSON reports (missing report = that runner did not run).
 * @returns {{ passed: number, failed: number, skipped: number, flaky: number, failures: string[] }}  flaky: passed on
 *   a Playwright retry (counted in `passed` too); failures: "report › file › test: first line of the error", one per
 *   failed test or broken file
 */
function countTests() {
  const out = { passed: 0, failed: 0, skipped: 0, flaky: 0, failures: /** @type {string[]} */ ([]) }
  /** @param {unknown} m */
  const firstLine = (m) => String(m ?? '').replace(ANSI_COLOUR, '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 200) ?? ''
  /** @param {string} file */
  const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null)
  try {
    for (const file of [VITEST_REPORT, SSE_LOAD_REPORT, FAULTS_REPORT, SCENARIOS_REPORT, ...EXTRA_NODE_VERSIONS.flatMap((v) => [nodeReport(v), nodeReport(v, 'cluster'), nodeReport(v, 'single-node files'), sseLoadReport(v), fuzzReport(v)])]) {
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
      for (const f of v.testResults ?? []) {
        const name = relative(ROOT, String(f.name ?? ''))
        const failedTests = (f.assertionResults ?? []).filter((/** @type {{ status?: string }} */ a) => a.status === 'failed')
        for (const a of failedTests) out.failures.push(`${basename(file)} › ${name} › ${a.fullName ?? a.title}: ${firstLine(a.failureMessages?.[0])}`)
        if (f.status === 'failed' && failedTests.length === 0) out.failures.push(`${basename(file)} › ${name}: ${firstLine(f.message)}`)
      }
      out.skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0)
    }
    const p = read(PLAYWRIGHT_REPORT)
    if (p?.stats) {
      out.passed += (p.stats.expected ?? 0) + (p.stats.flaky ?? 0)
      out.flaky += p.stats.flaky ?? 0
      out.failed += p.stats.unexpected ?? 0
      out.skipped += p.stats.skipped ?? 0
      /** @param {any} suite @param {string[]} titles */
      const walk = (suite, titles) => {
        const here = suite.title ? [...titles, suite.title] : titles
        for (const spec of suite.specs ?? []) {
          for (const t of spec.tests ?? []) {
            if (t.status !== 'unexpected') continue
            const last = (t.results ?? []).at(-1)
            out.failures.push(`playwright › ${[...here, spec.title].join(' › ')} [${t.projectName ?? ''}]: ${firstLine(last?.error?.message)}`)
          }
        }
        for (const child of suite.suites ?? []) walk(child, here)
      }
      for (const suite of p.suites ?? []) walk(suite, [])
    }
  } catch (error) {
    process.stderr.write(`cannot read test reports: ${error instanceof Error ? error.message : String(error)}\n`)
    out.failed += 1
  }
  return out
}

process.exitCode = await main()
