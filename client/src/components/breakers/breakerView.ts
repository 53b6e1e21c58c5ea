/**
 * What the Breakers table shows, derived from a `BreakerSummary`: agreement text ("OPEN on 1/2"), the colour
 * tone of a state, and why commands are disabled. A command's progress is not derived from the summary (whose
 * live-instance count shrinks when an instance is cut off): it comes from `breakers.commandStatus` over the command's
 * fixed target set (commands.ts, issuedCommands.ts).
 */
import type { BreakerState, BreakerSummary, Role } from '../../../../shared/schemas'

/** Colour tone of a breaker state; always shown together with the state's text. */
export type StateTone = 'ok' | 'bad' | 'warn' | 'forced'

const TONES: Record<BreakerState, StateTone> = {
  CLOSED: 'ok',
  OPEN: 'bad',
  HALF_OPEN: 'warn',
  FORCED_OPEN: 'forced',
  FORCED_CLOSED: 'forced',
}

/** Tone for a breaker state (CSS class suffix `tone-<tone>`). */
export function stateTone(state: BreakerState): StateTone {
  return TONES[state]
}

/** "OPEN on 1/2": the cluster state and how many live reporting instances are in it. */
export function agreementText(b: Pick<BreakerSummary, 'clusterState' | 'inClusterState' | 'instancesReporting'>): string {
  if (b.instancesReporting === 0) return 'no live instances'
  return `${b.clusterState} on ${b.inClusterState}/${b.instancesReporting}`
}

/** Whether some live instances are not in the cluster state (the instances disagree). */
export function isDisagreement(b: Pick<BreakerSummary, 'inClusterState' | 'instancesReporting'>): boolean {
  return b.inClusterState < b.instancesReporting
}

/** Why breaker commands are disabled for this user right now, or null when they are allowed. */
export function commandBlockedReason(opts: { role: Role | null; offline: boolean }): string | null {
  if (opts.offline) return 'Offline — commands need a connection to the Fusebox server'
  if (opts.role === null) return 'Sign in with an operator token to issue commands'
  if (opts.role !== 'operator') return 'Only operators can issue commands — you are signed in as a viewer'
  return null
}

/** Stable key of a breaker across the app (store maps, React keys). */
export function breakerKey(service: string, name: string): string {
  return `${service}/${name}`
}
