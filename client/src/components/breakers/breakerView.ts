/**
 * What the Breakers table shows, derived from a `BreakerSummary`: agreement text ("OPEN on 1/2"), the colour
 * tone of a state, and why commands are disabled. A command's progress is not derived from the summary (whose
 * live-instance count shrinks when an instance is cut off): it comes from `breakers.commandStatus` over the command's
 * fixed target set (commands.ts, issuedCommands.ts).
 */
import type { BreakerState, BreakerSummary } from '../../../../shared/schemas'

/** Colour tone of a breaker state; always shown together with the state's text. */
export type StateTone = 'ok' | 'bad' | 'warn' | 'forced'

const TONES: Record<BreakerState, StateTone> = {
  CLOSED: 'ok',
  OPEN: 'bad',
  HALF_OPEN: 'warn',
  FORCED_OPEN: 'forced',
  FORCED_CLOSED: 'forced',
}

/** Breaker states, most severe first (the summary's own order: FORCED_OPEN > OPEN > HALF_OPEN > FORCED_CLOSED > CLOSED). */
export const BREAKER_STATE_ORDER: readonly BreakerState[] = ['FORCED_OPEN', 'OPEN', 'HALF_OPEN', 'FORCED_CLOSED', 'CLOSED']

/**
 * Orders breakers for an operator: not CLOSED first, most severe state first, then by service and name (issue #15:
 * an OPEN breaker never sits below the fold under CLOSED ones).
 */
export function byUrgency(a: Pick<BreakerSummary, 'clusterState' | 'service' | 'name'>, b: Pick<BreakerSummary, 'clusterState' | 'service' | 'name'>): number {
  return (
    BREAKER_STATE_ORDER.indexOf(a.clusterState) - BREAKER_STATE_ORDER.indexOf(b.clusterState) ||
    a.service.localeCompare(b.service) ||
    a.name.localeCompare(b.name)
  )
}

/** The path of a breaker's detail page, `/breakers/<service>/<breaker>` (each part URI-encoded). */
export function breakerDetailPath(service: string, name: string): string {
  return `/breakers/${encodeURIComponent(service)}/${encodeURIComponent(name)}`
}

/**
 * When a breaker entered its cluster state: the earliest `lastTransitionAtMs` of the instances in that state (as the
 * `breaker_not_closed` alert counts it), epoch ms; null when no instance reports it.
 */
export function enteredStateAtMs(b: Pick<BreakerSummary, 'clusterState' | 'instances'>): number | null {
  const times = b.instances.filter((i) => i.state === b.clusterState).map((i) => i.lastTransitionAtMs)
  return times.length ? Math.min(...times) : null
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

/** Stable key of a breaker across the app (store maps, React keys). */
export function breakerKey(service: string, name: string): string {
  return `${service}/${name}`
}
