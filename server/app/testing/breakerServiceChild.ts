/**
 * Test helper process for server/app/haproxy.test.ts: one instance of a monitored service with a real collector
 * (server/sdk) on one Redis or a Redis Cluster, recording a steady traffic and protecting its calls with the breaker
 * `payments` — so a dashboard can show its figures moving and force that breaker open, and the test can ask the
 * instance itself (not the dashboard) what its breaker does. The pattern of testing/fleetTrafficChild.ts, plus a
 * cluster target and the breaker's own view.
 *
 * Environment: REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (cluster seeds, `host:port,…`), FUSEBOX_PREFIX, SERVICE,
 * INSTANCE, RATE (requests per second from the start; the n-th at n/RATE s), FLUSH_MS (collector flush interval,
 * default 250).
 * IPC, child → parent: `{ type: 'ready' }` once the collector exists; parent → child: `{ type: 'breaker' }` is
 * answered with a `BreakerView` (`type: 'breaker'`). Exits with its parent (IPC gone).
 *
 * Per 10 requests: 9 × `GET /orders/:id` 200 in 20 ms, 1 × `POST /orders` 500 in 60 ms; each also calls
 * `payments.fire()` (rejected while the breaker is forced open: counted in `rejected`).
 */
import { createCollector } from '../../sdk/index'

/** What the instance's own breaker `payments` says (its answer to `{ type: 'breaker' }`). */
export interface BreakerView {
  type: 'breaker'
  instance: string
  /** `FuseboxBreaker.state`: CLOSED / OPEN / HALF_OPEN, or the operator's FORCED_OPEN / FORCED_CLOSED. */
  state: string
  /** `FuseboxBreaker.mode`: NORMAL, FORCED_OPEN or FORCED_CLOSED. */
  mode: string
  /** Generation of the last command applied (0 = none). */
  appliedGeneration: number
  /** Whether opossum itself is open (a forced open holds it open). */
  opossumOpened: boolean
  /** Calls so far, and how many the breaker rejected. */
  calls: number
  rejected: number
}

const { REDIS_URL, REDIS_CLUSTER_NODES, FUSEBOX_PREFIX, SERVICE, INSTANCE, RATE, FLUSH_MS } = process.env
if ((!REDIS_URL && !REDIS_CLUSTER_NODES) || !FUSEBOX_PREFIX || !SERVICE || !INSTANCE || !RATE) {
  throw new Error('breakerServiceChild: REDIS_URL or REDIS_CLUSTER_NODES, FUSEBOX_PREFIX, SERVICE, INSTANCE and RATE are required')
}
const rate = Number(RATE)
const instance = INSTANCE

const collector = createCollector({
  redis: REDIS_CLUSTER_NODES ? { cluster: REDIS_CLUSTER_NODES } : REDIS_URL!,
  service: SERVICE,
  instance,
  prefix: FUSEBOX_PREFIX,
  flushIntervalMs: Number(FLUSH_MS ?? 250),
  onError: (e, where) => console.error(`[service ${instance}] ${where}: ${e.message}`),
})
const payments = collector.breaker('payments', async () => 'ok')

let calls = 0
let rejected = 0
function record(): void {
  const failed = calls % 10 === 9
  collector.recordRequest(failed ? { method: 'POST', route: '/orders', status: 500, durationMs: 60 } : { method: 'GET', route: '/orders/:id', status: 200, durationMs: 20 })
  calls++
  payments.fire().catch(() => void rejected++)
}

const startedAt = performance.now()
const ticker = setInterval(() => {
  const due = Math.floor(((performance.now() - startedAt) * rate) / 1000)
  while (calls < due) record()
}, 10)

process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'breaker') return
  const view: BreakerView = {
    type: 'breaker',
    instance,
    state: payments.state,
    mode: payments.mode,
    appliedGeneration: payments.appliedGeneration,
    opossumOpened: payments.opossum.opened,
    calls,
    rejected,
  }
  process.send?.(view)
})
process.once('disconnect', () => {
  clearInterval(ticker)
  void collector.close().finally(() => process.exit(0))
})
process.send?.({ type: 'ready' })
