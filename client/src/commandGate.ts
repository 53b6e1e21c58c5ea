/**
 * Whether this tab may send a command (breaker, cache, queue, alerting) right now, and if not, why — one rule for
 * every page (issue #15: commands disabled, with the reason, whenever the server cannot act on them).
 */
import type { Role } from '../../shared/schemas'
import { useIsOffline, useSessionStore } from './store'

/** What decides whether commands are allowed. */
export interface CommandGateInput {
  role: Role | null
  /** The tab shows saved data: the browser is offline or the server unreachable (`useIsOffline`). */
  offline: boolean
  /**
   * Why the server cannot serve live data though it answers (its message, e.g. "Redis is unreachable: …";
   * `liveError` of the session store); null when it can.
   */
  serverError?: string | null
}

/**
 * @returns why commands are disabled — offline first, then a server that cannot reach Redis, then the role — or null
 *   when they are allowed
 */
export function commandBlockedReason({ role, offline, serverError = null }: CommandGateInput): string | null {
  if (offline) return 'Offline — commands need a connection to the Fusebox server'
  if (serverError !== null) return `The server cannot act now (${serverError}) — commands wait until it can`
  if (role === null) return 'Sign in with an operator token to issue commands'
  if (role !== 'operator') return 'Only operators can issue commands — you are signed in as a viewer'
  return null
}

/** `commandBlockedReason` for this tab, kept current (role, connectivity, the server's live error). */
export function useCommandBlockedReason(): string | null {
  const role = useSessionStore((s) => s.role)
  const serverError = useSessionStore((s) => s.liveError)
  const offline = useIsOffline()
  return commandBlockedReason({ role, offline, serverError })
}
