/**
 * Deterministic sample generation for the benchmarks: a seeded PRNG, lognormal and bimodal durations, and a
 * pre-generated request mix (method, route template, status, duration) so every contender sees the same input.
 */
import { seededRandom, standardNormal } from '../shared/random'

export { seededRandom }

/** Lognormal duration in ms with the given median (ms) and sigma (of the underlying normal). */
export function lognormalMs(random: () => number, medianMs: number, sigma: number): number {
  return medianMs * Math.exp(sigma * standardNormal(random))
}

/** `n` lognormal durations: median 20 ms, σ 0.8 (p99 ≈ 130 ms) — a typical API endpoint. */
export function lognormalSamples(n: number, seed = 1): Float64Array {
  const random = seededRandom(seed)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = lognormalMs(random, 20, 0.8)
  return out
}

/** `n` bimodal durations: 90% cache hits around 3 ms (σ 0.3), 10% misses around 250 ms (σ 0.4). */
export function bimodalSamples(n: number, seed = 2): Float64Array {
  const random = seededRandom(seed)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = random() < 0.9 ? lognormalMs(random, 3, 0.3) : lognormalMs(random, 250, 0.4)
  return out
}

/** One pre-generated request: what a middleware would see at the end of it. */
export interface RequestSample {
  method: string
  route: string
  status: number
  durationMs: number
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'] as const
/** Mostly 200, some 201/204/304, a little 4xx and 5xx. */
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201, 204, 304, 400, 404, 404, 500, 503] as const

/** `n` requests over `routeCount` route templates (Zipf-ish: low route numbers are hotter), lognormal durations. */
export function requestSamples(n: number, routeCount: number, seed = 3): RequestSample[] {
  const random = seededRandom(seed)
  const routes = Array.from({ length: routeCount }, (_, i) => `/api/v1/resource${i}/:id`)
  const out: RequestSample[] = new Array<RequestSample>(n)
  for (let i = 0; i < n; i++) {
    const r = Math.min(routeCount - 1, Math.floor(routeCount * random() * random()))
    out[i] = {
      method: METHODS[Math.floor(random() * METHODS.length)] ?? 'GET',
      route: routes[r] ?? routes[0]!,
      status: STATUSES[Math.floor(random() * STATUSES.length)] ?? 200,
      durationMs: lognormalMs(random, 20, 0.8),
    }
  }
  return out
}
