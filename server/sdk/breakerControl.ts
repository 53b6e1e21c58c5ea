/**
 * Breaker control: the collector's registry of breakers and their link to the dashboard's commands. A command is
 * stored in Redis as a desired state (per breaker, for every instance or for one) and announced by a nudge on the
 * service's control channel; this part listens for nudges on its own subscriber connection, reconciles — re-reads
 * the desired states and applies the newest generation — and reconciles everything again on every (re)connect and
 * (re)subscribe and when the collector's periodic timer says so, since a nudge can be missed while disconnected.
 *
 * The channel (`P:{svc}:control`) carries the service's hash tag. On a standalone Redis the server PUBLISHes and
 * this part SUBSCRIBEs; on a Redis Cluster the server SPUBLISHes and this part SSUBSCRIBEs (sharded pub/sub, Redis
 * ≥ 7.0: the nudge stays on the shard of the service's slot instead of crossing the cluster bus), through a Cluster
 * subscriber of its own with ioredis' sharded subscribers (connections.ts `openSubscriber`, docs/decisions/027), kept
 * on the slot's current master (`SUBSCRIPTION_CHECK_MS`).
 *
 * A breaker's first `fire()` waits (bounded by `startupReconcileWaitMs`) for its start-up reconcile, so an instance
 * restarted under a force-open comes up forced. Reconciles of one breaker run one at a time. Every failure goes to
 * `reportError`; nothing here throws into the host except set-up errors of `create` / `adopt`.
 */
import { performance } from 'node:perf_hooks'
import CircuitBreaker from 'opossum'
import { z } from 'zod'
import type { BreakerOutcome } from '../../shared/fleetCounters'
import type { KeySpace } from '../../shared/keys'
import { ControlNudge, DesiredBreakerState, Name } from '../../shared/schemas'
import type { EventRecord } from '../../shared/streamEntries'
import type { Clock } from '../../shared/timeBuckets'
import { FuseboxBreaker, type BreakerEvent } from './breaker'
import type { CollectorStats } from './collectorStats'
import { openSubscriber, releaseConnection } from './connections'
import { isCluster, keySlot, type RedisClient } from './redisTopology'
import { withTimeout } from './withTimeout'

/** What the collector hands breaker control. */
export interface BreakerControlDeps {
  /** The collector's command connection (owned or borrowed; never closed here). Its 'ready' triggers a reconcile. */
  redis: RedisClient
  /** CLIENT LIST name of the cluster subscriber's connections (a standalone subscriber keeps `redis`' name). */
  subscriberName: string
  /** Key builder (shared/keys.ts). */
  keys: KeySpace
  /** Service name, already validated. */
  service: string
  /** This instance's name, already validated: reported with every event, and the target of per-instance commands. */
  instance: string
  /** How long a breaker's first `fire()` waits for its start-up reconcile, in ms. */
  startupReconcileWaitMs: number
  /** Bound on each reconcile's reads and on closing the subscriber, in ms (the collector's `flushTimeoutMs`). */
  timeoutMs: number
  /** The collector's time source (epoch ms): breaker event times and `lastTransitionAtMs`. */
  clock: Clock
  /** Counters it keeps: commands applied; desired states it could not use (`invalidRedisValues`). */
  stats: Pick<CollectorStats, 'commandsApplied' | 'invalidRedisValues'>
  /** Receives every transition and applied command, as an events-stream entry, to be flushed. Must not throw. */
  onEvent: (event: EventRecord) => void
  /** Asks for a flush now (a command was applied: report its generation without waiting for the next tick). */
  requestFlush: () => void
  /** Counts one call's outcome into the fleet counters (counterTotals.ts). Must not throw. */
  countOutcome: (breaker: string, outcome: BreakerOutcome) => void
  /** Receives every failure with where it happened (`subscriber`, `subscribe`, `control`, `reconcile`). */
  reportError: (error: unknown, where: string) => void
}

/**
 * A desired state as the command script writes it (server/app/breakerCommands.ts), bounded: Redis is an input
 * (docs/decisions/014). On top of the shared schema (whose generation is already a safe integer ≥ 0): the reason at
 * most 500 characters (the API's limit), the actor at most 100 (a session's), the command id at most 64, the
 * target `*` or a name, the issue time finite. A record beyond these was not written by Fusebox and is not applied
 * — a 10 MB reason would otherwise travel into every event and every breaker report this instance writes.
 */
const StoredDesiredState = DesiredBreakerState.extend({
  commandId: z.string().max(64),
  issuedAtMs: z.coerce.number().finite(),
  actor: z.string().max(100),
  reason: z.string().max(500),
  target: z.union([z.literal('*'), Name]).default('*'),
})

/**
 * Counts every call of `opossum` by outcome, disjointly, from opossum 9's own events: `success` (also a failure its
 * `errorFilter` let pass), `failure` (not a timeout; a full semaphore included), `timeout` (opossum's `ETIMEDOUT`
 * failure), `reject` (short-circuited while OPEN). So the four add up to the calls made.
 */
function countOutcomes(opossum: CircuitBreaker<never, unknown> | CircuitBreaker<unknown[], unknown>, name: string, count: BreakerControlDeps['countOutcome']): void {
  opossum.on('success', () => count(name, 'success'))
  opossum.on('failure', (err: unknown) => count(name, (err as { code?: unknown } | null)?.code === 'ETIMEDOUT' ? 'timeout' : 'failure'))
  opossum.on('reject', () => count(name, 'reject'))
}

/** True when `e` is Redis' reply to a command on a key holding another type. */
const isWrongType = (e: unknown) => e instanceof Error && e.message.startsWith('WRONGTYPE')

/** Delay before a failed reconcile of one breaker is tried again, in ms (see `BreakerControl.retryLater`). */
export const RECONCILE_RETRY_MS = 1000

/**
 * The same subscriber error (same message) is reported at most once per this many ms. While the master of the
 * service's slot is down, ioredis' sharded subscriber group re-creates its connection in a tight loop until the
 * replica is promoted (measured: ~30 "Connection is closed." errors a second, docs/decisions/027); the host's
 * `onError` gets one of them every 10 s, not a flood.
 */
export const SUBSCRIBER_ERROR_REPORT_MS = 10_000

/**
 * On a cluster, how often (ms) the subscriber's slot map is compared with the command connection's for the control
 * channel's slot. ioredis 6 refreshes its sharded subscriber once, at the moment the old master drops the
 * subscription (an unsolicited SUNSUBSCRIBE) — and that refresh may still read the old owner from a node that has not
 * seen the failover yet, leaving the subscription on the old master for good (measured on a manual failover:
 * docs/decisions/027). The command connection learns the new owner within a flush (MOVED); when the two disagree the
 * subscriber's slots are refreshed again. No I/O unless they disagree.
 */
export const SUBSCRIPTION_CHECK_MS = 1000

/** See the module comment. Opens its subscriber connection when constructed; `close()` closes it. */
export class BreakerControl {
  /** The breakers registered on this collector, by name. */
  readonly breakers = new Map<string, FuseboxBreaker<never[], unknown>>()
  /** The reconcile running or queued last, per breaker (they are chained, so this is the tail). */
  private readonly reconciles = new Map<string, Promise<void>>()
  /** The reconcile queued behind the running one and not started yet, per breaker: later requests join it. */
  private readonly queued = new Map<string, Promise<void>>()
  /** The subscriber error last reported, and when (performance.now ms): see SUBSCRIBER_ERROR_REPORT_MS. */
  private lastSubscriberError: { message: string; atMs: number } | null = null
  /** Pending retry per breaker after a failed reconcile (see `retryLater`). */
  private readonly retries = new Map<string, NodeJS.Timeout>()
  private readonly subscriber: RedisClient
  /** The timer of `followSlot` (a cluster only). */
  private readonly slotCheck: NodeJS.Timeout | null = null
  private stopped = false
  /**
   * The problem last reported per desired-state key, so the periodic reconcile reports a corrupt key once, not every
   * 10 s (forgotten once the key reads fine). At most two keys per registered breaker.
   */
  private readonly reportedInvalid = new Map<string, string>()

  constructor(private readonly deps: BreakerControlDeps) {
    const channel = deps.keys.controlChannel(deps.service)
    const subscriber = openSubscriber(deps.redis, deps.subscriberName)
    this.subscriber = subscriber
    subscriber.on('error', (e: Error) => this.subscriberError(e))
    // (Re)connect: ioredis re-subscribes by itself; a command may have been missed meanwhile, so reconcile all.
    subscriber.on('ready', () => this.reconcileAll())
    deps.redis.on('ready', () => this.reconcileAll())
    // On a Cluster, a node connection made again while the client stays 'ready' (see flushPipeline.ts): commands
    // issued while it was away are read now, not at the next periodic reconcile.
    const commandClient = deps.redis
    if (isCluster(commandClient)) {
      commandClient.on('+node', () => {
        if (commandClient.status === 'ready') this.reconcileAll()
      })
    }
    if (isCluster(subscriber)) {
      subscriber.on('smessage', (_channel: string, message: string) => this.onNudge(message))
      // The sharded subscriber group (re)made its connections (start, a new master for the slot): SSUBSCRIBE is resent.
      subscriber.on('subscribersReady', () => this.reconcileAll())
      subscriber.ssubscribe(channel).catch((e: unknown) => deps.reportError(e, 'subscribe'))
      const main = deps.redis
      if (isCluster(main)) {
        const slot = keySlot(channel)
        this.slotCheck = setInterval(() => {
          const owner = main.slots[slot]?.[0]
          if (owner !== undefined && subscriber.status === 'ready' && subscriber.slots[slot]?.[0] !== owner) subscriber.refreshSlotsCache()
        }, SUBSCRIPTION_CHECK_MS)
        this.slotCheck.unref()
      }
    } else {
      subscriber.on('message', (_channel: string, message: string) => this.onNudge(message))
      subscriber.subscribe(channel).catch((e: unknown) => deps.reportError(e, 'subscribe'))
    }
  }

  /**
   * Creates an opossum breaker named `name` with opossum's `options` and adopts it.
   * @throws ZodError on an invalid name; Error when a breaker of that name exists (set-up errors).
   */
  create<TArgs extends unknown[], TResult>(
    name: string,
    action: (...args: TArgs) => Promise<TResult>,
    options: CircuitBreaker.Options<TArgs>,
  ): FuseboxBreaker<TArgs, TResult> {
    Name.parse(name)
    return this.adopt(new CircuitBreaker(action, { ...options, name }))
  }

  /**
   * Registers an opossum breaker: its transitions go to `onEvent`, and it obeys commands from its start-up
   * reconcile on.
   * @throws ZodError when its name is not a valid Fusebox name; Error when a breaker of that name exists.
   */
  adopt<TArgs extends unknown[], TResult>(opossum: CircuitBreaker<TArgs, TResult>): FuseboxBreaker<TArgs, TResult> {
    const name = Name.parse(opossum.name)
    if (this.breakers.has(name)) throw new Error(`a breaker named ${name} is already registered`)
    const b = new FuseboxBreaker(opossum, { instance: this.deps.instance, onEvent: (e) => this.onBreakerEvent(e), now: this.deps.clock })
    this.breakers.set(name, b as unknown as FuseboxBreaker<never[], unknown>)
    countOutcomes(opossum, name, this.deps.countOutcome)
    // Start-up reconcile: the first fire() waits for it (bounded) so an instance restarted under force-open is forced
    // before its first call.
    const redis = this.deps.redis
    const wait = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.deps.startupReconcileWaitMs)
      t.unref()
      const go = () =>
        void this.reconcile(name).finally(() => {
          clearTimeout(t)
          resolve()
        })
      // Not connected yet: the reconcile runs on 'ready' (below, and via reconcileAll), still within the wait.
      if (redis.status === 'ready') go()
      else redis.once('ready', go)
    })
    b.setReady(wait)
    return b
  }

  /**
   * Re-reads the desired state of one breaker from Redis and applies it if newer. Never rejects. Reconciles of one
   * breaker run one at a time; one requested while another runs starts after it (and sees the newest state), and
   * requests meanwhile join that queued one (at most one waits: a burst of (re)subscribes costs two reads, not a queue).
   */
  reconcile(name: string): Promise<void> {
    const waiting = this.queued.get(name)
    if (waiting !== undefined) return waiting
    const prev = this.reconciles.get(name) ?? Promise.resolve()
    const next: Promise<void> = prev.then(() => {
      if (this.queued.get(name) === next) this.queued.delete(name)
      return this.doReconcile(name)
    })
    this.queued.set(name, next)
    this.reconciles.set(name, next)
    void next.finally(() => {
      if (this.reconciles.get(name) === next) this.reconciles.delete(name)
    })
    return next
  }

  /** Reconciles every registered breaker (not awaited). */
  reconcileAll(): void {
    for (const name of this.breakers.keys()) void this.reconcile(name)
  }

  /** No reconcile reads Redis from now on (collector close: the final flush runs without commands changing state). */
  stop(): void {
    this.stopped = true
    if (this.slotCheck !== null) clearInterval(this.slotCheck)
    for (const t of this.retries.values()) clearTimeout(t)
    this.retries.clear()
  }

  /** Stops reconciling and closes the subscriber connection (QUIT bounded by `timeoutMs`). Never rejects. */
  async close(): Promise<void> {
    this.stop()
    await releaseConnection(this.subscriber, this.deps.timeoutMs)
  }

  /** Reports a subscriber error unless the same one was reported within SUBSCRIBER_ERROR_REPORT_MS. */
  private subscriberError(e: Error): void {
    const now = performance.now()
    const last = this.lastSubscriberError
    if (last !== null && last.message === e.message && now - last.atMs < SUBSCRIBER_ERROR_REPORT_MS) return
    this.lastSubscriberError = { message: e.message, atMs: now }
    this.deps.reportError(e, 'subscriber')
  }

  private onNudge(message: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      this.deps.reportError(new Error('unparseable control nudge'), 'control')
      return
    }
    const nudge = ControlNudge.safeParse(parsed)
    if (!nudge.success) {
      this.deps.reportError(new Error('invalid control nudge'), 'control')
      return
    }
    const b = this.breakers.get(nudge.data.breaker)
    if (b && nudge.data.generation > b.appliedGeneration) void this.reconcile(nudge.data.breaker)
  }

  private async doReconcile(name: string): Promise<void> {
    const b = this.breakers.get(name)
    const { redis, keys, service, instance, reportError } = this.deps
    // Not connected: nothing to ask; the 'ready' handlers reconcile everything once connected.
    if (!b || this.stopped || redis.status !== 'ready') return
    try {
      // Two records may apply: the one for every instance and the one for this instance. Generations come from
      // one counter per breaker, so the higher generation is the newer command.
      // Each key on its own: one of the wrong type must not keep the other from applying.
      const desiredKeys = [keys.breakerDesired(service, name), keys.breakerDesired(service, name, instance)]
      const reads = await withTimeout(
        Promise.all(desiredKeys.map((key) => redis.hgetall(key).then((raw) => ({ key, raw }), (e: unknown) => {
          if (!isWrongType(e)) throw e
          return { key, raw: null }
        }))),
        this.deps.timeoutMs,
        'reconcile',
      )
      let newest: DesiredBreakerState | null = null
      for (const { key, raw } of reads) {
        if (raw === null) {
          this.invalid(key, `the desired state of breaker ${name} at ${key} holds the wrong type (not a hash): skipped`)
          continue
        }
        if (Object.keys(raw).length === 0) {
          this.reportedInvalid.delete(key)
          continue
        }
        const desired = StoredDesiredState.safeParse(raw)
        if (!desired.success) {
          const fields = [...new Set(desired.error.issues.map((i) => i.path.join('.')))].join(', ')
          this.invalid(key, `invalid desired state for breaker ${name} at ${key} (${fields}): not applied`)
          continue
        }
        this.reportedInvalid.delete(key)
        if (newest === null || desired.data.generation > newest.generation) newest = desired.data
      }
      if (newest !== null && b.applyDesired(newest)) {
        this.deps.stats.commandsApplied++
        this.deps.requestFlush()
      }
    } catch (e) {
      reportError(e, 'reconcile')
      this.retryLater(name)
    }
  }

  /**
   * After a failed reconcile (a timeout on a slow link, a reset), tries that breaker again in
   * `RECONCILE_RETRY_MS` rather than waiting for the periodic reconcile (10 s) or a reconnect that a slow but
   * connected link never causes: a command issued during the fault then applies within about a second of healing.
   * One retry timer per breaker at a time; unref'd, so it never keeps the host alive; none after `stop()`.
   */
  private retryLater(name: string): void {
    if (this.stopped || this.retries.has(name)) return
    const t = setTimeout(() => {
      this.retries.delete(name)
      void this.reconcile(name)
    }, RECONCILE_RETRY_MS)
    t.unref()
    this.retries.set(name, t)
  }

  /** Counts a desired state it cannot use; reports it unless this key's same problem was reported last. */
  private invalid(key: string, message: string): void {
    this.deps.stats.invalidRedisValues++
    if (this.reportedInvalid.get(key) === message) return
    this.reportedInvalid.set(key, message)
    this.deps.reportError(new Error(message), 'reconcile')
  }

  private onBreakerEvent(e: BreakerEvent): void {
    this.deps.onEvent({
      atMs: e.atMs,
      type: e.type,
      breaker: e.breaker,
      instance: this.deps.instance,
      from: e.from,
      to: e.to,
      reason: e.reason,
      generation: e.generation ?? null,
    })
  }
}
