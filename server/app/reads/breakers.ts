/**
 * Breakers as the dashboard shows them: the cluster state (worst live instance) and its disagreement ("OPEN on
 * 1/3"), each instance's own report (state, rolling stats, effective options), the generation of the latest
 * command and how many instances applied it, the state timeline, and the status of one issued command.
 */
import type { Redis } from 'ioredis'
import type { KeySpace } from '../../../shared/keys'
import { BreakerInstanceReport, DesiredBreakerState, type BreakerState, type BreakerSummary, type InstanceHealth } from '../../../shared/schemas'
import { readInstances, readServiceNames } from './instances'
import { eventEntry, readStreamPage, type EventEntry } from './streams'

/** Severity order used for a breaker's cluster state: the worst live instance wins. */
const SEVERITY: Record<BreakerState, number> = { CLOSED: 0, FORCED_CLOSED: 1, HALF_OPEN: 2, OPEN: 3, FORCED_OPEN: 4 }

function parseReports(hash: Record<string, string>, live: ReadonlySet<string>): BreakerInstanceReport[] {
  const reports: BreakerInstanceReport[] = []
  for (const json of Object.values(hash)) {
    try {
      const parsed = BreakerInstanceReport.safeParse(JSON.parse(json))
      if (parsed.success && live.has(parsed.data.instance)) reports.push(parsed.data)
    } catch {
      // A corrupt report is skipped, not fatal for the list.
    }
  }
  return reports.sort((a, b) => a.instance.localeCompare(b.instance))
}

/** Summarises one breaker from its per-instance reports and desired state. */
export function summarise(service: string, name: string, reports: BreakerInstanceReport[], desiredHash: Record<string, string>): BreakerSummary {
  const desired = DesiredBreakerState.safeParse(desiredHash)
  const desiredGeneration = desired.success ? desired.data.generation : 0
  let clusterState: BreakerState = 'CLOSED'
  for (const r of reports) if (SEVERITY[r.state] > SEVERITY[clusterState]) clusterState = r.state
  return {
    service,
    name,
    clusterState,
    inClusterState: reports.filter((r) => r.state === clusterState).length,
    instancesReporting: reports.length,
    desiredGeneration,
    appliedCount: reports.filter((r) => r.appliedGeneration >= desiredGeneration).length,
    instances: reports,
  }
}

/** Names of the live instances among `instances`. */
export function liveInstances(instances: readonly InstanceHealth[]): Set<string> {
  return new Set(instances.filter((i) => i.up).map((i) => i.instance))
}

/**
 * Every breaker of one service as reported by its `live` instances, sorted by name: one SMEMBERS and one pipeline
 * (state and desired hash per breaker). The caller has read the service's instances already.
 * @throws Redis errors, including a per-command error in the pipeline
 */
export async function readServiceBreakers(redis: Redis, keys: KeySpace, service: string, live: ReadonlySet<string>): Promise<BreakerSummary[]> {
  const names = (await redis.smembers(keys.breakers(service))).sort()
  if (names.length === 0) return []
  const p = redis.pipeline()
  for (const name of names) p.hgetall(keys.breakerState(service, name)).hgetall(keys.breakerDesired(service, name))
  const results = (await p.exec()) ?? []
  return names.map((name, i) => {
    const [e1, state] = results[2 * i] ?? [null, {}]
    const [e2, desired] = results[2 * i + 1] ?? [null, {}]
    if (e1 || e2) throw e1 ?? e2
    return summarise(service, name, parseReports(state as Record<string, string>, live), desired as Record<string, string>)
  })
}

/** Every breaker of the given services (live instances only), sorted by service then name; services in parallel. */
export async function readBreakers(redis: Redis, keys: KeySpace, services: string[], nowMs: number): Promise<BreakerSummary[]> {
  const perService = await Promise.all(
    services.map(async (service) =>
      readServiceBreakers(redis, keys, service, liveInstances(await readInstances(redis, keys, service, nowMs))),
    ),
  )
  return perService.flat()
}

/** Every breaker of `service`, or of every service when it is omitted (see `readBreakers`). */
export async function readBreakerList(redis: Redis, keys: KeySpace, service: string | undefined, nowMs: number): Promise<BreakerSummary[]> {
  return readBreakers(redis, keys, service ? [service] : await readServiceNames(redis, keys), nowMs)
}

/**
 * One breaker with its recent state timeline (transitions and commands, newest first, at most `timelineLimit`);
 * reads only that breaker's hashes. Null when no instance ever registered it.
 */
export async function readBreakerDetail(
  redis: Redis,
  keys: KeySpace,
  service: string,
  name: string,
  nowMs: number,
  windowMs: number,
  timelineLimit = 200,
): Promise<{ summary: BreakerSummary; timeline: EventEntry[] } | null> {
  if ((await redis.sismember(keys.breakers(service), name)) !== 1) return null
  const [instances, state, desired, page] = await Promise.all([
    readInstances(redis, keys, service, nowMs),
    redis.hgetall(keys.breakerState(service, name)),
    redis.hgetall(keys.breakerDesired(service, name)),
    readStreamPage(redis, keys.events(service), { limit: timelineLimit, fromMs: nowMs - windowMs }, (e) => eventEntry(e, { breaker: name })),
  ])
  return { summary: summarise(service, name, parseReports(state, liveInstances(instances)), desired), timeline: page.entries }
}

/** Progress of one issued command: how many of the targeted live instances have applied it (or a newer one). */
export interface CommandStatus {
  commandId: string
  breaker: string
  command: string
  target: string
  generation: number
  issuedAtMs: number
  /** Live instances the command is for ('*' = every live instance reporting the breaker). */
  targetCount: number
  appliedCount: number
  /** A newer command for the same breaker and target exists: this one is "applied or superseded". */
  superseded: boolean
  instances: { instance: string; appliedGeneration: number; applied: boolean; state: BreakerState }[]
}

/** Status of a command by id, or null when unknown (expired after 7 days, or never issued). */
export async function readCommandStatus(redis: Redis, keys: KeySpace, service: string, commandId: string, nowMs: number): Promise<CommandStatus | null> {
  const record = await redis.hgetall(keys.command(service, commandId))
  if (!record.breaker) return null
  const breaker = record.breaker
  const target = record.target ?? '*'
  const generation = Number(record.generation)
  const [instances, stateHash, desiredHash] = await Promise.all([
    readInstances(redis, keys, service, nowMs),
    redis.hgetall(keys.breakerState(service, breaker)),
    redis.hgetall(keys.breakerDesired(service, breaker, target === '*' ? undefined : target)),
  ])
  const reports = parseReports(stateHash, liveInstances(instances)).filter((r) => target === '*' || r.instance === target)
  const latest = DesiredBreakerState.safeParse(desiredHash)
  return {
    commandId,
    breaker,
    command: record.command ?? '',
    target,
    generation,
    issuedAtMs: Number(record.issuedAtMs ?? 0),
    targetCount: reports.length,
    appliedCount: reports.filter((r) => r.appliedGeneration >= generation).length,
    superseded: latest.success && latest.data.generation > generation,
    instances: reports.map((r) => ({ instance: r.instance, appliedGeneration: r.appliedGeneration, applied: r.appliedGeneration >= generation, state: r.state })),
  }
}
