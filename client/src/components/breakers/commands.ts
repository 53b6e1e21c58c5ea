/**
 * Breaker commands as the UI names them, and what the progress of a tracked command means and says (pure: the
 * store of issued commands and the tracker that polls `breakers.commandStatus` are in issuedCommands.ts).
 */
import type { BreakerCommand } from '../../../../shared/schemas'
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

/** Where a tracked command stands: still `pending`, or done as `applied`, `superseded`, `timeout` or `error`. */
export type TrackStatus = 'pending' | 'applied' | 'superseded' | 'timeout' | 'error'

/** How far a tracked command got: applied on `applied` of `total` targeted live instances, and its status. */
export interface CommandTracking {
  applied: number
  total: number
  status: TrackStatus
  /** Failure text when `status` is `error` (or a `timeout` for want of a connection); null otherwise. */
  error: string | null
}

/** What a status answer means after `elapsedMs`: done (applied everywhere / superseded), still pending, or timed out. */
export function outcomeOf(
  s: Pick<CommandStatusData, 'appliedCount' | 'targetCount' | 'superseded'>,
  elapsedMs: number,
  timeoutMs = STATUS_TIMEOUT_MS,
): TrackStatus {
  if (s.targetCount > 0 && s.appliedCount >= s.targetCount) return 'applied'
  if (s.superseded) return 'superseded'
  return elapsedMs >= timeoutMs ? 'timeout' : 'pending'
}

/** Progress line, e.g. "forceOpen: applied on 2/2". */
export function progressText(t: { command: BreakerCommand } & CommandTracking): string {
  const base = `${t.command}: applied on ${t.applied}/${t.total}`
  switch (t.status) {
    case 'superseded':
      return `${base} — superseded by a newer command`
    case 'timeout':
      return `${base} — not confirmed on every instance after ${STATUS_TIMEOUT_MS / 1000} s`
    case 'error':
      return `${t.command}: ${t.error ?? 'status unavailable'}`
    default:
      return base
  }
}

/** Toast text at the end of tracking, e.g. "Force open applied on 2/2". */
export function completionText(t: { command: BreakerCommand; breaker: string } & CommandTracking): string {
  const label = COMMAND_LABELS[t.command]
  switch (t.status) {
    case 'applied':
      return `${label} applied on ${t.applied}/${t.total}`
    case 'superseded':
      return `${label} on ${t.breaker} superseded by a newer command (applied on ${t.applied}/${t.total})`
    case 'timeout':
      return `${label} on ${t.breaker} not confirmed after ${STATUS_TIMEOUT_MS / 1000} s: applied on ${t.applied}/${t.total}`
    default:
      return `${label} on ${t.breaker}: ${t.error ?? 'status unavailable'}`
  }
}
