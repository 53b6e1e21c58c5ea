/**
 * A circuit breaker on opossum 9 plus what opossum lacks: sticky operator overrides (FORCED_OPEN with no half-open
 * probe while forced, FORCED_CLOSED where calls always go through) and application of remote commands by
 * generation. opossum keeps the state machine; this class only steers it and reports it.
 */
import type CircuitBreaker from 'opossum'
import type {
  BreakerInstanceReport,
  BreakerMode,
  BreakerState,
  DesiredBreakerState,
} from '../../shared/schemas'
import type { Clock } from '../../shared/timeBuckets'
import type { EventType } from '../../shared/vocabulary'

/** opossum keeps its effective options (defaults filled in) on `breaker.options`; @types/opossum omits it. */
function optionsOf(b: CircuitBreaker<never, unknown> | CircuitBreaker<unknown[], unknown>): CircuitBreaker.Options {
  return (b as unknown as { options?: CircuitBreaker.Options }).options ?? {}
}

/**
 * opossum arms a reset timer (`setTimeout` → half-open) on every 'open' and keeps it under a private symbol.
 * Clearing it is what makes FORCED_OPEN strict: no half-open at all while forced. If a future opossum renames the
 * symbol, the 'halfOpen' listener below still re-opens synchronously (no call can pass), so this degrades safely.
 */
function clearResetTimer(b: object): void {
  const sym = Object.getOwnPropertySymbols(b).find((s) => s.description === 'reset-timeout')
  if (sym === undefined) return
  const timer = (b as Record<symbol, unknown>)[sym]
  if (timer) clearTimeout(timer as NodeJS.Timeout)
}

/** A transition or applied command, as it goes to the events stream (instance added by the collector). Times epoch ms. */
export interface BreakerEvent {
  /** `transition` or `commandApplied` (shared/vocabulary.ts EVENT_TYPES; `commandIssued` is the server's). */
  type: Exclude<EventType, 'commandIssued'>
  breaker: string
  from: BreakerState
  to: BreakerState
  reason: string
  generation?: number
  atMs: number
}

/** Options of `FuseboxBreaker` beyond opossum's own. */
export interface FuseboxBreakerOptions {
  /** Instance name reported with each state. */
  instance: string
  /** Called on every state transition and applied command (never throws into opossum). */
  onEvent: (event: BreakerEvent) => void
  /** Time source of event times and `lastTransitionAtMs`, epoch ms; default `Date.now` (the collector passes its `clock`). */
  now?: Clock
}

/** Wraps one opossum breaker (created by Fusebox or adopted from the host). */
export class FuseboxBreaker<TArgs extends unknown[] = unknown[], TResult = unknown> {
  readonly name: string
  readonly opossum: CircuitBreaker<TArgs, TResult>
  private modeValue: BreakerMode = 'NORMAL'
  private applied = 0
  private lastTransitionAt: number
  private lastReason = 'created'
  private lastState: BreakerState
  /** Resolved once the first reconcile with Redis has finished (or given up); `fire` waits for it once. */
  private readyPromise: Promise<void> | null = null
  private readonly now: Clock
  /** True while applyDesired drives opossum, so its synchronous events are not reported as organic transitions. */
  private applying = false

  constructor(opossum: CircuitBreaker<TArgs, TResult>, private readonly options: FuseboxBreakerOptions) {
    this.opossum = opossum
    this.name = opossum.name
    this.now = options.now ?? (() => Date.now())
    this.lastTransitionAt = this.now()
    this.lastState = this.state
    // opossum emits these synchronously from inside its own state changes, so re-asserting a forced state here
    // leaves no window in which a call could pass a half-open probe (FORCED_OPEN) or be short-circuited
    // (FORCED_CLOSED).
    opossum.on('halfOpen', () => {
      if (this.modeValue === 'FORCED_OPEN') this.holdOpen()
      else this.noteTransition('resetTimeout elapsed: probing')
    })
    opossum.on('open', () => {
      if (this.modeValue === 'FORCED_CLOSED') opossum.close()
      else if (this.modeValue === 'FORCED_OPEN') clearResetTimer(opossum)
      else this.noteTransition('error threshold exceeded')
    })
    opossum.on('close', () => {
      if (this.modeValue === 'FORCED_OPEN') opossum.open()
      else this.noteTransition(this.modeValue === 'FORCED_CLOSED' ? 'operator forceClosed' : 'probe succeeded')
    })
  }

  /** Current state: the operator override when one is set, else opossum's CLOSED / OPEN / HALF_OPEN. */
  get state(): BreakerState {
    if (this.modeValue !== 'NORMAL') return this.modeValue
    if (this.opossum.opened) return 'OPEN'
    if (this.opossum.halfOpen) return 'HALF_OPEN'
    return 'CLOSED'
  }

  /** Sticky operator mode currently in force. */
  get mode(): BreakerMode {
    return this.modeValue
  }

  /** Generation of the last command this instance applied (0 = none). */
  get appliedGeneration(): number {
    return this.applied
  }

  /** Makes `fire` wait (once) for the first reconcile, so a restarted instance comes up in the commanded state. */
  setReady(ready: Promise<void>): void {
    this.readyPromise = ready.finally(() => {
      this.readyPromise = null
    })
  }

  /**
   * Calls the protected action through opossum. Rejects as opossum does (open circuit: `EOPENBREAKER`, timeout:
   * `ETIMEDOUT`) unless a fallback is set.
   */
  fire(...args: TArgs): Promise<TResult> {
    if (this.readyPromise !== null) return this.readyPromise.then(() => this.opossum.fire(...args))
    return this.opossum.fire(...args)
  }

  /**
   * Applies a desired state if its generation is newer than the last applied one.
   * @returns true when applied, false when it was not newer (idempotent, an older generation never wins).
   */
  applyDesired(desired: DesiredBreakerState): boolean {
    if (desired.generation <= this.applied) return false
    const from = this.state
    this.applied = desired.generation
    this.modeValue = desired.mode
    const reason = `operator ${desired.command}${desired.reason ? `: ${desired.reason}` : ''}`
    this.applying = true
    try {
      if (desired.command === 'reset') {
        this.clearStats()
        this.opossum.close()
      } else if (desired.mode === 'FORCED_OPEN') {
        this.holdOpen()
      } else if (desired.mode === 'FORCED_CLOSED') {
        this.opossum.close()
      } else if (from === 'FORCED_OPEN' && this.opossum.opened) {
        // Released while held open: behave as if it had just opened — probe after resetTimeout, as opossum would.
        this.opossum.close()
        this.opossum.open()
      }
    } finally {
      this.applying = false
    }
    this.lastReason = reason
    this.lastTransitionAt = this.now()
    this.lastState = this.state
    this.emit({ type: 'commandApplied', from, to: this.state, reason, generation: desired.generation })
    return true
  }

  /** Snapshot of this breaker on this instance, as written to Redis. */
  report(nowMs: number): BreakerInstanceReport {
    const s = this.opossum.stats
    const o = optionsOf(this.opossum)
    return {
      instance: this.options.instance,
      state: this.state,
      appliedGeneration: this.applied,
      stats: {
        fires: s.fires,
        successes: s.successes,
        failures: s.failures,
        timeouts: s.timeouts,
        rejects: s.rejects,
        fallbacks: s.fallbacks,
      },
      options: {
        timeoutMs: typeof o.timeout === 'number' ? o.timeout : null,
        errorThresholdPercentage: o.errorThresholdPercentage ?? 50,
        resetTimeoutMs: o.resetTimeout ?? 30_000,
        volumeThreshold: o.volumeThreshold ?? 0,
        rollingCountTimeoutMs: o.rollingCountTimeout ?? 10_000,
      },
      lastTransitionAtMs: this.lastTransitionAt,
      lastTransitionReason: this.lastReason,
      updatedAtMs: nowMs,
    }
  }

  /** Opens opossum's breaker and disarms its half-open timer (FORCED_OPEN holds until a command says otherwise). */
  private holdOpen(): void {
    this.opossum.open()
    clearResetTimer(this.opossum)
  }

  /** Empties opossum's rolling window by rotating every bucket out (opossum has no public reset). */
  private clearStats(): void {
    const buckets = optionsOf(this.opossum).rollingCountBuckets ?? 10
    const status = this.opossum.status as unknown as { rotateBucket?: () => void }
    for (let i = 0; i < buckets; i++) status.rotateBucket?.()
  }

  private noteTransition(reason: string): void {
    if (this.applying) return
    const to = this.state
    if (to === this.lastState) return
    const from = this.lastState
    this.lastState = to
    this.lastReason = reason
    this.lastTransitionAt = this.now()
    this.emit({ type: 'transition', from, to, reason })
  }

  private emit(e: Omit<BreakerEvent, 'breaker' | 'atMs'>): void {
    try {
      this.options.onEvent({ ...e, breaker: this.name, atMs: this.lastTransitionAt })
    } catch {
      // A reporting hook must never break the breaker.
    }
  }
}
