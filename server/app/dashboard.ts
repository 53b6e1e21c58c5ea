/**
 * The whole Fusebox dashboard as one mountable unit (docs/decisions/025): `createDashboard(options)` builds what
 * server/app/main.ts used to wire by hand — the Redis connection (or the host's own client), the key space, the token
 * sign-in, the shared overview hub, the HTTP app (http.ts: tRPC, SSE, /healthz, /metrics, the PWA) and the janitor —
 * and returns the Express app with a `close()`. main.ts listens on it; the mount adapters (mount.ts) hand it to a host
 * application's Express or Fastify.
 *
 * Options are validated once with zod here: a bad option throws at set-up with every problem listed, never later at
 * request time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import { createKeySpace } from '../../shared/keys'
import { STREAM_CAPS, NAME_PATTERN, PREFIX_PATTERN } from '../../shared/vocabulary'
import { parseClusterSeeds, withClusterCause, type ClusterSeeds, type RedisClient } from '../sdk/redisTopology'
import { AlertEvaluator } from './alerts/evaluator'
import { parseReceivers } from './alerts/notify'
import { Auth, HOST_AUTH_TIMEOUT_MS, issueLoginLink, type HostUser } from './auth'
import { checkBasePath } from './basePath'
import { closeLiveStreams, closeMetrics, createHttpApp, type HttpOptions } from './http'
import { Janitor } from './janitor'
import { countPruned } from './metrics'
import { createOverviewHub } from './readModel'

/**
 * A Node request handler — `Dashboard.app`'s shape, typed without Express' own types so that the package's
 * declarations need no @types/express. Express 4 and 5 `app.use()` accept it, as does `http.createServer()`.
 */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void

/** Set by the package build (esbuild `define`); absent when run from the repo. */
declare const FUSEBOX_PACKAGE_VERSION: string | undefined

/** Shortest accepted access token, characters (as env.ts `MIN_TOKEN_LENGTH`). */
const MIN_TOKEN_LENGTH = 16

/**
 * Access tokens, in either form the environment takes: a comma-separated string of `name:token` (or bare `token`)
 * entries, as FUSEBOX_OPERATOR_TOKENS; or a list of bare tokens and `{ name?, token }` objects. Tokens are at least
 * 16 characters; names (the audit actor) NAME_PATTERN.
 */
export type TokenList = string | readonly (string | { name?: string; token: string })[]

/**
 * The host application's sign-in hook (docs/decisions/025): called with the request — for `fuseboxExpress` the
 * Express request, for `fuseboxFastify` the Fastify request — per tRPC call, per audit export and at each live-stream
 * re-check (every 5 s). Answers the user the host vouches for — `role` ('viewer' | 'operator') and `name`, the audit
 * actor (trimmed; 1–100 characters, no control characters) — or null/undefined when the request is not signed in at
 * the host. A hook that throws, rejects, takes longer than `authenticateTimeoutMs` or answers anything else makes the
 * request a 503 with a plain message (the cause is logged), never a 500.
 */
export type Authenticate<Req = IncomingMessage> = (req: Req) => HostUser | null | undefined | Promise<HostUser | null | undefined>

/**
 * A Redis Cluster the dashboard connects to itself (and closes in `close()`), by its seeds: one string in
 * REDIS_CLUSTER_NODES form (`host:port,host:port`, `[ipv6]:port`, `rediss://user:pass@host:port`), a list of such
 * seeds, or seeds already parsed by `parseClusterSeeds` (server/sdk/redisTopology.ts). One reachable seed is enough;
 * ioredis learns the other nodes from it. A cluster has only database 0.
 */
export interface ClusterSeedsOption {
  cluster: string | readonly string[] | ClusterSeeds
}

/**
 * Where the dashboard reads and writes: a `redis://` / `rediss://` URL of one Redis, `{ cluster: seeds }` of a Redis
 * Cluster (for both the dashboard opens a fail-fast client and closes it in `close()`), or the host's own ioredis
 * client — a `Redis` or a `Cluster` (used as is and never closed by the dashboard; a borrowed Cluster should keep
 * `scaleReads: 'master'`, the default, so a command sees its own writes).
 */
export type DashboardRedis = string | RedisClient | ClusterSeedsOption

/** Options of `createDashboard`, each validated at set-up (throws with every problem listed). */
export interface DashboardOptions {
  /** Redis the collectors write to: see `DashboardRedis`. */
  redis: DashboardRedis
  /** Redis key prefix, the collectors' `prefix` (default `fusebox`; 1–32 of A-Z a-z 0-9 . _ -). FUSEBOX_PREFIX. */
  keyPrefix?: string
  /** Tokens that sign in as operator (may send commands). FUSEBOX_OPERATOR_TOKENS. Default none. */
  operatorTokens?: TokenList
  /** Tokens that sign in as viewer (read only). FUSEBOX_VIEWER_TOKENS. Default none. */
  viewerTokens?: TokenList
  /** Session lifetime, seconds (60 s … 30 days; default 12 h). FUSEBOX_SESSION_TTL_S. */
  sessionTtlS?: number
  /**
   * Folder of the built PWA. Default: the package's prebuilt one (`public/` of fusebox-dashboard); from the repo,
   * its `dist/` (`npm run build`). FUSEBOX_STATIC_DIR.
   */
  staticDir?: string
  /**
   * Serve the dashboard under this path when no framework mounts it (`npx fusebox --base-path`; e.g. `/ops/fusebox`,
   * no trailing slash; default the root). Leave it unset when mounting: a mounted app learns its base from the mount
   * itself (Express `req.baseUrl`, the Fastify prefix). FUSEBOX_BASE_PATH.
   */
  basePath?: string
  /** Read-only: every session and host user acts as a viewer; commands answer 403. FUSEBOX_READ_ONLY. Default false. */
  readOnly?: boolean
  /** The host application's sign-in standing in for Fusebox's (see `Authenticate`). Default: none. */
  authenticate?: Authenticate
  /** Bound on one `authenticate` call, ms (1 … 60 000; default 3000, below the dashboard's 5 s session check). */
  authenticateTimeoutMs?: number
  /**
   * When `authenticate` answers null: true (default) — Fusebox's own tokens and sessions still sign in; false — the
   * request is unauthenticated (401) and token sign-in is refused (403).
   */
  fallbackToTokens?: boolean
  /**
   * Accept one-time login links (`npx fusebox login-link`). Default: true exactly when no token is configured and no
   * `authenticate` hook is given (the secure default of `npx fusebox`).
   */
  loginLinks?: boolean
  /** Days the audit log keeps an entry (1 … 3650; default 90). FUSEBOX_AUDIT_RETENTION_DAYS. */
  auditRetentionDays?: number
  /** Bearer token `GET /metrics` requires (≥ 16 characters). FUSEBOX_METRICS_TOKEN. Default: loopback only. */
  metricsToken?: string
  /**
   * Who exports the monitored services' metrics on `/metrics` (docs/decisions/026): `leader` — the one replica holding
   * a lease in Redis (default), `always` — every replica (one load-balanced scrape target), `never`. FUSEBOX_METRICS_FLEET.
   */
  metricsFleet?: 'leader' | 'always' | 'never'
  /** Express `trust proxy` of the dashboard's own app: a hop count or proxy addresses. FUSEBOX_TRUST_PROXY. Default false. */
  trustProxy?: false | number | string
  /** URL users reach the dashboard at; an https one marks cookies Secure. FUSEBOX_PUBLIC_URL. */
  publicUrl?: string
  /**
   * Alerting (docs/decisions/035). Every dashboard server runs an evaluator; exactly one at a time (the holder of a
   * Redis lease) evaluates the rules and sends notifications. Default: evaluated every 10 s, no receivers (alerts show
   * in the dashboard only).
   */
  alerts?: AlertsOptions
}

/** Where alert notifications go and how often rules are evaluated (`DashboardOptions.alerts`). */
export interface AlertsOptions {
  /**
   * Webhook URLs (http/https): each gets Alertmanager's webhook JSON, or a Slack-compatible `{ text }` when prefixed
   * `slack:`. A comma-separated string or a list. FUSEBOX_ALERT_WEBHOOKS.
   */
  webhooks?: string | string[]
  /** A Prometheus Alertmanager's base URL (its v2 API receives the alerts). FUSEBOX_ALERTMANAGER_URL. */
  alertmanagerUrl?: string
  /** Evaluation interval, s (1 … 300; default 10). FUSEBOX_ALERT_INTERVAL_S. */
  intervalS?: number
  /** false: this server never evaluates (another one does); default true. */
  evaluate?: boolean
}

/** A built dashboard. */
export interface Dashboard {
  /**
   * The dashboard's own Express 5 app, as a plain request handler `(req, res, next?)`: listen on it
   * (`http.createServer(dashboard.app)`) or mount it. It answers every request itself (404 for unknown paths).
   */
  app: RequestHandler
  /** The Redis client in use (the host's when one was given): a `Redis`, or a `Cluster` (`isCluster`). */
  redis: RedisClient
  /** Whether one-time login links sign in (`DashboardOptions.loginLinks`). */
  acceptsLoginLinks: boolean
  /** Stores a one-time login link token (valid 1 h, one use) and returns it; the link is `<dashboard URL>/#token=<token>`. */
  issueLoginLink(): Promise<string>
  /** Ends every open live stream (SSE) at once; browsers reconnect. Returns how many ended. */
  endLiveStreams(): number
  /**
   * Stops the dashboard: ends live streams, stops the janitor (waits ≤ 1 s for a run in flight) and, when the
   * dashboard opened the Redis client itself, QUITs it (≤ 1 s, then disconnects). Idempotent. Stopping the HTTP
   * server that serves `app` is the caller's.
   */
  close(): Promise<void>
}

const isRedisClient = (v: unknown): v is RedisClient =>
  typeof v === 'object' && v !== null && ['get', 'set', 'multi', 'quit', 'disconnect'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function')

const Token = z.string().min(MIN_TOKEN_LENGTH, { error: `each token must be at least ${MIN_TOKEN_LENGTH} characters` })
const TokenName = z.string().regex(NAME_PATTERN, { error: 'a token name must be 1-64 of A-Z a-z 0-9 . _ -' })
const NamedTokenSchema = z.strictObject({ name: TokenName.optional(), token: Token })

/** `name:token,…` (env form) → named tokens; the name is what comes before the first `:`. */
function splitTokenString(s: string): { name?: string; token: string }[] {
  return s
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((entry) => {
      const colon = entry.indexOf(':')
      return colon < 0 ? { token: entry } : { name: entry.slice(0, colon), token: entry.slice(colon + 1) }
    })
}

const TokenListSchema = z
  .preprocess(
    (v) => (typeof v === 'string' ? splitTokenString(v) : Array.isArray(v) ? v.map((t: unknown) => (typeof t === 'string' ? { token: t } : t)) : v),
    z.array(NamedTokenSchema, { error: 'must be a comma-separated string or a list of tokens' }),
  )
  .default([])

/** A URL path prefix, checked as FUSEBOX_BASE_PATH is (basePath.ts `checkBasePath`); `/` or '' = the root. */
const BasePath = z.string().transform((raw, ctx) => {
  const checked = checkBasePath(raw)
  if (checked.ok) return checked.basePath
  ctx.addIssue({ code: 'custom', message: checked.message })
  return z.NEVER
})

const REDIS_OPTION_ERROR = 'must be a redis:// or rediss:// URL, { cluster: seeds }, or an ioredis Redis or Cluster client'

/** Parsed seeds handed in as such (`parseClusterSeeds`' output): a `nodes` list of `{ host, port }`. */
const ParsedSeeds = z.object({
  nodes: z.array(z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65_535) })).min(1),
  redisOptions: z.object({ username: z.string().optional(), password: z.string().optional(), tls: z.object({}).optional() }).default({}),
})

/**
 * The `redis` option, told apart by shape so that each form gets its own message: a URL string, an ioredis client
 * (checked before `{ cluster }`: a client has a `cluster` method, the CLUSTER command), or `{ cluster: seeds }`,
 * parsed here (a bad seed is named, parseClusterSeeds' message).
 */
const RedisOptionSchema = z.unknown().transform((v, ctx): string | RedisClient | { cluster: ClusterSeeds } => {
  const fail = (message: string, path: PropertyKey[] = []) => {
    ctx.addIssue({ code: 'custom', message, path })
    return z.NEVER
  }
  if (typeof v === 'string') return /^rediss?:\/\//.test(v) ? v : fail(REDIS_OPTION_ERROR)
  if (isRedisClient(v)) return v
  if (typeof v !== 'object' || v === null || !('cluster' in v)) return fail(REDIS_OPTION_ERROR)
  const extra = Object.keys(v).filter((k) => k !== 'cluster')
  if (extra.length > 0) return fail(`unknown key(s) beside cluster: ${extra.join(', ')}`)
  const c = (v as { cluster: unknown }).cluster
  if (typeof c === 'string' || (Array.isArray(c) && c.every((x) => typeof x === 'string'))) {
    try {
      return { cluster: parseClusterSeeds(typeof c === 'string' ? c : c.join(',')) }
    } catch (e) {
      return fail((e as Error).message, ['cluster'])
    }
  }
  const parsed = ParsedSeeds.safeParse(c)
  if (parsed.success) return { cluster: parsed.data as ClusterSeeds }
  return fail('must be "host:port,…" seeds, a list of them, or parseClusterSeeds() output', ['cluster'])
})

const OptionsSchema = z.strictObject({
  redis: RedisOptionSchema,
  keyPrefix: z.string().regex(PREFIX_PATTERN, { error: 'must be 1-32 of A-Z a-z 0-9 . _ -' }).default('fusebox'),
  operatorTokens: TokenListSchema,
  viewerTokens: TokenListSchema,
  sessionTtlS: z.number().min(1).max(30 * 24 * 3600).default(12 * 3600),
  staticDir: z.string().min(1).optional(),
  basePath: BasePath.optional(),
  readOnly: z.boolean().default(false),
  authenticate: z.custom<Authenticate>((v) => typeof v === 'function', { error: 'must be a function (req) => { role, name } | null' }).optional(),
  authenticateTimeoutMs: z.number().int().min(1).max(60_000).default(HOST_AUTH_TIMEOUT_MS),
  fallbackToTokens: z.boolean().default(true),
  loginLinks: z.boolean().optional(),
  auditRetentionDays: z.number().int().min(1).max(3650).default(90),
  metricsToken: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  metricsFleet: z.enum(['leader', 'always', 'never']).default('leader'),
  trustProxy: z
    .union([z.literal(false), z.number().int().min(0), z.string().min(1)])
    .refine((v) => v !== 'true', { error: 'list the proxy addresses or a hop count; "true" would trust anyone' })
    .default(false),
  publicUrl: z.url().optional(),
  alerts: z
    .strictObject({
      webhooks: z.union([z.string(), z.array(z.string())]).optional(),
      alertmanagerUrl: z.string().optional(),
      intervalS: z.number().int().min(1).max(300).default(10),
      evaluate: z.boolean().default(true),
    })
    .transform((a, ctx) => {
      try {
        return { ...a, receivers: parseReceivers(Array.isArray(a.webhooks) ? a.webhooks.join(',') : a.webhooks, a.alertmanagerUrl) }
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message })
        return z.NEVER
      }
    })
    .default({ intervalS: 10, evaluate: true, receivers: [] }),
})

/**
 * Validates dashboard options.
 * @throws Error `fusebox-dashboard: invalid options:` followed by one `  option: message` line per problem (values are
 *   never echoed: they may be tokens)
 */
export function parseDashboardOptions(options: DashboardOptions): z.infer<typeof OptionsSchema> {
  const result = OptionsSchema.safeParse(options)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'options'}: ${i.message}`)
    throw new Error(`fusebox-dashboard: invalid options:\n${lines.join('\n')}`)
  }
  return result.data
}

/** The prebuilt PWA: `public/` next to the package's `dist/`, or the repo's `dist/`. */
function defaultStaticDir(): string {
  return fileURLToPath(new URL(typeof FUSEBOX_PACKAGE_VERSION === 'string' ? '../public' : '../../dist', import.meta.url))
}

/**
 * A client that fails fast while Redis is away, so the dashboard hears "503 Redis is unreachable" within ~2 s —
 * before its own timeouts (the service worker waits 3 s, the session check 5 s) give up and call it offline. ioredis
 * 6's default reconnect delay grows to 5 s and a queued command waits for `maxRetriesPerRequest + 1` failed attempts
 * (up to ~15 s with 2); here attempts are at most 1 s apart and a command waits for at most 2 of them, or 2 s on a
 * hung server.
 */
function openRedis(url: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: SERVER_COMMAND_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    connectionName: 'fusebox-server',
  })
  redis.on('error', (e: Error) => console.error(`[fusebox] redis: ${e.message}`))
  return redis
}

/** A command the server sends gives up after this long on a hung server, ms (standalone and every cluster node). */
const SERVER_COMMAND_TIMEOUT_MS = 2000
/** How often a server's Cluster client re-reads the slot map (CLUSTER SLOTS), ms. */
const CLUSTER_SLOTS_REFRESH_MS = 2000
/** Reconnect delay after the `times`-th failed attempt: 50 ms doubling, at most 1 s. */
const reconnectDelayMs = (times: number): number => Math.min(2 ** (times - 1) * 50, 1000)

/**
 * The Cluster counterpart of `openRedis`, failing as fast (docs/decisions/028): while the cluster as a whole is not
 * connected (start-up, every node lost) a command fails at once ("Cluster isn't ready…", no offline queue to wait in)
 * and the cluster reconnects at most 1 s apart; a command on a hung node gives up after 2 s (`commandTimeout`, per
 * node). What ioredis can retry it retries within that budget: MOVED/ASK are followed (slots refreshed), TRYAGAIN,
 * CLUSTERDOWN and a closed node connection are retried 100 ms apart, at most `maxRedirections` (16) times — ~1.6 s —
 * before the command fails and the API maps it to 503 (redisUnavailable.ts). The slot map is re-read every 2 s, so a
 * hung master's slots move to its promoted replica without waiting for a MOVED. `scaleReads: 'master'`: every read goes
 * to the slot's master, so a read sees the write just made (a replica lags).
 */
export function openCluster(seeds: ClusterSeeds, connectionName = 'fusebox-server'): Cluster {
  const cluster = new Cluster(seeds.nodes, {
    scaleReads: 'master',
    enableOfflineQueue: false,
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: 1000,
    // ioredis refreshes its slot map only on MOVED/CLUSTERDOWN unless told to: a master that hangs (no reply, so no
    // MOVED) would keep its slots' commands timing out after its replica took over. One CLUSTER SLOTS every 2 s per
    // server bounds that to ~2 s after the promotion.
    slotsRefreshInterval: CLUSTER_SLOTS_REFRESH_MS,
    clusterRetryStrategy: reconnectDelayMs,
    redisOptions: {
      ...seeds.redisOptions,
      maxRetriesPerRequest: 1,
      commandTimeout: SERVER_COMMAND_TIMEOUT_MS,
      connectTimeout: SERVER_COMMAND_TIMEOUT_MS,
      connectionName,
    },
  })
  cluster.on('error', (e: Error) => console.error(`[fusebox] redis cluster: ${withClusterCause(e).message}`))
  cluster.on('node error', (e: Error, node: string) => console.error(`[fusebox] redis cluster node ${node}: ${e.message}`))
  return cluster
}

/** The client a validated `redis` option stands for: opened here (owned) for a URL or seeds, else the host's. */
function clientOf(option: string | RedisClient | { cluster: ClusterSeeds }): { redis: RedisClient; owned: boolean } {
  if (typeof option === 'string') return { redis: openRedis(option), owned: true }
  // Checked first: a client has a `cluster` method (the CLUSTER command), so `'cluster' in` alone would not tell.
  if (isRedisClient(option)) return { redis: option, owned: false }
  return { redis: openCluster((option as { cluster: ClusterSeeds }).cluster), owned: true }
}

/** `promise`'s value, or undefined once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Redis QUIT waits at most this long in `close()`, then the connection is dropped; a janitor run gets as long. */
const REDIS_QUIT_MS = 1000

/**
 * Builds a dashboard (see the module comment) and starts its janitor.
 * @throws Error listing every invalid option (`parseDashboardOptions`), or a token or token name configured twice
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const o = parseDashboardOptions(options)
  const { redis, owned } = clientOf(o.redis)
  const keys = createKeySpace(o.keyPrefix)
  let auth: Auth
  try {
    auth = new Auth(redis, keys, o.operatorTokens, o.viewerTokens, o.sessionTtlS, {
      loginLinks: o.loginLinks ?? (o.operatorTokens.length === 0 && o.viewerTokens.length === 0 && o.authenticate === undefined),
    })
  } catch (e) {
    if (owned) redis.disconnect()
    throw new Error(`fusebox-dashboard: invalid options: ${(e as Error).message}`)
  }
  const auditRetentionMs = o.auditRetentionDays * 86_400_000
  const hub = createOverviewHub(redis, keys)
  const http: HttpOptions = {
    staticDir: o.staticDir ?? defaultStaticDir(),
    metricsToken: o.metricsToken,
    metricsFleet: o.metricsFleet,
    trustProxy: o.trustProxy,
    publicUrl: o.publicUrl,
    basePath: o.basePath,
  }
  const evaluator = o.alerts.evaluate
    ? new AlertEvaluator({ redis, keys, receivers: o.alerts.receivers, intervalMs: o.alerts.intervalS * 1000, externalUrl: `${(o.publicUrl ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')}${o.basePath ?? ''}` })
    : null
  const app = createHttpApp(
    {
      redis,
      keys,
      auth,
      tls: o.publicUrl?.startsWith('https://') ?? false,
      hub,
      auditRetention: { retentionMs: auditRetentionMs, maxEntries: STREAM_CAPS.audit },
      readOnly: o.readOnly,
      alerting: { receivers: o.alerts.receivers, intervalMs: o.alerts.intervalS * 1000, holding: evaluator ? () => evaluator.holding : undefined },
      hostAuth: o.authenticate
        ? { authenticate: o.authenticate as (req: IncomingMessage) => unknown, timeoutMs: o.authenticateTimeoutMs, fallback: o.fallbackToTokens }
        : undefined,
    },
    http,
  )
  // Prunes what gone instances and services leave in Redis (janitor.ts, docs/decisions/018); every server runs one.
  const janitor = new Janitor({ redis, keys, clock: Date.now, onPruned: countPruned, auditRetentionMs })
  janitor.start()
  evaluator?.start()

  let closing: Promise<void> | null = null
  const endLiveStreams = (): number => {
    hub.close()
    return closeLiveStreams(app)
  }
  return {
    app,
    redis,
    acceptsLoginLinks: auth.acceptsLoginLinks,
    issueLoginLink: () => issueLoginLink(redis, keys),
    endLiveStreams,
    close: () =>
      (closing ??= (async () => {
        endLiveStreams()
        // A janitor run in flight ends, and the fleet exporter lease is given up for another replica, before Redis is
        // closed (together ≤ 1 s).
        // The alerts lease too, so another server evaluates at once.
        await within(Promise.all([janitor.stop(), closeMetrics(app), evaluator?.stop()]), REDIS_QUIT_MS)
        if (!owned) return
        try {
          const quit = await within(redis.quit(), REDIS_QUIT_MS)
          if (quit === undefined) redis.disconnect()
        } catch {
          redis.disconnect()
        }
      })()),
  }
}

