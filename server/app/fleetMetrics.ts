/**
 * The fleet on `/metrics` (issue #12 "Metrics Grafana can use", docs/decisions/026, docs/METRICS.md "Prometheus and
 * Grafana"): what the collectors gathered, read from Redis at scrape time and rendered in the Prometheus text
 * exposition format 0.0.4 here — prom-client cannot expose a counter at an absolute value someone else counted.
 *
 * Two sources, both per service of `P:services` (sorted, at most `maxServices`):
 * - the monotonic fleet counters `P:{svc}:counters` (shared/fleetCounters.ts): the request-duration histogram
 *   (OpenTelemetry `http.server.request.duration`), breaker call outcomes and cache events — counters that only go
 *   up and carry no instance label, so `rate()` and `histogram_quantile()` stay right across an instance restart;
 * - the live instances' heartbeats and breaker reports (reads/instances.ts, reads/breakers.ts): gauges per
 *   `service_instance_id` (OTel `service.instance.id`), live instances only, at most `maxInstancesPerService`.
 *
 * Several dashboard replicas read the same Redis; if each exported the fleet, a `sum by (service_name)` over two
 * scrape targets would double. So only the holder of the lease `P:metrics:exporter` exports it (`fleet: 'leader'`,
 * the default): SET NX PX 30 s, renewed by its holder every 10 s (while it is being scraped) and at every scrape, by
 * compare-and-renew in Lua; a dead holder's lease expires and the next scrape (or renewal tick) of another replica
 * takes it. Every replica says which it is in `fusebox_fleet_exporter`.
 *
 * Redis is an input (docs/decisions/014): a counters field or value the contract's parsers refuse, a histogram whose
 * buckets do not add up, or a counters hash beyond the collectors' cap is skipped and counted in
 * `fusebox_redis_invalid_values_total{kind="counters"}`; a key of the wrong type as `wrong_type`.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { RedisClient } from '../sdk/redisTopology'
import {
  DURATION_BOUNDS_S,
  DURATION_BUCKETS,
  MAX_COUNTER_FIELDS_HELD,
  parseCounterField,
  parseCounterValue,
  requestSeriesPrefix,
  type RequestSeriesLabels,
} from '../../shared/fleetCounters'
import type { KeySpace } from '../../shared/keys'
import { BREAKER_STATES, Name } from '../../shared/schemas'
import { QUEUE_STATES } from '../sdk/queueWatch'
import { liveInstances, readServiceBreakers } from './reads/breakers'
import { readQueues, type QueueSummary } from './reads/queues'
import { readInstances, readServiceNames, type InstanceDetail } from './reads/instances'
import { isWrongType, readKey, reportInvalidValue } from './reads/redisInput'

/** Services exported at most per scrape (the first ones by name); the rest are counted in `fusebox_fleet_capped`. */
export const MAX_EXPORTED_SERVICES = 500
/** Live instances exported at most per service (the first ones by name), for the per-instance gauges. */
export const MAX_EXPORTED_INSTANCES_PER_SERVICE = 100
/** Queues exported at most per service (the first ones by name) in `fusebox_queue_*`. */
export const MAX_EXPORTED_QUEUES_PER_SERVICE = 50
/** Breakers exported at most per service (the first ones by name) in `fusebox_breaker_state`. */
export const MAX_EXPORTED_BREAKERS_PER_SERVICE = 200
/** Life of the exporter lease, ms: a holder that stops renewing loses it this long after its last renewal. */
export const EXPORTER_LEASE_TTL_MS = 30_000
/** How often the holder renews its lease (and a replica that is scraped tries to take a free one), ms. */
export const EXPORTER_LEASE_RENEW_MS = 10_000
/**
 * A replica not scraped for this long stops renewing and gives its lease up, ms (a replica Prometheus no longer
 * scrapes must not keep the fleet series from the one it does). Above the longest scrape interval Prometheus
 * advises (2 min, under its 5-min staleness).
 */
export const EXPORTER_IDLE_RELEASE_MS = 120_000

/** Who exports the fleet series (see the module comment); `createMetrics`'s `fleet` option. */
export type FleetMode = 'leader' | 'always' | 'never'

// ── Text exposition ──────────────────────────────────────────────────────────────────────────────────────────────

/** Label values as the text format wants them: `\` → `\\`, `"` → `\"`, newline → `\n` (everything else as is, UTF-8). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'))
}

/** HELP text as the text format wants it: `\` → `\\`, newline → `\n`. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'))
}

/** A sample value: integers as they are, other finite numbers in JS notation (Go's ParseFloat reads both), ±Inf. */
export function formatSampleValue(v: number): string {
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return Number.isNaN(v) ? 'NaN' : String(v)
}

/** Label pairs in order; a pair with an empty value is left out (Prometheus treats an empty label as absent). */
export type Labels = ReadonlyArray<readonly [name: string, value: string]>

function renderLabels(labels: Labels): string {
  const parts: string[] = []
  for (const [k, v] of labels) if (v !== '') parts.push(`${k}="${escapeLabelValue(v)}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

/**
 * One metric family being rendered: `# HELP` and `# TYPE` once, then its samples together (the format requires a
 * family's lines to be contiguous). `sample` takes the full sample name (`…_bucket`, `…_sum`, `…_count` for a
 * histogram).
 */
export class MetricFamily {
  private readonly lines: string[] = []
  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly help: string,
  ) {}

  /** Adds one sample line. */
  sample(sampleName: string, labels: Labels, value: number): void {
    this.lines.push(`${sampleName}${renderLabels(labels)} ${formatSampleValue(value)}`)
  }

  /** How many samples it holds. */
  get size(): number {
    return this.lines.length
  }

  /** The family's text, ending in a newline; '' when it has no samples and `always` is false. */
  render(always = false): string {
    if (this.lines.length === 0 && !always) return ''
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n${this.lines.map((l) => `${l}\n`).join('')}`
  }
}

// ── Reading the fleet ────────────────────────────────────────────────────────────────────────────────────────────

/** One request series read back: stored per-bucket counts (not cumulative), count and sum in µs. */
interface RequestSeries {
  labels: RequestSeriesLabels
  count: number | null
  sumUs: number | null
  buckets: number[]
}

/** A service's counters hash, parsed. */
export interface ServiceCounters {
  requests: Map<string, RequestSeries>
  breakers: Map<string, number>
  caches: Map<string, number>
}

/**
 * Reads and parses one service's counters hash (HLEN, then HGETALL: one atomic snapshot, so a series' buckets add
 * up to its count). A field or value the contract refuses is skipped and counted (`counters`); a hash holding more
 * than MAX_COUNTER_FIELDS_HELD fields is not one the collectors wrote (they cap it) and is skipped whole (counted once).
 * A key of the wrong type reads as empty (`wrong_type`).
 * @throws other Redis errors
 */
export async function readServiceCounters(redis: RedisClient, keys: KeySpace, service: string): Promise<ServiceCounters> {
  const key = keys.counters(service)
  const out: ServiceCounters = { requests: new Map(), breakers: new Map(), caches: new Map() }
  const len = await readKey(key, () => redis.hlen(key), 0)
  if (len === 0) return out
  if (len > MAX_COUNTER_FIELDS_HELD) {
    reportInvalidValue('counters', key, `holds ${len} fields, more than the collectors' cap of ${MAX_COUNTER_FIELDS_HELD}: not exported`)
    return out
  }
  const hash = await readKey(key, () => redis.hgetall(key), {} as Record<string, string>)
  for (const [field, raw] of Object.entries(hash)) {
    const f = parseCounterField(field)
    const value = parseCounterValue(raw)
    if (f === null || value === null) {
      reportInvalidValue('counters', key, f === null ? `field ${JSON.stringify(field)} is not a counter field` : `field ${JSON.stringify(field)} holds ${JSON.stringify(raw)}`)
      continue
    }
    if (f.type === 'breaker') out.breakers.set(`${f.breaker}\t${f.outcome}`, value)
    else if (f.type === 'cache') out.caches.set(`${f.cache}\t${f.kind}`, value)
    else {
      const prefix = requestSeriesPrefix(f.labels)
      let s = out.requests.get(prefix)
      if (!s) out.requests.set(prefix, (s = { labels: f.labels, count: null, sumUs: null, buckets: new Array<number>(DURATION_BUCKETS).fill(0) }))
      if (f.part === 'n') s.count = value
      else if (f.part === 's') s.sumUs = value
      else s.buckets[f.part] = value
    }
  }
  return out
}

/** Everything the fleet families are rendered from, per service. */
interface ServiceRead {
  service: string
  counters: ServiceCounters
  instances: InstanceDetail[]
  liveTotal: number
  breakers: Awaited<ReturnType<typeof readServiceBreakers>>
  /** The service's watched BullMQ queues, from their newest sample of the last 2 minutes (reads/queues.ts). */
  queues: QueueSummary[]
}

/** Caps of one fleet read (defaults: the MAX_EXPORTED_* constants). */
export interface FleetCaps {
  maxServices?: number
  maxInstancesPerService?: number
  maxBreakersPerService?: number
}

/** What a fleet read left out because of the caps (`fusebox_fleet_capped{what}`). */
interface Capped {
  services: number
  instances: number
  breakers: number
}

async function readFleet(redis: RedisClient, keys: KeySpace, nowMs: number, caps: Required<FleetCaps>): Promise<{ reads: ServiceRead[]; capped: Capped }> {
  const all = (await readServiceNames(redis, keys)).filter((s) => {
    if (Name.safeParse(s).success) return true
    reportInvalidValue('counters', keys.services(), `member ${JSON.stringify(s)} is not a service name`)
    return false
  })
  const services = all.slice(0, caps.maxServices)
  const capped: Capped = { services: all.length - services.length, instances: 0, breakers: 0 }
  const reads = await Promise.all(
    services.map(async (service): Promise<ServiceRead> => {
      const [counters, instances] = await Promise.all([readServiceCounters(redis, keys, service), readInstances(redis, keys, service, nowMs)])
      const live = instances.filter((i) => i.up)
      const exported = live.slice(0, caps.maxInstancesPerService)
      capped.instances += live.length - exported.length
      const breakers = await readServiceBreakers(redis, keys, service, liveInstances(exported)).catch((e: unknown) => {
        if (!isWrongType(e)) throw e
        reportInvalidValue('wrong_type', keys.breakers(service), `a breaker key of ${service}: ${(e as Error).message}`)
        return []
      })
      capped.breakers += Math.max(0, breakers.length - caps.maxBreakersPerService)
      const queues = (await readQueues(redis, keys, service, nowMs, 120_000, 20)).queues.filter((q) => q.counts !== null).slice(0, MAX_EXPORTED_QUEUES_PER_SERVICE)
      return { service, counters, instances: exported, liveTotal: live.length, breakers: breakers.slice(0, caps.maxBreakersPerService), queues }
    }),
  )
  return { reads, capped }
}

/** Prometheus label names of the request histogram, OTel attribute names with dots → underscores. */
const REQUEST_LABELS = ['http_request_method', 'http_route', 'http_response_status_code', 'url_scheme', 'error_type'] as const

/** Renders the fleet families (see docs/METRICS.md "Prometheus and Grafana"). */
function renderFleet(redisKey: (service: string) => string, reads: ServiceRead[], capped: Capped): string {
  const duration = new MetricFamily(
    'http_server_request_duration_seconds',
    'histogram',
    'Duration of HTTP server requests of the monitored services (OpenTelemetry http.server.request.duration), counted by their Fusebox collectors; all instances of a service together.',
  )
  const breakerCalls = new MetricFamily('fusebox_breaker_calls_total', 'counter', 'Circuit breaker calls of the monitored services by outcome (success, failure, timeout, reject), all instances together.')
  const cacheEvents = new MetricFamily('fusebox_cache_events_total', 'counter', 'Cache events of the monitored services by kind (hits, misses, sets, invalidations), all instances together.')
  const breakerState = new MetricFamily('fusebox_breaker_state', 'gauge', 'Circuit breaker state per live instance: 1 for the state it reports, 0 for the others.')
  const instancesUp = new MetricFamily('fusebox_instances_up', 'gauge', 'Instances of a service whose heartbeat is current.')
  const instanceUp = new MetricFamily('fusebox_instance_up', 'gauge', '1 for each live instance of a monitored service (down ones are not exported).')
  const heap = new MetricFamily('fusebox_instance_heap_used_bytes', 'gauge', 'V8 heap used by a live instance, bytes (process.memoryUsage().heapUsed at its last heartbeat).')
  const rss = new MetricFamily('fusebox_instance_resident_memory_bytes', 'gauge', 'Resident set size of a live instance, bytes, at its last heartbeat.')
  const cpu = new MetricFamily('fusebox_instance_cpu_utilization_ratio', 'gauge', 'CPU time of a live instance over the wall time between its last two heartbeats, in cores (1 = one core busy).')
  const loop = new MetricFamily('fusebox_instance_event_loop_delay_p99_seconds', 'gauge', 'p99 event-loop delay of a live instance between its last two heartbeats, seconds.')
  const started = new MetricFamily('fusebox_instance_start_time_seconds', 'gauge', 'When a live instance started (its collector was created), seconds since the Unix epoch.')
  const queueJobs = new MetricFamily('fusebox_queue_jobs', 'gauge', 'Jobs of a watched BullMQ queue by state (waiting, active, delayed, prioritized, waiting-children, paused, failed, completed), at its newest sample.')
  const queueOldest = new MetricFamily('fusebox_queue_oldest_waiting_seconds', 'gauge', 'Age of the oldest waiting job of a watched BullMQ queue, seconds, at its newest sample (0 when none waits).')
  const cappedFamily = new MetricFamily('fusebox_fleet_capped', 'gauge', 'Services, live instances and breakers this scrape left out because of the export caps (docs/METRICS.md).')

  for (const { service, counters, instances, liveTotal, breakers, queues } of reads) {
    const svc = ['service_name', service] as const
    for (const q of queues) {
      for (const state of QUEUE_STATES) queueJobs.sample('fusebox_queue_jobs', [svc, ['queue', q.queue], ['state', state]], q.counts?.[state] ?? 0)
      queueOldest.sample('fusebox_queue_oldest_waiting_seconds', [svc, ['queue', q.queue]], (q.oldestWaitingAgeMs ?? 0) / 1000)
    }
    for (const prefix of [...counters.requests.keys()].sort()) {
      const s = counters.requests.get(prefix)!
      // A series needs its count and sum, and its finite buckets cannot hold more than its count (+Inf = _count).
      const finite = s.buckets.slice(0, DURATION_BOUNDS_S.length).reduce((a, b) => a + b, 0)
      if (s.count === null || s.sumUs === null || finite > s.count) {
        reportInvalidValue('counters', redisKey(service), `request series ${JSON.stringify(prefix)} is incomplete or its buckets exceed its count`)
        continue
      }
      const count = s.count
      const l = s.labels
      const labels: Labels = [svc, [REQUEST_LABELS[0], l.method], [REQUEST_LABELS[1], l.route], [REQUEST_LABELS[2], l.status], [REQUEST_LABELS[3], l.scheme], [REQUEST_LABELS[4], l.errorType]]
      let cumulative = 0
      DURATION_BOUNDS_S.forEach((bound, i) => {
        cumulative += s.buckets[i] ?? 0
        duration.sample('http_server_request_duration_seconds_bucket', [...labels, ['le', String(bound)]], cumulative)
      })
      duration.sample('http_server_request_duration_seconds_bucket', [...labels, ['le', '+Inf']], count)
      duration.sample('http_server_request_duration_seconds_sum', labels, s.sumUs / 1e6)
      duration.sample('http_server_request_duration_seconds_count', labels, count)
    }
    for (const k of [...counters.breakers.keys()].sort()) {
      const [breaker, outcome] = k.split('\t') as [string, string]
      breakerCalls.sample('fusebox_breaker_calls_total', [svc, ['breaker', breaker], ['outcome', outcome]], counters.breakers.get(k)!)
    }
    for (const k of [...counters.caches.keys()].sort()) {
      const [cache, kind] = k.split('\t') as [string, string]
      cacheEvents.sample('fusebox_cache_events_total', [svc, ['cache', cache], ['kind', kind]], counters.caches.get(k)!)
    }
    for (const b of breakers) {
      for (const inst of b.instances) {
        for (const state of BREAKER_STATES) {
          breakerState.sample('fusebox_breaker_state', [svc, ['breaker', b.name], ['service_instance_id', inst.instance], ['state', state]], inst.state === state ? 1 : 0)
        }
      }
    }
    instancesUp.sample('fusebox_instances_up', [svc], liveTotal)
    for (const i of instances) {
      const labels: Labels = [svc, ['service_instance_id', i.instance]]
      instanceUp.sample('fusebox_instance_up', labels, 1)
      heap.sample('fusebox_instance_heap_used_bytes', labels, i.heapUsedBytes)
      rss.sample('fusebox_instance_resident_memory_bytes', labels, i.rssBytes)
      cpu.sample('fusebox_instance_cpu_utilization_ratio', labels, i.cpuPercent / 100)
      loop.sample('fusebox_instance_event_loop_delay_p99_seconds', labels, i.eventLoopDelayP99Ms / 1000)
      if (i.startedAtMs > 0) started.sample('fusebox_instance_start_time_seconds', labels, i.startedAtMs / 1000)
    }
  }
  for (const what of ['services', 'instances', 'breakers'] as const) cappedFamily.sample('fusebox_fleet_capped', [['what', what]], capped[what])
  return [duration, breakerCalls, cacheEvents, breakerState, instancesUp, instanceUp, heap, rss, cpu, loop, started, queueJobs, queueOldest, cappedFamily]
    .map((f) => f.render())
    .join('')
}

// ── The exporter lease ───────────────────────────────────────────────────────────────────────────────────────────

/** Takes the lease when free, renews it when ours: 1 = we hold it now, 0 = another replica does. */
const ACQUIRE_OR_RENEW = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`
/** Deletes the lease only when ours. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/** What one scrape of the fleet gives the handler. */
export interface FleetScrape {
  /** The fleet families' text ('' when this replica does not export them or Redis could not be read). */
  text: string
  /** Whether this replica exported the fleet series in this scrape (`fusebox_fleet_exporter`). */
  exporting: boolean
  /** Whether every Redis command of this scrape answered (`fusebox_redis_up`). */
  redisOk: boolean
}

/** Options of `FleetExporter` (see `createMetrics`). */
export interface FleetExporterOptions extends FleetCaps {
  /** Default 'leader'. */
  mode?: FleetMode
  /** Lease life and renewal period, ms (defaults EXPORTER_LEASE_TTL_MS, EXPORTER_LEASE_RENEW_MS; tests shorten them). */
  leaseTtlMs?: number
  leaseRenewMs?: number
  /** Epoch ms clock; default Date.now. */
  now?: () => number
}

/**
 * Reads and renders the fleet for `/metrics`, and holds (or not) the exporter lease. The renewal timer starts at the
 * first scrape, is `unref()`'d (it never keeps a process alive), stops on its own once the replica has not been
 * scraped for EXPORTER_IDLE_RELEASE_MS (giving the lease up), and stops for good on `close()`.
 */
export class FleetExporter {
  /** This replica's lease value: host, pid and a random tag (so two apps in one process differ). */
  readonly holderId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly mode: FleetMode
  private readonly ttlMs: number
  private readonly renewMs: number
  private readonly caps: Required<FleetCaps>
  private readonly now: () => number
  private timer: NodeJS.Timeout | null = null
  private lastScrapeMs = 0
  private closed = false

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: KeySpace,
    options: FleetExporterOptions = {},
  ) {
    this.mode = options.mode ?? 'leader'
    this.ttlMs = options.leaseTtlMs ?? EXPORTER_LEASE_TTL_MS
    this.renewMs = options.leaseRenewMs ?? EXPORTER_LEASE_RENEW_MS
    this.now = options.now ?? Date.now
    this.caps = {
      maxServices: options.maxServices ?? MAX_EXPORTED_SERVICES,
      maxInstancesPerService: options.maxInstancesPerService ?? MAX_EXPORTED_INSTANCES_PER_SERVICE,
      maxBreakersPerService: options.maxBreakersPerService ?? MAX_EXPORTED_BREAKERS_PER_SERVICE,
    }
  }

  /** Takes or renews the lease. @throws Redis errors (WRONGTYPE: counted, read as "not ours") */
  private async acquire(): Promise<boolean> {
    const key = this.keys.metricsExporter()
    try {
      return (await this.redis.eval(ACQUIRE_OR_RENEW, 1, key, this.holderId, String(this.ttlMs))) === 1
    } catch (e) {
      if (!isWrongType(e)) throw e
      reportInvalidValue('wrong_type', key, (e as Error).message)
      return false
    }
  }

  private startTimer(): void {
    if (this.timer || this.closed || this.mode !== 'leader') return
    this.timer = setInterval(() => {
      if (this.now() - this.lastScrapeMs > EXPORTER_IDLE_RELEASE_MS) {
        this.stopTimer()
        void this.release()
        return
      }
      this.acquire().catch(() => undefined) // Redis away: the next tick or scrape tries again
    }, this.renewMs)
    this.timer.unref()
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Gives the lease up if this replica holds it (best effort; never rejects). */
  private async release(): Promise<void> {
    try {
      await this.redis.eval(RELEASE, 1, this.keys.metricsExporter(), this.holderId)
    } catch {
      // Redis away or closed: the lease expires on its own within its TTL
    }
  }

  /**
   * One scrape: decides whether this replica exports the fleet (mode, lease), and if so reads and renders it as of
   * `now()`. Never rejects: Redis unreachable gives `{ text: '', exporting: false, redisOk: false }` (logged).
   */
  async scrape(): Promise<FleetScrape> {
    this.lastScrapeMs = this.now()
    this.startTimer()
    try {
      let exporting: boolean
      if (this.mode === 'never') {
        await this.redis.ping()
        exporting = false
      } else exporting = this.mode === 'always' || (!this.closed && (await this.acquire())) // closed: never retakes it
      if (!exporting) return { text: '', exporting, redisOk: true }
      const { reads, capped } = await readFleet(this.redis, this.keys, this.now(), this.caps)
      return { text: renderFleet((s) => this.keys.counters(s), reads, capped), exporting, redisOk: true }
    } catch (e) {
      console.error(`[fusebox] /metrics: cannot read Redis: ${e instanceof Error ? e.message : String(e)}`)
      return { text: '', exporting: false, redisOk: false }
    }
  }

  /** Stops the renewal timer and gives the lease up (so another replica takes it at its next scrape). */
  async close(): Promise<void> {
    this.closed = true
    this.stopTimer()
    if (this.mode === 'leader') await this.release()
  }
}
