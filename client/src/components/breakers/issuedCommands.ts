/**
 * The one store of commands this tab issued: per breaker the latest, keyed by `breakerKey(service, breaker)`. The
 * Overview row and the Breakers pages track a command over the fixed set of instances it was issued to until every
 * one not gone applied it (`breakers.commandStatus` every 500 ms, for at most 30 s), with a toast at the end. The store lives outside React, so progress survives navigating between pages. It
 * is never persisted, and session.ts empties it (and stops every tracker) when the session ends or is signed out.
 */
import { create } from 'zustand'
import type { BreakerCommand } from '../../../../shared/schemas'
import { getCommandStatus } from '../../api'
import { classifyError } from '../../errors'
import { toast } from '../../toasts'
import { breakerKey } from './breakerView'
import { completionText, NO_PROGRESS, outcomeOf, STATUS_POLL_MS, STATUS_TIMEOUT_MS, trackingOf, type CommandTracking } from './commands'

/** A command this tab issued on one breaker, identified by the command id and generation the server returned. */
export interface IssuedCommand {
  service: string
  breaker: string
  command: BreakerCommand
  commandId: string
  generation: number
  /** The one instance targeted, or null for every instance. */
  instance: string | null
  /** How far it got, for a command tracked by polling (`trackCommand`); null for one only recorded (`recordIssued`). */
  tracking: CommandTracking | null
}

interface IssuedCommandsState {
  /** Latest command issued from this tab per breaker, keyed by `breakerKey(service, breaker)`. */
  byKey: Record<string, IssuedCommand>
}

/** The store of issued commands (`{ byKey }`); write it only through the functions below. */
export const useIssuedCommands = create<IssuedCommandsState>()(() => ({ byKey: {} }))

/** The latest command this tab issued on one breaker (a stored reference, safe as a zustand selector result). */
export function useIssuedCommand(service: string, breaker: string): IssuedCommand | undefined {
  return useIssuedCommands((s) => s.byKey[breakerKey(service, breaker)])
}

function put(cmd: IssuedCommand): void {
  const key = breakerKey(cmd.service, cmd.breaker)
  useIssuedCommands.setState((s) => ({ byKey: { ...s.byKey, [key]: cmd } }))
}

/**
 * Records a command that is not tracked by polling (the Overview's reset: its row follows the live snapshot). It
 * replaces the breaker's previous command in the store; a tracker still running for that one finishes with its toast.
 */
export function recordIssued(cmd: Omit<IssuedCommand, 'tracking'>): void {
  put({ ...cmd, tracking: null })
}

/** Stop functions of the running trackers, per breaker key. */
const trackers = new Map<string, () => void>()

/** Empties the store and stops every tracker without a toast (sign-out, session ended). */
export function clearIssuedCommands(): void {
  for (const stop of [...trackers.values()]) stop()
  useIssuedCommands.setState({ byKey: {} })
}

/**
 * Records a just-issued command and follows it until it is applied on every targeted instance, superseded, or 30 s
 * pass; then toasts the outcome. A newer tracked command on the same breaker replaces the older one's tracking.
 */
export function trackCommand(
  cmd: Omit<IssuedCommand, 'tracking'>,
  fetchStatus: typeof getCommandStatus = getCommandStatus,
): void {
  const key = breakerKey(cmd.service, cmd.breaker)
  trackers.get(key)?.()
  const startedAt = Date.now()
  let timer: ReturnType<typeof setTimeout> | null = null
  const abort = new AbortController()
  let stopped = false
  const stop = () => {
    stopped = true
    abort.abort()
    if (timer !== null) clearTimeout(timer)
    if (trackers.get(key) === stop) trackers.delete(key)
  }
  trackers.set(key, stop)
  let tracking: CommandTracking = NO_PROGRESS
  put({ ...cmd, tracking })

  // The store shows the progress while this command is still the breaker's latest (recordIssued may replace it).
  const advance = (patch: Partial<CommandTracking>) => {
    tracking = { ...tracking, ...patch }
    const current = useIssuedCommands.getState().byKey[key]
    if (current?.commandId === cmd.commandId) put({ ...current, tracking })
  }

  const finish = () => {
    stop()
    const t = { command: cmd.command, breaker: cmd.breaker, ...tracking }
    toast(completionText(t), t.status === 'applied' ? 'success' : t.status === 'superseded' || t.status === 'noTargets' ? 'info' : 'error')
  }

  const poll = () => {
    timer = null
    fetchStatus({ service: cmd.service, commandId: cmd.commandId }, { signal: abort.signal }).then(
      (s) => {
        if (stopped) return
        const status = outcomeOf(s, Date.now() - startedAt)
        advance({ ...trackingOf(s), status })
        if (status === 'pending') timer = setTimeout(poll, STATUS_POLL_MS)
        else finish()
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
        advance({ status: f.kind === 'network' ? 'timeout' : 'error', error: message })
        finish()
      },
    )
  }
  poll()
}
