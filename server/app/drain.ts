/**
 * The standalone server's lame-duck period (docs/decisions/034-lame-duck-stop.md): on SIGTERM, while a load balancer
 * is health-checking this server, keep serving but answer `/healthz` 503 for `FUSEBOX_SHUTDOWN_DRAIN_MS`, so the
 * balancer takes the server out of rotation *before* it stops listening and closes its keep-alive connections.
 * Without it, a request the balancer sent on an idle keep-alive connection at the moment the stopping server closed
 * it is lost in flight (HAProxy answers 502: a reused connection that fails after the request was sent is not
 * retried under `retry-on conn-failure`, decision 030).
 */

/** A health check counts as "recent" for this long, ms: above Kubernetes' default probe period (10 s) and HAProxy's `inter` (2 s default). */
export const HEALTH_CHECK_WINDOW_MS = 15_000
/** How many `/healthz` requests within the window mean "something checks this server periodically". */
export const HEALTH_CHECKS_FOR_BALANCER = 2
/**
 * Default lame-duck period, ms: the documented HAProxy config (docs/haproxy.cfg: `inter 1s fall 2`) takes a server
 * out after two failed checks 1 s apart, plus up to one interval for the check due at the signal — 3 s, measured
 * 1.1–2.2 s (decision 030) — and 1 s of margin for a loaded machine. Kept short enough that the whole stop (this +
 * ≤ 5 s) fits `docker stop`'s default 10 s before its SIGKILL. Another balancer needs ≥ (fall + 1) × interval.
 */
export const DEFAULT_SHUTDOWN_DRAIN_MS = 4000

/**
 * Remembers when `/healthz` was requested (the last HEALTH_CHECKS_FOR_BALANCER times: constant memory) and says how
 * long a stop should stay in the lame-duck state.
 */
export class HealthCheckWatch {
  private readonly times: number[] = []

  /** @param drainMs FUSEBOX_SHUTDOWN_DRAIN_MS: the lame-duck period when health-checked, ms (0 = never drain). */
  constructor(private readonly drainMs: number) {}

  /** Records one `/healthz` request at `nowMs` (epoch ms). */
  seen(nowMs: number): void {
    this.times.push(nowMs)
    if (this.times.length > HEALTH_CHECKS_FOR_BALANCER) this.times.shift()
  }

  /**
   * The lame-duck period for a stop at `nowMs`, ms: `drainMs` when at least HEALTH_CHECKS_FOR_BALANCER health checks
   * arrived within the last HEALTH_CHECK_WINDOW_MS (a balancer is watching: it needs time to notice), else 0 (nobody
   * would notice the 503: waiting would only delay the stop — a developer's Ctrl-C, a test, `npm start`).
   */
  drainFor(nowMs: number): number {
    if (this.drainMs <= 0 || this.times.length < HEALTH_CHECKS_FOR_BALANCER) return 0
    return nowMs - this.times[0]! <= HEALTH_CHECK_WINDOW_MS ? this.drainMs : 0
  }
}
