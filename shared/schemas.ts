/**
 * Zod schemas and types shared by the SDK, the server and the dashboard: names, breaker states and commands,
 * the per-instance breaker report the SDK writes to Redis, and the overview snapshot the API returns.
 */
import { z } from 'zod'
import { NAME_PATTERN } from './vocabulary'

/** A service, instance or breaker name (1–64 of `A-Z a-z 0-9 . _ -`). */
export const Name = z.string().regex(NAME_PATTERN, { error: 'use 1–64 characters of A-Z a-z 0-9 . _ -' })

/** Breaker states: opossum's three plus the two sticky operator overrides. */
export const BREAKER_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN', 'FORCED_OPEN', 'FORCED_CLOSED'] as const
export const BreakerState = z.enum(BREAKER_STATES)
export type BreakerState = z.infer<typeof BreakerState>

/** Operator commands on a breaker. `reset` is one-shot; the others set a sticky mode. */
export const BREAKER_COMMANDS = ['reset', 'forceOpen', 'forceClosed', 'release'] as const
export const BreakerCommand = z.enum(BREAKER_COMMANDS)
export type BreakerCommand = z.infer<typeof BreakerCommand>

/** Sticky mode an operator set: NORMAL (opossum decides), FORCED_OPEN or FORCED_CLOSED. */
export const BreakerMode = z.enum(['NORMAL', 'FORCED_OPEN', 'FORCED_CLOSED'])
export type BreakerMode = z.infer<typeof BreakerMode>

/**
 * Desired state of one breaker, stored in Redis (hash `breakerDesired`). `generation` comes from one counter per
 * breaker, taken by the server's ISSUE_LUA script in the same atomic step that writes this record, and always above
 * both records' current generations (server/app/breakerCommands.ts); an instance applies a command only when its
 * generation is newer than the one it last applied. Numbers arrive from Redis as strings, hence the coercion.
 */
export const DesiredBreakerState = z.object({
  generation: z.coerce.number().int().nonnegative(),
  mode: BreakerMode,
  command: BreakerCommand,
  commandId: z.string(),
  issuedAtMs: z.coerce.number(),
  actor: z.string(),
  reason: z.string(),
  /** `*` for every instance, else the one instance the command is for. */
  target: z.string().default('*'),
})
export type DesiredBreakerState = z.infer<typeof DesiredBreakerState>

/** Pub/sub nudge on the control channel; carries no authority, only "reconcile breaker X now". */
export const ControlNudge = z.object({ breaker: Name, generation: z.number().int().nonnegative() })
export type ControlNudge = z.infer<typeof ControlNudge>

/** Rolling counts of one breaker on one instance (opossum's rolling window). */
export const BreakerStats = z.object({
  fires: z.number(),
  successes: z.number(),
  failures: z.number(),
  timeouts: z.number(),
  rejects: z.number(),
  fallbacks: z.number(),
})
export type BreakerStats = z.infer<typeof BreakerStats>

/** Effective options of a breaker, ms where a duration (opossum's names). */
export const BreakerOptionsReport = z.object({
  timeoutMs: z.number().nullable(),
  errorThresholdPercentage: z.number(),
  resetTimeoutMs: z.number(),
  volumeThreshold: z.number(),
  rollingCountTimeoutMs: z.number(),
})
export type BreakerOptionsReport = z.infer<typeof BreakerOptionsReport>

/** What one instance reports about one breaker (JSON in hash `breakerState`, field = instance). */
export const BreakerInstanceReport = z.object({
  instance: Name,
  state: BreakerState,
  appliedGeneration: z.number().int().nonnegative(),
  stats: BreakerStats,
  options: BreakerOptionsReport,
  lastTransitionAtMs: z.number(),
  lastTransitionReason: z.string(),
  updatedAtMs: z.number(),
})
export type BreakerInstanceReport = z.infer<typeof BreakerInstanceReport>

/** Process health one instance reports with each heartbeat. */
export interface InstanceHealth {
  instance: string
  pid: number
  version: string
  startedAtMs: number
  lastSeenMs: number
  heapUsedBytes: number
  rssBytes: number
  up: boolean
}

/**
 * Request figures over a window, as shared/figures.ts defines them (docs/METRICS.md): how many requests, throughput
 * in requests per second over the covered span, error rate as a fraction 0–1, and latency percentiles in ms from
 * the merged histogram of exactly the same buckets (±1 % relative, α of shared/histogram.ts).
 */
export interface SeriesStats {
  requests: number
  errors: number
  /** `requests ÷ covered seconds`; null when the window has no data (no instance flushed any of its buckets). */
  throughputRps: number | null
  /** `errors ÷ requests`; null when there were no requests. */
  errorRate: number | null
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
  /** The covered span, ms: the buckets some instance flushed (the open one by its elapsed part). */
  coveredMs: number
  /** Start of the first bucket with data (epoch ms), null when none: a window that starts earlier says "data since". */
  dataSinceMs: number | null
}

/**
 * One point of a request series (one time bucket). A bucket no instance flushed is a gap: every figure null and
 * `noData` true; a flushed bucket with no requests has throughput 0 and the rest null.
 */
export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  t: number
  noData: boolean
  throughputRps: number | null
  errorRate: number | null
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
}

/** A breaker across the cluster: summary state plus each instance's own report. */
export interface BreakerSummary {
  service: string
  name: string
  /** Most severe state across live instances (FORCED_OPEN > OPEN > HALF_OPEN > FORCED_CLOSED > CLOSED). */
  clusterState: BreakerState
  /** Live instances in `clusterState`, and live instances reporting this breaker: "OPEN on 1/2". */
  inClusterState: number
  instancesReporting: number
  /** Generation of the latest command and how many live instances have applied it. */
  desiredGeneration: number
  appliedCount: number
  instances: BreakerInstanceReport[]
}

/** Overview of one service over a window (`windowMs`, ms): its totals (see SeriesStats), instances and series. */
export interface ServiceOverview extends SeriesStats {
  service: string
  windowMs: number
  /** Width of the buckets the figures and `series` come from (the window's tier), ms. */
  bucketMs: number
  instances: InstanceHealth[]
  series: SeriesPoint[]
}

/** What the dashboard renders: every service's overview and every breaker, as of `asOfMs`. */
export interface OverviewSnapshot {
  asOfMs: number
  services: ServiceOverview[]
  breakers: BreakerSummary[]
}

/** Roles: viewer reads; operator reads and issues commands. */
export const Role = z.enum(['viewer', 'operator'])
export type Role = z.infer<typeof Role>

/** Owned by the vocabulary (zod-free, so the dashboard can import it without zod); re-exported for the server. */
export { ENDPOINTS_MAX_LIMIT } from './vocabulary'
