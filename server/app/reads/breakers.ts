/**
 * Breakers as the dashboard shows them: the cluster state (worst live instance) and its disagreement ("OPEN on
 * 1/3"), each instance's own report (state, rolling stats, effective options), the generation of the latest
 * command and how many instances applied it, the state timeline, and the status of one issued command over the
 * fixed set of instances it was issued to (docs/decisions/017).
 */
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { z } from 'zod'
import { BreakerCommand, BreakerInstanceReport, DesiredBreakerState, Name, type BreakerState, type BreakerSummary, type InstanceHealth } from '../../../shared/schemas'
import { readInstances, readServiceNames } from './instances'
import { isWrongType, readKey, reportInvalidValue } from './redisInput'
import { eventEntry, readStreamPage, type EventEntry } from './streams'

/** Severity order used for a breaker's cluster state: the worst live instance wins. */
const SEVERITY: Record<BreakerState, number> = { CLOSED: 0, FORCED_CLOSED: 1, HALF_OPEN: 2, OPEN: 3, FORCED_OPEN: 4 }

/**
 * Every report in a breaker's state hash (`key`, field = instance, value = BreakerInstanceReport JSON) that parses,
 * by instance. A field that is not JSON or not a report is skipped and counted (`breaker_record`, logged once per
 * key): Redis is an input (docs/decisions/014).
 */
function reportsByInstance(key: string, hash: Record<string, string>): Map<string, BreakerInstanceReport> {
  const out = new Map<string, BreakerInstanceReport>()
  for (const [field, json] of Object.entries(hash)) {
    let parsed: ReturnType<typeof BreakerInstanceReport.safeParse> | null = null
    try {
      parsed = BreakerInstanceReport.safeParse(JSON.parse(json))
    } catch {
      // not JSON: reported below
    }
    if (parsed?.success) out.set(parsed.data.instance, parsed.data)
    else reportInvalidValue('breaker_record', key, `field ${field} is not a breaker report`)
  }
  return out
}

/** The reports of the `live` instances in a breaker's state hash, sorted by instance (see `reportsByInstance`). */
function parseReports(key: string, hash: Record<string, string>, live: ReadonlySet<string>): BreakerInstanceReport[] {
  return [...reportsByInstance(key, hash).values()].filter((r) => live.has(r.instance)).sort((a, b) => a.instance.localeCompare(b.instance))
}

/**
 * A desired-state hash (`key`) parsed, or null when it is empty (no command yet) or not one the command script
 * writes — then skipped and counted (`breaker_record`), so it reads as no command.
 */
function parseDesired(key: string, hash: Record<string, string>): DesiredBreakerState | null {
  if (Object.keys(hash).length === 0) return null
  const parsed = DesiredBreakerState.safeParse(hash)
  if (parsed.success) return parsed.data
  reportInvalidValue('breaker_record', key, 'not a desired breaker state')
  return null
}

/**
 * A single-key HGETALL, `{}` when the key holds another type (counted as `wrong_type`, see `readKey`).
 * @throws any other Redis error
 */
const readHash = (redis: RedisClient, key: string): Promise<Record<string, string>> => readKey(key, () => redis.hgetall(key), {})

/**
 * Summarises one breaker from its per-instance reports and desired state (null: no command yet, or unreadable;
 * its generation then counts as 0).
 */
export function summarise(service: string, name: string, reports: BreakerInstanceReport[], desired: DesiredBreakerState | null): BreakerSummary {
  const desiredGeneration = desired?.generation ?? 0
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
 * Redis is an input (docs/decisions/014): a breakers set of the wrong type reads as no breakers; a member that is
 * not a valid name is left out (`breaker_record`); a state or desired hash of the wrong type reads as empty (no
 * reports, no command); a report or desired state its schema refuses is skipped — each counted and logged once.
 * @throws other Redis errors (unreachable, NOPERM …)
 */
export async function readServiceBreakers(redis: RedisClient, keys: KeySpace, service: string, live: ReadonlySet<string>): Promise<BreakerSummary[]> {
  const setKey = keys.breakers(service)
  const members = await readKey(setKey, () => redis.smembers(setKey), [])
  const names = members.filter((m) => {
    if (Name.safeParse(m).success) return true
    reportInvalidValue('breaker_record', setKey, `member ${JSON.stringify(m)} is not a breaker name`)
    return false
  }).sort()
  if (names.length === 0) return []
  const p = redis.pipeline()
  for (const name of names) p.hgetall(keys.breakerState(service, name)).hgetall(keys.breakerDesired(service, name))
  const results = (await p.exec()) ?? []
  /** The hash the `i`-th command of the pipeline read from `key`: `{}` for a key of the wrong type (counted). */
  const hashAt = (i: number, key: string): Record<string, string> => {
    const [err, value] = results[i] ?? [null, {}]
    if (!err) return (value ?? {}) as Record<string, string>
    if (!isWrongType(err)) throw err
    reportInvalidValue('wrong_type', key, err.message)
    return {}
  }
  return names.map((name, i) => {
    const stateKey = keys.breakerState(service, name)
    const desiredKey = keys.breakerDesired(service, name)
    const state = hashAt(2 * i, stateKey)
    const desired = hashAt(2 * i + 1, desiredKey)
    return summarise(service, name, parseReports(stateKey, state, live), parseDesired(desiredKey, desired))
  })
}

/** Every breaker of the given services (live instances only), sorted by service then name; services in parallel. */
export async function readBreakers(redis: RedisClient, keys: KeySpace, services: string[], nowMs: number): Promise<BreakerSummary[]> {
  const perService = await Promise.all(
    services.map(async (service) =>
      readServiceBreakers(redis, keys, service, liveInstances(await readInstances(redis, keys, service, nowMs))),
    ),
  )
  return perService.flat()
}

/** Every breaker of `service`, or of every service when it is omitted (see `readBreakers`). */
export async function readBreakerList(redis: RedisClient, keys: KeySpace, service: string | undefined, nowMs: number): Promise<BreakerSummary[]> {
  return readBreakers(redis, keys, service ? [service] : await readServiceNames(redis, keys), nowMs)
}

/**
 * One breaker with its state timeline over `[untilMs - windowMs, untilMs]` (`untilMs` default `nowMs`; transitions and
 * commands, newest first, at most `timelineLimit`) and its state now; reads only that breaker's hashes. Null when no instance ever registered it (or the breakers set is of the wrong
 * type). Corrupt keys and values are skipped as in `readServiceBreakers`.
 * @throws Redis errors other than WRONGTYPE
 */
export async function readBreakerDetail(
  redis: RedisClient,
  keys: KeySpace,
  service: string,
  name: string,
  nowMs: number,
  windowMs: number,
  timelineLimit = 200,
  untilMs = nowMs,
): Promise<{ summary: BreakerSummary; timeline: EventEntry[] } | null> {
  const setKey = keys.breakers(service)
  if ((await readKey(setKey, () => redis.sismember(setKey, name), 0)) !== 1) return null
  const stateKey = keys.breakerState(service, name)
  const desiredKey = keys.breakerDesired(service, name)
  const [instances, state, desired, page] = await Promise.all([
    readInstances(redis, keys, service, nowMs),
    readHash(redis, stateKey),
    readHash(redis, desiredKey),
    readStreamPage(redis, keys.events(service), { limit: timelineLimit, fromMs: untilMs - windowMs, toMs: untilMs }, (e) => eventEntry(e, { breaker: name })),
  ])
  return {
    summary: summarise(service, name, parseReports(stateKey, state, liveInstances(instances)), parseDesired(desiredKey, desired)),
    timeline: page.entries,
  }
}

/**
 * A target of a command is `gone` (left out of the denominator, still listed) once its last heartbeat is older
 * than this: 5 minutes, in ms — far beyond the 30 s a dashboard follows a command, and beyond a restart's gap.
 */
export const COMMAND_TARGET_GONE_AFTER_MS = 5 * 60_000

/**
 * Where one target of a command stands: `applied` (it reported the command's generation or a newer one),
 * `pending` (live — heartbeat within `MISSED_HEARTBEATS_DOWN` heartbeat intervals — and not applied yet),
 * `unreachable` (not applied, no heartbeat for longer than that, but for less than `COMMAND_TARGET_GONE_AFTER_MS`),
 * `gone` (not applied, no heartbeat for longer than `COMMAND_TARGET_GONE_AFTER_MS`, or no longer registered).
 */
export type CommandTargetState = 'applied' | 'pending' | 'unreachable' | 'gone'

/** One instance of a command's fixed target set and where it stands. Times epoch ms. */
export interface CommandTargetStatus {
  instance: string
  state: CommandTargetState
  /** Generation its latest report says it applied; null without a (valid) report. */
  appliedGeneration: number | null
  /** Breaker state in its latest report; null without one. */
  breakerState: BreakerState | null
  /** Its last heartbeat; null when it is no longer registered. */
  lastSeenMs: number | null
}

/**
 * Progress of one issued command over the fixed set of instances it must reach (recorded when it was issued).
 * `targetCount` excludes `gone` targets; `pendingCount` includes the unreachable ones (named in `unreachable`).
 * `complete` only when every target not gone has applied it (and there is at least one).
 */
export interface CommandStatus {
  commandId: string
  breaker: string
  command: string
  /** `*` for every instance, else the one instance the command is for. */
  target: string
  generation: number
  issuedAtMs: number
  /** Each instance of the target set, sorted by name. */
  targets: CommandTargetStatus[]
  /** False for a record written before target sets were recorded: its targets are the instances live now. */
  targetsFixed: boolean
  /** Targets not gone (the denominator of "n/m applied"). */
  targetCount: number
  appliedCount: number
  /** Targets neither applied nor gone (pending or unreachable). */
  pendingCount: number
  /** Names of the unreachable targets (among the pending ones). */
  unreachable: string[]
  /** Names of the gone targets (shown, not counted). */
  gone: string[]
  /** Every target not gone applied it, and there is at least one such target. Never true early. */
  complete: boolean
  /** A newer command for the same breaker and target exists: this one is "applied or superseded". */
  superseded: boolean
}

/** A stored command record (`P:{svc}:command:<id>`), validated: Redis is an input. */
const CommandRecord = z.object({
  breaker: Name,
  command: BreakerCommand,
  target: z.union([z.literal('*'), Name]).default('*'),
  generation: z.coerce.number().int().nonnegative(),
  issuedAtMs: z.coerce.number().int().nonnegative().default(0),
  /** JSON array of instance names; absent in records written before decision 017. */
  targets: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return null
      try {
        return z.array(Name).max(10_000).parse(JSON.parse(s))
      } catch {
        ctx.addIssue({ code: 'custom', message: 'targets is not a JSON array of names' })
        return z.NEVER
      }
    }),
})

/**
 * Status of a command by id over its fixed target set, as of `nowMs`; null when unknown (expired after 7 days,
 * never issued) or when its record is not one Fusebox could have written (counted as `breaker_record`) or of the
 * wrong type (`wrong_type`). A state or desired hash of the wrong type reads as empty (its targets show as not
 * applied; not superseded), a report that does not parse as no report.
 * @throws Redis errors other than WRONGTYPE
 */
export async function readCommandStatus(redis: RedisClient, keys: KeySpace, service: string, commandId: string, nowMs: number): Promise<CommandStatus | null> {
  const recordKey = keys.command(service, commandId)
  const raw = await readHash(redis, recordKey)
  if (Object.keys(raw).length === 0) return null
  const parsed = CommandRecord.safeParse(raw)
  if (!parsed.success) {
    reportInvalidValue('breaker_record', recordKey, 'not a command record')
    return null
  }
  const record = parsed.data
  const stateKey = keys.breakerState(service, record.breaker)
  const desiredKey = keys.breakerDesired(service, record.breaker, record.target === '*' ? undefined : record.target)
  const [instances, stateHash, desiredHash] = await Promise.all([
    readInstances(redis, keys, service, nowMs),
    readHash(redis, stateKey),
    readHash(redis, desiredKey),
  ])
  const reports = reportsByInstance(stateKey, stateHash)
  const byName = new Map(instances.map((i) => [i.instance, i]))
  const live = liveInstances(instances)
  // A legacy record: the instances live now and reporting the breaker (what "n/m" meant before 017).
  const names = record.targets ?? [...reports.keys()].filter((i) => live.has(i) && (record.target === '*' || i === record.target))
  const targets = [...new Set(names)].sort().map((instance): CommandTargetStatus => {
    const report = reports.get(instance)
    const info = byName.get(instance)
    let state: CommandTargetState
    if (report && report.appliedGeneration >= record.generation) state = 'applied'
    else if (info?.up) state = 'pending'
    else if (info && nowMs - info.lastSeenMs <= COMMAND_TARGET_GONE_AFTER_MS) state = 'unreachable'
    else state = 'gone'
    return {
      instance,
      state,
      appliedGeneration: report?.appliedGeneration ?? null,
      breakerState: report?.state ?? null,
      lastSeenMs: info?.lastSeenMs ?? null,
    }
  })
  const count = (s: CommandTargetState) => targets.filter((t) => t.state === s).length
  const gone = targets.filter((t) => t.state === 'gone').map((t) => t.instance)
  const targetCount = targets.length - gone.length
  const appliedCount = count('applied')
  const latest = parseDesired(desiredKey, desiredHash)
  return {
    commandId,
    breaker: record.breaker,
    command: record.command,
    target: record.target,
    generation: record.generation,
    issuedAtMs: record.issuedAtMs,
    targets,
    targetsFixed: record.targets !== null,
    targetCount,
    appliedCount,
    pendingCount: count('pending') + count('unreachable'),
    unreachable: targets.filter((t) => t.state === 'unreachable').map((t) => t.instance),
    gone,
    complete: targetCount > 0 && appliedCount === targetCount,
    superseded: latest !== null && latest.generation > record.generation,
  }
}
