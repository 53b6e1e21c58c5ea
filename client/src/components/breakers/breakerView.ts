/**
 * What the Breakers table shows, derived from a `BreakerSummary`: agreement text ("OPEN on 1/2"), the colour
 * tone of a state, the progress of a command the operator issued, and why commands are disabled.
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

/** Progress of a command (known by the generation the server returned) as the live snapshots report it. */
export interface CommandProgress {
  /** `waiting`: snapshot predates the command; `partial`/`applied`: n of m; `superseded`: a newer command exists. */
  status: 'waiting' | 'partial' | 'applied' | 'superseded'
  applied: number
  total: number
  text: string
}

/**
 * Progress of the command with `generation` on breaker `b`. `appliedCount` counts live instances whose applied
 * generation ≥ `desiredGeneration`, so it only describes our command while `desiredGeneration === generation`.
 * Success is never claimed before every reporting instance has applied it.
 */
export function commandProgress(
  b: Pick<BreakerSummary, 'desiredGeneration' | 'appliedCount' | 'instancesReporting'>,
  generation: number,
): CommandProgress {
  const total = b.instancesReporting
  if (b.desiredGeneration < generation) {
    return { status: 'waiting', applied: 0, total, text: `applied on 0/${total}` }
  }
  if (b.desiredGeneration > generation) {
    return {
      status: 'superseded',
      applied: b.appliedCount,
      total,
      text: `superseded by a newer command (generation ${b.desiredGeneration})`,
    }
  }
  const applied = Math.min(b.appliedCount, total)
  const status = total > 0 && applied >= total ? 'applied' : 'partial'
  return { status, applied, total, text: `applied on ${applied}/${total}` }
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
