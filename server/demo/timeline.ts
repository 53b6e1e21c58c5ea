/**
 * The demo's incident timeline: how each upstream behaves at a given time since the fleet started. Pure — takes
 * the elapsed time, returns the behaviour — so the story is testable and the same on every run.
 *
 * One cycle lasts CYCLE_MS (4 min) and repeats:
 * - payments: healthy, then from 20 s an outage (80% errors) that trips the storefront's breaker, then a slow
 *   recovery (errors falling from 40% to 2% between 70 s and 110 s), healthy again after.
 * - inventory: a latency spike (×8) from 120 s to 160 s.
 * - recommendations: 3% errors, with a burst of slow responses (1.5 s, beyond the breaker's timeout) at 180–210 s.
 * - the order-email worker (BullMQ queue `order-emails`): 2% of jobs fail, 70% while the mail relay is down at
 *   30–60 s (beside the payments outage) and 40% at 190–205 s.
 *
 * The warehouse service's upstreams (server/demo/warehouse.ts), on the same cycle, so the fleet view shows two
 * services in trouble at different moments:
 * - carrier (the shipping carrier's label and tracking API): 1% errors; an outage (70% errors) at 140–175 s that trips
 *   the warehouse's `carrier` breaker, recovering (errors falling from 30% to 1%) until 195 s.
 * - erp (stock levels): 0.5% errors; slow (median 300 ms, p99 past 500 ms) at 60–90 s, without errors.
 */
import { boxMuller } from '../../shared/random'

/** Length of one incident cycle, ms. */
export const CYCLE_MS = 240_000

/** Upstreams of the demo storefront. */
export const UPSTREAMS = ['payments', 'inventory', 'recommendations'] as const
/** Upstreams of the demo warehouse (listening after the storefront's: port base + 3, + 4). */
export const WAREHOUSE_UPSTREAMS = ['carrier', 'erp'] as const
/** Any upstream of the demo fleet. */
export type Upstream = (typeof UPSTREAMS)[number] | (typeof WAREHOUSE_UPSTREAMS)[number]

/** Behaviour of an upstream at one moment: probability of a 5xx, and the median/spread of its latency (ms). */
export interface Behaviour {
  errorRate: number
  latencyMedianMs: number
  /** σ of the lognormal latency around the median. */
  latencySigma: number
  phase: string
}

function lerp(a: number, b: number, f: number): number {
  return a + (b - a) * Math.min(1, Math.max(0, f))
}

/** Behaviour of `upstream` at `elapsedMs` since the fleet started (negative values count as 0). */
export function behaviourAt(upstream: Upstream, elapsedMs: number): Behaviour {
  const t = (Math.max(0, elapsedMs) % CYCLE_MS) / 1000
  switch (upstream) {
    case 'payments':
      if (t >= 20 && t < 70) return { errorRate: 0.8, latencyMedianMs: 60, latencySigma: 0.5, phase: 'outage' }
      if (t >= 70 && t < 110) return { errorRate: lerp(0.4, 0.02, (t - 70) / 40), latencyMedianMs: 90, latencySigma: 0.5, phase: 'recovering' }
      return { errorRate: 0.01, latencyMedianMs: 45, latencySigma: 0.35, phase: 'healthy' }
    case 'inventory':
      if (t >= 120 && t < 160) return { errorRate: 0.02, latencyMedianMs: 160, latencySigma: 0.5, phase: 'latency spike' }
      return { errorRate: 0.005, latencyMedianMs: 20, latencySigma: 0.4, phase: 'healthy' }
    case 'recommendations':
      if (t >= 180 && t < 210) return { errorRate: 0.1, latencyMedianMs: 1500, latencySigma: 0.2, phase: 'slow' }
      return { errorRate: 0.03, latencyMedianMs: 35, latencySigma: 0.5, phase: 'healthy' }
    case 'carrier':
      if (t >= 140 && t < 175) return { errorRate: 0.7, latencyMedianMs: 120, latencySigma: 0.5, phase: 'outage' }
      if (t >= 175 && t < 195) return { errorRate: lerp(0.3, 0.01, (t - 175) / 20), latencyMedianMs: 110, latencySigma: 0.5, phase: 'recovering' }
      return { errorRate: 0.01, latencyMedianMs: 80, latencySigma: 0.4, phase: 'healthy' }
    case 'erp':
      if (t >= 60 && t < 90) return { errorRate: 0.005, latencyMedianMs: 300, latencySigma: 0.45, phase: 'slow' }
      return { errorRate: 0.005, latencyMedianMs: 25, latencySigma: 0.4, phase: 'healthy' }
  }
}

/** Draws a latency (ms) from the behaviour's lognormal distribution using two uniforms in (0, 1]. */
export function drawLatencyMs(b: Behaviour, u1: number, u2: number): number {
  return b.latencyMedianMs * Math.exp(b.latencySigma * boxMuller(u1, u2))
}

/** Share of order-email jobs that fail at `elapsedMs` since the fleet started (the mail relay's own incidents). */
export function mailerFailureRateAt(elapsedMs: number): number {
  const t = (Math.max(0, elapsedMs) % CYCLE_MS) / 1000
  if (t >= 30 && t < 60) return 0.7
  if (t >= 190 && t < 205) return 0.4
  return 0.02
}
