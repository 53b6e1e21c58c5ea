/**
 * Test helper process for server/app/prometheus.test.ts: one instance of a monitored service — a real collector
 * (server/sdk) recording a known, steady traffic — so a real Prometheus can be checked against Fusebox's own figures.
 *
 * Environment: REDIS_URL, FUSEBOX_PREFIX, SERVICE, INSTANCE, RATE (requests per second, steady: the n-th request is
 * recorded at n/RATE s after `go`), FLUSH_MS (collector flush interval).
 * IPC, child → parent: `{ type: 'ready' }` once the collector exists; parent → child: `{ type: 'go' }` starts the
 * traffic, `{ type: 'count' }` is answered with `{ type: 'count', requests }`. Exits with its parent (IPC gone).
 *
 * The traffic, per 100 requests (so any minute holds the same mix): durations 90 × 20 ms, 8 × 60 ms, 2 × 400 ms
 * (p95 in the OTel bucket (50, 75] ms); per 20 requests: 12 × `GET /orders/:id` 200, 2 × `GET /orders/:id` 404,
 * 4 × `POST /orders` 201, 1 × `POST /orders` 500, 1 × `GET /health` 200. Every 10th request also fires the breaker
 * `payments` and every request counts a cache hit (4 in 5) or miss on `catalog`.
 */
import { createCollector } from '../../sdk/index'

const { REDIS_URL, FUSEBOX_PREFIX, SERVICE, INSTANCE, RATE, FLUSH_MS } = process.env
if (!REDIS_URL || !FUSEBOX_PREFIX || !SERVICE || !INSTANCE || !RATE) throw new Error('fleetTrafficChild: REDIS_URL, FUSEBOX_PREFIX, SERVICE, INSTANCE and RATE are required')
const rate = Number(RATE)

const collector = createCollector({
  redis: REDIS_URL,
  service: SERVICE,
  instance: INSTANCE,
  prefix: FUSEBOX_PREFIX,
  flushIntervalMs: Number(FLUSH_MS ?? 250),
  onError: (e, where) => console.error(`[traffic ${INSTANCE}] ${where}: ${e.message}`),
})
const payments = collector.breaker('payments', async () => 'ok')

const ROUTES: { method: string; route: string; status: number }[] = [
  ...Array.from({ length: 12 }, () => ({ method: 'GET', route: '/orders/:id', status: 200 })),
  ...Array.from({ length: 2 }, () => ({ method: 'GET', route: '/orders/:id', status: 404 })),
  ...Array.from({ length: 4 }, () => ({ method: 'POST', route: '/orders', status: 201 })),
  { method: 'POST', route: '/orders', status: 500 },
  { method: 'GET', route: '/health', status: 200 },
]
/** Duration of the i-th request of each 100, ms; spread so every block of 10 holds 9 fast ones. */
const durationMs = (i: number): number => {
  const k = i % 100
  if (k === 49 || k === 99) return 400
  if (k % 10 === 9) return 60
  return 20
}

let recorded = 0
function record(): void {
  const r = ROUTES[recorded % ROUTES.length]!
  collector.recordRequest({ ...r, durationMs: durationMs(recorded) })
  collector.recordCacheEvent('catalog', recorded % 5 === 4 ? 'misses' : 'hits')
  if (recorded % 10 === 0) void payments.fire().catch(() => undefined)
  recorded++
}

let startedAt = 0
let ticker: NodeJS.Timeout | undefined
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'go' && !ticker) {
    startedAt = performance.now()
    ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) * rate) / 1000)
      while (recorded < due) record()
    }, 10)
  } else if (m?.type === 'count') process.send?.({ type: 'count', requests: recorded })
})
process.once('disconnect', () => {
  if (ticker) clearInterval(ticker)
  void collector.close().finally(() => process.exit(0))
})
process.send?.({ type: 'ready' })
