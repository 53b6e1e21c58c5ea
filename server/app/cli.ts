/**
 * The `fusebox` bin of the `fusebox-dashboard` package (docs/decisions/023): `npx fusebox --redis redis://… [flags]`.
 *
 * Every flag is also an environment variable — the ones server/app/env.ts reads (REDIS_URL, PORT, HOST, FUSEBOX_*,
 * documented in .env.example); a flag wins over its variable. The bin only translates flags into those variables,
 * validates them with the same zod schema (`checkEnv`) so a bad value names its flag, and then starts the very same
 * server (`./main`). Bad flags or values: a message on stderr and exit code 2; `--help` and `--version`: exit 0.
 *
 * Built into the package by server/app/build.mjs (`packDashboard`), which defines `FUSEBOX_PACKAGE_VERSION`; there the
 * default FUSEBOX_STATIC_DIR is the package's prebuilt PWA (`../public` next to the bundle). From the repo
 * (`node --import tsx server/app/cli.ts`) the default stays env.ts's `dist`.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { checkEnv, redisTarget, type Env } from './env'
import { printLoginLink } from './loginLink'

/** Set by the package build (esbuild `define`); absent when run from the repo. */
declare const FUSEBOX_PACKAGE_VERSION: string | undefined

/**
 * A flag of the bin: its long name, value placeholder (none for a boolean flag: present = the variable is `1`),
 * environment variable and help text.
 */
interface CliFlag {
  flag: string
  value?: string
  variable: keyof Env
  description: string
}

/** The bin's flags, one per variable of env.ts (`ENV_VARIABLES`; the type check below fails on one without a flag, and server/app/dashboardTarball.test.ts checks --help lists each). */
const CLI_FLAGS = [
  { flag: 'redis', value: 'url', variable: 'REDIS_URL', description: 'Redis the collectors write to (redis:// or rediss://) — this or --redis-cluster-nodes' },
  {
    flag: 'redis-cluster-nodes',
    value: 'seeds',
    variable: 'REDIS_CLUSTER_NODES',
    description: 'a Redis Cluster instead: comma-separated seeds host:port or rediss://user:pass@host:port (one reachable is enough)',
  },
  { flag: 'port', value: 'port', variable: 'PORT', description: 'TCP port to listen on, 0 = any free one (default 3000)' },
  { flag: 'host', value: 'address', variable: 'HOST', description: 'address to listen on (default 127.0.0.1)' },
  { flag: 'prefix', value: 'prefix', variable: 'FUSEBOX_PREFIX', description: "Redis key prefix, as the collectors' `prefix` (default fusebox)" },
  {
    flag: 'operator-tokens',
    value: 'list',
    variable: 'FUSEBOX_OPERATOR_TOKENS',
    description: 'comma-separated name:token (or token) pairs that may send commands; tokens ≥ 16 characters',
  },
  { flag: 'viewer-tokens', value: 'list', variable: 'FUSEBOX_VIEWER_TOKENS', description: 'comma-separated name:token pairs that may only read' },
  { flag: 'tokens-file', value: 'path', variable: 'FUSEBOX_TOKENS_FILE', description: 'file of "operator|viewer <name> <token>" lines, read at start' },
  { flag: 'session-ttl', value: 'seconds', variable: 'FUSEBOX_SESSION_TTL_S', description: 'session lifetime, 60 s … 30 days (default 43200)' },
  { flag: 'static-dir', value: 'dir', variable: 'FUSEBOX_STATIC_DIR', description: 'built dashboard to serve (default: the one in this package)' },
  { flag: 'public-url', value: 'url', variable: 'FUSEBOX_PUBLIC_URL', description: 'URL users reach it at, e.g. https://ops.example.com (behind a TLS proxy)' },
  { flag: 'metrics-token', value: 'token', variable: 'FUSEBOX_METRICS_TOKEN', description: 'bearer token /metrics requires (≥ 16 characters)' },
  {
    flag: 'metrics-fleet',
    value: 'leader|always|never',
    variable: 'FUSEBOX_METRICS_FLEET',
    description: "which replica exports the services' metrics: the lease holder (default), every one (a load-balanced target), none",
  },
  { flag: 'trust-proxy', value: 'hops|addresses', variable: 'FUSEBOX_TRUST_PROXY', description: 'proxies whose X-Forwarded-* to trust: hop count or addresses' },
  { flag: 'audit-retention-days', value: 'days', variable: 'FUSEBOX_AUDIT_RETENTION_DAYS', description: 'days the audit log keeps an entry, 1 … 3650 (default 90)' },
  {
    flag: 'base-path',
    value: 'path',
    variable: 'FUSEBOX_BASE_PATH',
    description: 'serve everything under this URL path, e.g. /ops/fusebox (default: at /)',
  },
  {
    flag: 'shutdown-drain',
    value: 'ms',
    variable: 'FUSEBOX_SHUTDOWN_DRAIN_MS',
    description: 'on SIGTERM behind a health-checking balancer, answer /healthz 503 and keep serving this long first, 0 … 60000 (default 4000; 0 = stop at once)',
  },
  {
    flag: 'alert-webhooks',
    value: 'urls',
    variable: 'FUSEBOX_ALERT_WEBHOOKS',
    description: 'comma-separated webhook URLs for alert notifications (Alertmanager webhook JSON; prefix slack: for a Slack-compatible body)',
  },
  { flag: 'alertmanager-url', value: 'url', variable: 'FUSEBOX_ALERTMANAGER_URL', description: 'a Prometheus Alertmanager to send alerts to (its v2 API), e.g. http://127.0.0.1:9093' },
  { flag: 'alert-interval', value: 'seconds', variable: 'FUSEBOX_ALERT_INTERVAL_S', description: 'how often alert rules are evaluated, 1 … 300 (default 10)' },
  { flag: 'read-only', variable: 'FUSEBOX_READ_ONLY', description: 'every session is a viewer: no breaker or cache commands (as a variable: 1 or true)' },
] as const satisfies readonly CliFlag[]
const FLAGS: readonly CliFlag[] = CLI_FLAGS

/** Compile-time check that every variable of env.ts has a flag: names the ones missing when it fails. */
type VariablesWithoutFlag = Exclude<keyof Env, (typeof CLI_FLAGS)[number]['variable']>
const everyVariableHasAFlag: [VariablesWithoutFlag] extends [never] ? true : VariablesWithoutFlag = true
void everyVariableHasAFlag

const EXAMPLES = `
Every flag can also be given as its environment variable (shown after it); a flag wins.

Examples:
  $ npx fusebox --redis redis://127.0.0.1:6379
      serve the dashboard on http://127.0.0.1:3000/ and print a one-time login link
  $ npx fusebox --redis redis://redis.internal:6379 --prefix shop --port 8080 \\
      --operator-tokens "alice:$(openssl rand -hex 16)"
  $ REDIS_URL=rediss://user:pass@redis.example.com:6380 FUSEBOX_VIEWER_TOKENS=team:0123456789abcdef npx fusebox
  $ npx fusebox --redis-cluster-nodes 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
      the same on a Redis Cluster (any number of dashboard servers may share it)
  $ REDIS_CLUSTER_NODES=rediss://fusebox:secret@redis-0.example.com:6380 npx fusebox
  $ npx fusebox --redis redis://127.0.0.1:6379 --host 0.0.0.0 --public-url https://ops.example.com --trust-proxy 1
  $ npx fusebox --redis redis://127.0.0.1:6379 --base-path /ops/fusebox --read-only
      serve a view-only dashboard on http://127.0.0.1:3000/ops/fusebox/ (e.g. behind a proxy that forwards that path)
  $ npx fusebox login-link --redis redis://127.0.0.1:6379
      print a new one-time login link (servers without configured tokens)
  $ npx fusebox login-link --redis-cluster-nodes 10.0.0.1:7000
`

/** The package version (packaged build), else the repo's package.json version. */
function version(): string {
  if (typeof FUSEBOX_PACKAGE_VERSION === 'string') return FUSEBOX_PACKAGE_VERSION
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

/**
 * Parses `argv` (as `process.argv`) over `env` (default `process.env`) into the environment the server reads:
 * `env` with each given flag's variable set, plus the packaged PWA as FUSEBOX_STATIC_DIR when neither sets it.
 * @returns `{ env }` to start with, or `{ exitCode, message? }`: 0 after --help/--version (already printed),
 *   2 for an unknown flag, a missing value (printed by commander) or an invalid value (`message`, naming flag and variable)
 */
function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { env: NodeJS.ProcessEnv } | { exitCode: number; message?: string } {
  const program = new Command('fusebox')
    .description('Fusebox dashboard: live latency, errors, circuit breakers and caches of your Node.js services, from their Redis.')
    .version(version(), '-v, --version')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', EXAMPLES)
    .allowExcessArguments(false)
    .exitOverride()
  for (const f of FLAGS) program.addOption(new Option(f.value ? `--${f.flag} <${f.value}>` : `--${f.flag}`, f.description).env(f.variable))
  try {
    // Commander reads the variables too (`.env()`, for the help text); the flags are what we take from it.
    program.parse(argv, { from: 'node' })
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode === 0 ? 0 : 2 }
    throw e
  }
  const options = program.opts<Record<string, string | boolean | undefined>>()
  const out: NodeJS.ProcessEnv = { ...env }
  for (const f of FLAGS) {
    const key = f.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    const value = options[key]
    if (program.getOptionValueSource(key) !== 'cli' || value === undefined) continue
    out[f.variable] = typeof value === 'boolean' ? (value ? '1' : '0') : value
  }
  if (out.FUSEBOX_STATIC_DIR === undefined && typeof FUSEBOX_PACKAGE_VERSION === 'string') {
    out.FUSEBOX_STATIC_DIR = fileURLToPath(new URL('../public', import.meta.url))
  }
  const checked = checkEnv(out)
  if (!checked.ok) {
    const byVariable = new Map(FLAGS.map((f) => [f.variable as string, f.flag]))
    const lines = checked.issues.map((i) => {
      const flag = byVariable.get(i.variable)
      const missing = i.variable === 'REDIS_URL' && out.REDIS_URL === undefined
      return `  ${flag ? `--${flag} (${i.variable})` : i.variable}: ${missing ? 'required, or --redis-cluster-nodes (REDIS_CLUSTER_NODES) for a Redis Cluster' : i.message}`
    })
    return { exitCode: 2, message: `fusebox: invalid configuration:\n${lines.join('\n')}\nRun "fusebox --help" for usage.` }
  }
  return { env: out }
}

/**
 * `fusebox login-link [--redis url | --redis-cluster-nodes seeds] [--prefix p] [--public-url url]` (each also
 * REDIS_URL, REDIS_CLUSTER_NODES, FUSEBOX_PREFIX, FUSEBOX_PUBLIC_URL): prints a new one-time login link against the same Redis as the servers (loginLink.ts).
 * @returns exit code: 0 printed, 1 Redis unreachable, 2 bad or missing flags
 */
async function loginLinkCommand(argv: readonly string[]): Promise<number> {
  const program = new Command('fusebox login-link')
    .description('Print a new one-time login link for dashboard servers that run without configured tokens.')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('--redis <url>', 'Redis the servers use').env('REDIS_URL'))
    .addOption(new Option('--redis-cluster-nodes <seeds>', 'or the Redis Cluster they use: host:port,… seeds').env('REDIS_CLUSTER_NODES'))
    .addOption(new Option('--prefix <prefix>', 'Redis key prefix (default fusebox)').env('FUSEBOX_PREFIX'))
    .addOption(new Option('--public-url <url>', 'URL the dashboard is reached at (default http://127.0.0.1:3000)').env('FUSEBOX_PUBLIC_URL'))
    .allowExcessArguments(false)
    .exitOverride()
  try {
    program.parse(argv, { from: 'user' })
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2
    throw e
  }
  const o = program.opts<{ redis?: string; redisClusterNodes?: string; prefix?: string; publicUrl?: string }>()
  const checked = checkEnv({ REDIS_URL: o.redis, REDIS_CLUSTER_NODES: o.redisClusterNodes, FUSEBOX_PREFIX: o.prefix, FUSEBOX_PUBLIC_URL: o.publicUrl })
  if (!checked.ok) {
    const lines = checked.issues.map(
      (i) => `  ${i.variable}: ${i.variable === 'REDIS_URL' && o.redis === undefined ? 'required (or REDIS_CLUSTER_NODES)' : i.message}`,
    )
    console.error(`fusebox login-link: invalid configuration:\n${lines.join('\n')}`)
    return 2
  }
  return printLoginLink(redisTarget(checked.env), checked.env.FUSEBOX_PREFIX, checked.env.FUSEBOX_PUBLIC_URL ?? 'http://127.0.0.1:3000')
}

if (process.argv[2] === 'login-link') process.exit(await loginLinkCommand(process.argv.slice(3)))

const parsed = parseCli(process.argv)
if ('exitCode' in parsed) {
  if (parsed.message) console.error(parsed.message)
  process.exit(parsed.exitCode)
}
for (const [name, value] of Object.entries(parsed.env)) if (value !== undefined) process.env[name] = value
// What main.ts tells the operator to run for a new login link (the package has no `npm run login-link`).
process.env.FUSEBOX_LOGIN_LINK_COMMAND = 'npx fusebox login-link'
// The same server as `npm start` (main.ts reads the variables set above).
await import('./main')
