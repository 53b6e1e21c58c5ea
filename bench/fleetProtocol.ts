/**
 * The messages between the `fleet` benchmark (bench/fleet.ts) and its child processes (bench/fleetChild.ts), and the
 * collector option both build from a target. A module of its own, so the parent imports no child code.
 */
import type { RedisOption } from '../server/sdk/index'

/** Where the collectors connect: a single node's URL, or a cluster's seeds (`host:port,…`). */
export type FleetTarget = { kind: 'single'; url: string } | { kind: 'cluster'; seeds: string }

/** parent → child: the collectors this process runs. */
export interface FleetChildStart {
  type: 'start'
  target: FleetTarget
  prefix: string
  /** Service and instance name of each collector. */
  collectors: { service: string; instance: string }[]
  /** Routes per instance (`/api/v1/r<i>/:id`). */
  routes: number
  /** Requests each route gets per 10 s bucket on each instance (spread evenly over the 10 s). */
  requestsPerRoutePer10s: number
  /** Flush cadence (ms) driven by this process; each collector has its own phase inside it. */
  flushEveryMs: number
  seed: number
}

/** child → parent: what was measured since the last `measure`. */
export interface FleetChildReport {
  type: 'report'
  /** Wall time (ms) of each `await collector.flush()` (see module comment). */
  flushMs: number[]
  /** `stats.lastFlushDurationMs` (ms) read after each of those flushes. */
  sdkFlushMs: number[]
  /** Where in its 10 s bucket each of those flushes started: `Date.now() % 10,000` (ms). */
  flushPhaseMs: number[]
  /** Ticks skipped because that collector's previous flush had not resolved. */
  overruns: number
  /** Sum over collectors of `stats.flushErrors` / `failedFlushCommands` / `skippedFlushes` since `measure`. */
  flushErrors: number
  failedFlushCommands: number
  skippedFlushes: number
  /** Requests recorded since `measure`. */
  requests: number
  /** The first errors the collectors reported through `onError` (at most 5), for the table's notes. */
  errorSamples: string[]
  /** This process's CPU time (user + system, ms) since `measure`. */
  cpuMs: number
  /** This process's event-loop delay since `measure` (monitorEventLoopDelay, 10 ms sampling; as sampled), ms. */
  eventLoopP99Ms: number
  eventLoopMaxMs: number
}

/** The collector's `redis` option for the target: a URL, or `{ cluster: seeds }` (each collector opens its own connections). */
export function redisOption(target: FleetTarget): RedisOption {
  return target.kind === 'single' ? target.url : { cluster: target.seeds }
}

