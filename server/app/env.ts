/**
 * Server configuration, parsed once from the environment with zod (fails fast with a readable list).
 * Every variable is documented in `.env.example`.
 */
import { z } from 'zod'
import { NAME_PATTERN, PREFIX_PATTERN } from '../../shared/vocabulary'
import { parseClusterSeeds, type ClusterSeeds } from '../sdk/redisTopology'
import { checkBasePath } from './basePath'
import { DEFAULT_SHUTDOWN_DRAIN_MS } from './drain'

/** Shortest accepted access token (characters). */
export const MIN_TOKEN_LENGTH = 16

/** A configured token: the person's name (audit actor; optional) and the secret. */
export interface NamedToken {
  name?: string
  token: string
}

/**
 * One entry of a token list: `name:token` (the name before the first `:`, NAME_PATTERN, so a token itself may
 * contain `:` only when named) or a bare `token` (then the audit names it by a stable hash-derived id).
 */
function parseTokenEntry(entry: string): NamedToken {
  const colon = entry.indexOf(':')
  return colon < 0 ? { token: entry } : { name: entry.slice(0, colon), token: entry.slice(colon + 1) }
}

const tokenList = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0).map(parseTokenEntry))
  .refine((list) => list.every((t) => t.token.length >= MIN_TOKEN_LENGTH), { error: `each token must be at least ${MIN_TOKEN_LENGTH} characters` })
  .refine((list) => list.every((t) => t.name === undefined || NAME_PATTERN.test(t.name)), {
    error: 'a token name (before ":") must be 1-64 of A-Z a-z 0-9 . _ -',
  })

/** A boolean variable: `1`/`true` or `0`/`false` (any case), unset or empty = `fallback`. */
function booleanVariable(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v ?? '').trim().toLowerCase()
      if (value === '') return fallback
      if (value === '1' || value === 'true') return true
      if (value === '0' || value === 'false') return false
      ctx.addIssue({ code: 'custom', message: 'must be 1, true, 0 or false' })
      return z.NEVER
    })
}

/**
 * REDIS_CLUSTER_NODES: comma-separated seeds of a Redis Cluster (`host:port`, `[ipv6]:port`, `redis[s]://user:pass@host:port`;
 * redisTopology.ts `parseClusterSeeds`, whose message names the bad seed). Unset or empty = not a cluster.
 */
const clusterSeeds = z
  .string()
  .optional()
  .transform((v, ctx): ClusterSeeds | undefined => {
    if (v === undefined || v.trim() === '') return undefined
    try {
      return parseClusterSeeds(v)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
      return z.NEVER
    }
  })

/** The message when neither Redis variable is set (cli.ts shows it per flag). */
export const REDIS_REQUIRED_MESSAGE = 'required: set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (seeds of a Redis Cluster)'

const EnvSchema = z.object({
  /** One standalone Redis: a `redis://` or `rediss://` URL. Exactly one of REDIS_URL and REDIS_CLUSTER_NODES. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** A Redis Cluster, by its seeds (see `clusterSeeds`). Exactly one of REDIS_URL and REDIS_CLUSTER_NODES. */
  REDIS_CLUSTER_NODES: clusterSeeds,
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  FUSEBOX_PREFIX: z.string().regex(PREFIX_PATTERN).default('fusebox'),
  FUSEBOX_OPERATOR_TOKENS: tokenList,
  FUSEBOX_VIEWER_TOKENS: tokenList,
  FUSEBOX_SESSION_TTL_S: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(12 * 3600),
  FUSEBOX_STATIC_DIR: z.string().min(1).default('dist'),
  FUSEBOX_PUBLIC_URL: z.url().optional(),
  FUSEBOX_METRICS_TOKEN: z.string().min(16).optional(),
  /** A file of access tokens, one `role name token` per line (parseTokenFile); read once at start. */
  FUSEBOX_TOKENS_FILE: z.string().min(1).optional(),
  /** Days the audit log keeps an entry (1 day … 10 years; default 90). Also capped by count (`STREAM_CAPS.audit`). */
  FUSEBOX_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /**
   * The lame-duck period of a SIGTERM/SIGINT while a load balancer health-checks this server, ms (0 = none; ≤ 60 s):
   * /healthz answers 503 and everything else is still served, then the server stops. server/app/drain.ts, decision 034.
   */
  FUSEBOX_SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(60_000).default(DEFAULT_SHUTDOWN_DRAIN_MS),
  /** Express `trust proxy`: a hop count or proxy addresses/subnets; unset = trust none (X-Forwarded-For ignored). */
  FUSEBOX_TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' || v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .refine((v) => v !== 'true', { error: 'list the proxy addresses or a hop count; "true" would trust anyone' }),
  /**
   * URL path the whole dashboard is served under (`/ops/fusebox`), '' = at `/` (basePath.ts `checkBasePath`: leading
   * slash, no trailing slash, no `//`, `.` or `..`, only A-Z a-z 0-9 . _ ~ -). Normalized: `/` becomes ''.
   */
  FUSEBOX_BASE_PATH: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const checked = checkBasePath(v ?? '')
      if (checked.ok) return checked.basePath
      ctx.addIssue({ code: 'custom', message: checked.message })
      return z.NEVER
    }),
  /** Read-only dashboard: every session is capped to viewer, whatever its token (`1`/`true`; default false). */
  FUSEBOX_READ_ONLY: booleanVariable(false),
  /**
   * Who exports the monitored services' metrics on /metrics (fleetMetrics.ts, docs/decisions/026): `leader` — the one
   * replica holding the exporter lease, so Prometheus scraping every replica counts each request once (default);
   * `always` — every replica (one load-balanced scrape target); `never`.
   */
  FUSEBOX_METRICS_FLEET: z.enum(['leader', 'always', 'never']).default('leader'),
  /**
   * Alert webhooks: comma-separated http(s) URLs, each sent Alertmanager's webhook JSON, or a Slack-compatible body
   * when prefixed `slack:` (alerts/notify.ts `parseReceivers`, checked by createDashboard). Default none.
   */
  FUSEBOX_ALERT_WEBHOOKS: z.string().optional(),
  /** A Prometheus Alertmanager's base URL; its v2 API receives the alerts (alerts/notify.ts). Default none. */
  FUSEBOX_ALERTMANAGER_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Alert evaluation interval, s (1 … 300; default 10; alerts/evaluator.ts). */
  FUSEBOX_ALERT_INTERVAL_S: z.coerce.number().int().min(1).max(300).default(10),
}).superRefine((env, ctx) => {
  // Exactly one topology: a URL and seeds together would leave it to chance which one the data went to.
  if (env.REDIS_URL === undefined && env.REDIS_CLUSTER_NODES === undefined) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: REDIS_REQUIRED_MESSAGE })
  } else if (env.REDIS_URL !== undefined && env.REDIS_CLUSTER_NODES !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'set only one of REDIS_URL and REDIS_CLUSTER_NODES' })
  }
})

/** Parsed server configuration. */
export type Env = z.infer<typeof EnvSchema>

/**
 * The Redis a parsed configuration names, as `createDashboard({ redis })` and `printLoginLink` take it: the
 * REDIS_URL string, or `{ cluster: seeds }` for REDIS_CLUSTER_NODES (the schema guarantees exactly one is set).
 */
export function redisTarget(env: Pick<Env, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): string | { cluster: ClusterSeeds } {
  if (env.REDIS_CLUSTER_NODES !== undefined) return { cluster: env.REDIS_CLUSTER_NODES }
  if (env.REDIS_URL !== undefined) return env.REDIS_URL
  throw new Error(REDIS_REQUIRED_MESSAGE)
}

/** Every environment variable `parseEnv` reads, in schema order (the `fusebox` bin has a flag for each: cli.ts). */
export const ENV_VARIABLES = Object.keys(EnvSchema.shape) as (keyof Env)[]

/** One invalid variable: its name and zod's message (the value itself is never echoed: it may be a token). */
export interface EnvIssue {
  variable: string
  message: string
}

/**
 * Validates `source` without throwing: the parsed configuration, or every invalid variable (used by the `fusebox`
 * bin to name the flag that set it).
 */
export function checkEnv(source: NodeJS.ProcessEnv = process.env): { ok: true; env: Env } | { ok: false; issues: EnvIssue[] } {
  const result = EnvSchema.safeParse(source)
  if (result.success) return { ok: true, env: result.data }
  return { ok: false, issues: result.error.issues.map((i) => ({ variable: i.path.join('.'), message: i.message })) }
}

/**
 * Parses `source` (default `process.env`).
 * @throws Error listing every invalid variable, one per line.
 */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = EnvSchema.safeParse(source)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`)
  }
  return result.data
}

/** Tokens of a FUSEBOX_TOKENS_FILE, by role. */
export interface TokenFile {
  operator: NamedToken[]
  viewer: NamedToken[]
}

/**
 * Parses a tokens file: one `role name token` per line (role `operator` or `viewer`, name NAME_PATTERN, token at
 * least 16 characters without spaces); blank lines and lines starting with `#` are ignored.
 * @throws Error listing every bad line by number (the token itself is never echoed)
 */
export function parseTokenFile(text: string): TokenFile {
  const out: TokenFile = { operator: [], viewer: [] }
  const errors: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const parts = line.split(/\s+/)
    const [role, name, token] = parts
    if (parts.length !== 3 || (role !== 'operator' && role !== 'viewer')) {
      errors.push(`  line ${i + 1}: expected "operator|viewer <name> <token>"`)
    } else if (!NAME_PATTERN.test(name!)) {
      errors.push(`  line ${i + 1}: the name must be 1-64 of A-Z a-z 0-9 . _ -`)
    } else if (token!.length < MIN_TOKEN_LENGTH) {
      errors.push(`  line ${i + 1}: the token must be at least ${MIN_TOKEN_LENGTH} characters`)
    } else {
      out[role].push({ name: name!, token: token! })
    }
  })
  if (errors.length > 0) throw new Error(`Invalid FUSEBOX_TOKENS_FILE:\n${errors.join('\n')}`)
  return out
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost'])

/** Whether a listen address is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.')
}

/**
 * Configuration warnings about transport, to log at start: listening beyond loopback without TLS in front (no
 * https FUSEBOX_PUBLIC_URL, no FUSEBOX_TRUST_PROXY), and /metrics refused for want of FUSEBOX_METRICS_TOKEN.
 */
export function transportWarnings(env: Pick<Env, 'HOST' | 'FUSEBOX_PUBLIC_URL' | 'FUSEBOX_TRUST_PROXY' | 'FUSEBOX_METRICS_TOKEN'>): string[] {
  const warnings: string[] = []
  const httpsUrl = env.FUSEBOX_PUBLIC_URL?.startsWith('https://') ?? false
  if (!isLoopbackHost(env.HOST) && !httpsUrl && env.FUSEBOX_TRUST_PROXY === false) {
    warnings.push(
      `[fusebox] listening on ${env.HOST} (beyond loopback) without TLS: session cookies and tokens would cross the network in clear. ` +
        'Put an https reverse proxy in front and set FUSEBOX_PUBLIC_URL=https://… and FUSEBOX_TRUST_PROXY.',
    )
  }
  if ((env.FUSEBOX_PUBLIC_URL !== undefined || env.FUSEBOX_TRUST_PROXY !== false) && env.FUSEBOX_METRICS_TOKEN === undefined) {
    warnings.push('[fusebox] /metrics is refused (403): with FUSEBOX_PUBLIC_URL or FUSEBOX_TRUST_PROXY set it needs FUSEBOX_METRICS_TOKEN.')
  }
  return warnings
}
