/**
 * Breaker commands as the UI names them, and tracking of an issued command until every targeted instance applied
 * it (`breakers.commandStatus` every 500 ms, for at most 30 s), with a toast at the end. The tracker lives outside
 * React, so progress survives navigating between the Breakers list and a breaker's page.
 */
import { create } from 'zustand'
import type { BreakerCommand } from '../../../../shared/schemas'
import { getCommandStatus, type CommandStatusData } from '../../api'
import { breakerKey } from '../../breakerView'
import { classifyError } from '../../errors'
import { toast } from '../../toasts'

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

/** Breaker pages refresh faster than others while live: state changes and command effects matter there. */
export const BREAKERS_POLL_MS = 2000

/** Polling cadence and deadline of a tracked command. */
export const STATUS_POLL_MS = 500
export const STATUS_TIMEOUT_MS = 30_000

export type TrackStatus = 'pending' | 'applied' | 'superseded' | 'timeout' | 'error'

/** An issued command and how far it got. */
export interface TrackedCommand {
  service: string
  breaker: string
  command: BreakerCommand
  commandId: string
  generation: number
  /** The one instance targeted, or null for all. */
  instance: string | null
  applied: number
  total: number
  status: TrackStatus
  /** Failure text when `status` is `error`. */
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
export function progressText(t: Pick<TrackedCommand, 'command' | 'applied' | 'total' | 'status' | 'error'>): string {
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
export function completionText(t: Pick<TrackedCommand, 'command' | 'breaker' | 'applied' | 'total' | 'status' | 'error'>): string {
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

interface TrackerState {
  /** Latest command per breaker, keyed by `breakerKey(service, breaker)`. */
  byKey: Record<string, TrackedCommand>
}

export const useTrackedCommands = create<TrackerState>()(() => ({ byKey: {} }))

/** The tracked command of one breaker (stable reference, safe as a zustand selector result). */
export function useTrackedCommand(service: string, breaker: string): TrackedCommand | undefined {
  return useTrackedCommands((s) => s.byKey[breakerKey(service, breaker)])
}

const stops = new Map<string, () => void>()

function update(key: string, patch: Partial<TrackedCommand>): TrackedCommand | undefined {
  const current = useTrackedCommands.getState().byKey[key]
  if (!current) return undefined
  const next = { ...current, ...patch }
  useTrackedCommands.setState((s) => ({ byKey: { ...s.byKey, [key]: next } }))
  return next
}

/**
 * Follows a just-issued command until it is applied on every targeted instance, superseded, or 30 s pass; then
 * toasts the outcome. A newer command on the same breaker replaces the older one's tracking.
 */
export function trackCommand(
  cmd: Pick<TrackedCommand, 'service' | 'breaker' | 'command' | 'commandId' | 'generation' | 'instance'>,
  fetchStatus: typeof getCommandStatus = getCommandStatus,
): void {
  const key = breakerKey(cmd.service, cmd.breaker)
  stops.get(key)?.()
  const startedAt = Date.now()
  let timer: ReturnType<typeof setTimeout> | null = null
  const abort = new AbortController()
  let stopped = false
  const stop = () => {
    stopped = true
    abort.abort()
    if (timer !== null) clearTimeout(timer)
    stops.delete(key)
  }
  stops.set(key, stop)
  useTrackedCommands.setState((s) => ({
    byKey: { ...s.byKey, [key]: { ...cmd, applied: 0, total: 0, status: 'pending', error: null } },
  }))

  const finish = (t: TrackedCommand | undefined) => {
    stop()
    if (t) toast(completionText(t), t.status === 'applied' ? 'success' : t.status === 'superseded' ? 'info' : 'error')
  }

  const poll = () => {
    timer = null
    fetchStatus({ service: cmd.service, commandId: cmd.commandId }, { signal: abort.signal }).then(
      (s) => {
        if (stopped) return
        const status = outcomeOf(s, Date.now() - startedAt)
        const t = update(key, { applied: s.appliedCount, total: s.targetCount, status })
        if (status === 'pending') timer = setTimeout(poll, STATUS_POLL_MS)
        else finish(t)
      },
      (err: unknown) => {
        if (stopped) return
        const f = classifyError(err)
        if (f.kind === 'aborted') return
        const elapsed = Date.now() - startedAt
        // A dropped poll is retried until the deadline; a server refusal (404, 403) ends tracking.
        if (f.kind === 'network' && elapsed < STATUS_TIMEOUT_MS) {
          timer = setTimeout(poll, STATUS_POLL_MS)
          return
        }
        const message = f.kind === 'network' ? 'could not reach the server to check progress' : f.message
        finish(update(key, { status: f.kind === 'network' ? 'timeout' : 'error', error: message }))
      },
    )
  }
  poll()
}
