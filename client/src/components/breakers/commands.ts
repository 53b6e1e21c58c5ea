/**
 * Breaker commands as the UI names them, and what the progress of a tracked command means and says (pure: the
 * store of issued commands and the tracker that polls `breakers.commandStatus` are in issuedCommands.ts).
 */
import type { BreakerCommand, BreakerState } from '../../../../shared/schemas'
import type { CommandStatusData } from '../../api'

/** Commands in button order. */
export const COMMANDS: readonly BreakerCommand[] = ['reset', 'forceOpen', 'forceClosed', 'release']

/** Button text of each command ("Force open"); confirm buttons say "Confirm force open". */
export const COMMAND_LABELS: Record<BreakerCommand, string> = {
  reset: 'Reset',
  forceOpen: 'Force open',
  forceClosed: 'Force closed',
  release: 'Release',
}

/** What each command does, for the confirm dialog. */
export const COMMAND_EFFECTS: Record<BreakerCommand, string> = {
  reset: 'The breaker closes and its rolling stats are cleared; a forced mode is lifted (back to normal).',
  forceOpen: 'The breaker opens and stays open (every call is rejected or falls back) until released.',
  forceClosed: 'The breaker closes and stays closed (failures never open it) until released.',
  release: 'A forced breaker goes back to normal: opossum decides its state again.',
}

/** What the dialog needs to know of the breaker to say what a command will do to it. */
export interface BreakerNow {
  /** Most severe live state (`BreakerSummary.clusterState`). */
  state: BreakerState
  /** opossum's reset timeout, ms (the instances' largest), null when unknown. */
  resetTimeoutMs: number | null
  errorThresholdPercentage: number | null
  volumeThreshold: number | null
}

/**
 * What `command` will do to this breaker now (issue #15: the dialog says it in this breaker's configuration):
 * COMMAND_EFFECTS, plus for Release what follows from the forced mode it leaves — forced open, opossum keeps it OPEN
 * until its reset timeout lets a probe through (HALF_OPEN, then CLOSED on success); forced closed, it is CLOSED and
 * opens again when failures pass the threshold.
 */
export function commandEffect(command: BreakerCommand, now?: BreakerNow): string {
  const base = COMMAND_EFFECTS[command]
  if (!now) return base
  const seconds = now.resetTimeoutMs === null ? null : `${Math.round(now.resetTimeoutMs / 100) / 10} s`
  if (command === 'release') {
    if (now.state === 'FORCED_OPEN')
      return `${base} It is forced open now, so it stays OPEN until its reset timeout${seconds ? ` (${seconds})` : ''} lets one probe call through: HALF_OPEN, then CLOSED if the probe succeeds (OPEN again if it fails).`
    if (now.state === 'FORCED_CLOSED')
      return `${base} It is forced closed now, so it is CLOSED after release and opens again when failures pass ${now.errorThresholdPercentage ?? '?'} % of at least ${now.volumeThreshold ?? '?'} calls in the rolling window.`
    return `${base} It is not forced now (${now.state}): Release changes nothing.`
  }
  if (command === 'reset' && (now.state === 'FORCED_OPEN' || now.state === 'FORCED_CLOSED'))
    return `${base} It is ${now.state} now: Reset lifts that and closes it.`
  return base
}

/** "Confirm force open". */
export function confirmLabel(command: BreakerCommand): string {
  return `Confirm ${COMMAND_LABELS[command].toLowerCase()}`
}

/** Polling cadence of the breaker pages while live, in ms: faster than others, as state changes and command effects matter there. */
export const BREAKERS_POLL_MS = 2000

/** Polling cadence of a tracked command's status, in ms. */
export const STATUS_POLL_MS = 500
/** How long a command is tracked before it counts as not confirmed, in ms. */
export const STATUS_TIMEOUT_MS = 30_000

/**
 * Where a tracked command stands: still `pending`, or done as `applied` (every target not gone applied it),
 * `superseded`, `noTargets` (no live instance had the breaker when it was issued: it applies when one starts),
 * `timeout` or `error`.
 */
export type TrackStatus = 'pending' | 'applied' | 'superseded' | 'noTargets' | 'timeout' | 'error'

/**
 * How far a tracked command got over its fixed target set (`breakers.commandStatus`): `applied` of `total` targets
 * not gone, `pending` of them not yet (the `unreachable` ones named among them), the `gone` ones named apart.
 */
export interface CommandTracking {
  applied: number
  total: number
  pending: number
  /** Targets without a heartbeat for over 3 intervals that have not applied it (among `pending`). */
  unreachable: string[]
  /** Targets silent for over 5 minutes: shown, not counted in `total`. */
  gone: string[]
  status: TrackStatus
  /** Failure text when `status` is `error` (or a `timeout` for want of a connection); null otherwise. */
  error: string | null
}

/** A tracking before the first status answer: nothing known yet. */
export const NO_PROGRESS: CommandTracking = { applied: 0, total: 0, pending: 0, unreachable: [], gone: [], status: 'pending', error: null }

/**
 * What a status answer means after `elapsedMs`: `applied` only when the server says `complete` (every target not
 * gone applied it — never early), else superseded, no targets, still pending, or timed out.
 */
export function outcomeOf(
  s: Pick<CommandStatusData, 'complete' | 'superseded' | 'targets'>,
  elapsedMs: number,
  timeoutMs = STATUS_TIMEOUT_MS,
): TrackStatus {
  if (s.complete) return 'applied'
  if (s.superseded) return 'superseded'
  if (s.targets.length === 0) return 'noTargets'
  return elapsedMs >= timeoutMs ? 'timeout' : 'pending'
}

/** The tracking fields of a status answer. */
export function trackingOf(s: Pick<CommandStatusData, 'appliedCount' | 'targetCount' | 'pendingCount' | 'unreachable' | 'gone'>): Omit<CommandTracking, 'status' | 'error'> {
  return { applied: s.appliedCount, total: s.targetCount, pending: s.pendingCount, unreachable: s.unreachable, gone: s.gone }
}

/** "2/3 applied, 1 pending (storefront-3 unreachable), 1 gone (storefront-4)". */
export function countsText(t: Pick<CommandTracking, 'applied' | 'total' | 'pending' | 'unreachable' | 'gone'>): string {
  let text = `${t.applied}/${t.total} applied`
  if (t.pending > 0) text += `, ${t.pending} pending${t.unreachable.length > 0 ? ` (${t.unreachable.join(', ')} unreachable)` : ''}`
  if (t.gone.length > 0) text += `, ${t.gone.length} gone (${t.gone.join(', ')})`
  return text
}

/** Progress line, e.g. "forceOpen: 2/3 applied, 1 pending (storefront-3 unreachable)". */
export function progressText(t: { command: BreakerCommand } & CommandTracking): string {
  const base = `${t.command}: ${countsText(t)}`
  switch (t.status) {
    case 'superseded':
      return `${base} — superseded by a newer command`
    case 'noTargets':
      return `${t.command}: no live instance has this breaker — it applies when one starts`
    case 'timeout':
      return `${base} — not confirmed on every instance after ${STATUS_TIMEOUT_MS / 1000} s`
    case 'error':
      return `${t.command}: ${t.error ?? 'status unavailable'}`
    default:
      return base
  }
}

/** Toast text at the end of tracking, e.g. "Force open: 2/2 applied". */
export function completionText(t: { command: BreakerCommand; breaker: string } & CommandTracking): string {
  const label = COMMAND_LABELS[t.command]
  switch (t.status) {
    case 'applied':
      return `${label}: ${countsText(t)}`
    case 'superseded':
      return `${label} on ${t.breaker} superseded by a newer command (${countsText(t)})`
    case 'noTargets':
      return `${label} on ${t.breaker}: no live instance has it — it applies when one starts`
    case 'timeout':
      return `${label} on ${t.breaker} not confirmed after ${STATUS_TIMEOUT_MS / 1000} s: ${countsText(t)}`
    default:
      return `${label} on ${t.breaker}: ${t.error ?? 'status unavailable'}`
  }
}
