/**
 * The demo storefront: a small Express service instrumented with the Fusebox SDK exactly as a user would do it —
 * request middleware, and one breaker per upstream. Run as several instances by server/demo/fleet.ts.
 *
 * `GET /_demo/breakers` answers with this instance's own breaker objects (opossum's flags and Fusebox's mode), so
 * tests can check what an instance really did rather than what the dashboard says.
 */
import express from 'express'
import { z } from 'zod'
import { Name } from '../../shared/schemas'
import { exitWithParent } from '../bootstrap/children.mjs'
import { createCollector } from '../sdk/index'

const env = z
  .object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//),
    PORT: z.coerce.number().int().min(0).max(65_535),
    FUSEBOX_INSTANCE: Name,
    UPSTREAM_PAYMENTS_URL: z.url(),
    UPSTREAM_INVENTORY_URL: z.url(),
    UPSTREAM_RECOMMENDATIONS_URL: z.url(),
  })
  .parse(process.env)

const collector = createCollector({
  redis: env.REDIS_URL,
  service: 'storefront',
  instance: env.FUSEBOX_INSTANCE,
  version: '1.4.2',
  onError: (e, where) => console.error(`[sdk:${where}] ${e.message}`),
})

class UpstreamError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** Calls an upstream; rejects on a non-2xx answer or when the breaker's AbortSignal fires. */
async function callUpstream(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new UpstreamError(res.status, `upstream answered ${res.status}`)
  return res.json()
}

const breakerOptions = { errorThresholdPercentage: 50, resetTimeout: 10_000, volumeThreshold: 5, rollingCountTimeout: 10_000 }
const payments = collector.breaker('payments', (path: string) => callUpstream(env.UPSTREAM_PAYMENTS_URL + path), {
  ...breakerOptions,
  timeout: 1000,
})
const inventory = collector.breaker('inventory', (path: string) => callUpstream(env.UPSTREAM_INVENTORY_URL + path), {
  ...breakerOptions,
  timeout: 1000,
})
const recommendations = collector.breaker(
  'recommendations',
  (path: string) => callUpstream(env.UPSTREAM_RECOMMENDATIONS_URL + path),
  { ...breakerOptions, timeout: 800 },
)
// A degraded answer beats an error page for recommendations.
recommendations.opossum.fallback(() => ({ ok: true, items: ['bestsellers'], degraded: true }))

const app = express()
app.disable('x-powered-by')

app.get('/_demo/breakers', (_req, res) => {
  res.json({
    instance: collector.instance,
    breakers: collector.listBreakers().map((b) => ({
      name: b.name,
      state: b.state,
      mode: b.mode,
      appliedGeneration: b.appliedGeneration,
      opossum: { opened: b.opossum.opened, halfOpen: b.opossum.halfOpen, closed: b.opossum.closed },
    })),
  })
})

app.use(collector.httpMiddleware())
app.use(express.json({ limit: '16kb' }))

app.get('/products', async (_req, res, next) => {
  try {
    res.json({ products: [1, 2, 3], stock: await inventory.fire('/stock') })
  } catch (e) {
    next(e)
  }
})
app.get('/products/:id', async (req, res, next) => {
  try {
    res.json({ id: req.params.id, stock: await inventory.fire(`/stock/${encodeURIComponent(req.params.id)}`) })
  } catch (e) {
    next(e)
  }
})
app.post('/checkout', async (_req, res, next) => {
  try {
    res.status(201).json({ order: Date.now(), payment: await payments.fire('/charge') })
  } catch (e) {
    next(e)
  }
})
app.get('/recommendations', async (_req, res, next) => {
  try {
    res.json(await recommendations.fire('/for-you'))
  } catch (e) {
    next(e)
  }
})
app.get('/healthz', (_req, res) => {
  res.json({ ok: true })
})
app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  const code = (err as { code?: string }).code
  // An open breaker short-circuits: 503 with a hint, like a real service would.
  const status = code === 'EOPENBREAKER' ? 503 : code === 'ETIMEDOUT' ? 504 : 502
  res.status(status).json({ error: err instanceof Error ? err.message : 'upstream failure' })
})

const server = app.listen(env.PORT, '127.0.0.1', () => {
  console.log(`storefront ${collector.instance} on http://127.0.0.1:${env.PORT}`)
})

async function shutdown(): Promise<void> {
  server.close()
  server.closeIdleConnections()
  await collector.close()
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
