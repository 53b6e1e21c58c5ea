/**
 * The demo storefront: a small Express service instrumented with the Fusebox SDK exactly as a user would do it —
 * request middleware, one breaker per upstream, and a `catalog` cache (cache-aside over Redis, shared by all
 * instances) in front of inventory for `GET /products/:id`, invalidated by tag on `PUT /products/:id`. Run as several
 * instances by server/demo/fleet.ts.
 *
 * `GET /_demo/breakers` answers with this instance's own breaker objects (opossum's flags and Fusebox's mode), so
 * tests can check what an instance really did rather than what the dashboard says.
 */
import { Queue, Worker } from 'bullmq'
import express from 'express'
import { Cluster, Redis } from 'ioredis'
import { z } from 'zod'
import { Name } from '../../shared/schemas'
import { exitWithParent } from '../bootstrap/children.mjs'
import { createCollector } from '../sdk/index'
import { parseClusterSeeds } from '../sdk/redisTopology'
import { mailerFailureRateAt } from './timeline'

const env = z
  .object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//).optional(),
    /** Seeds of a Redis Cluster (host:port,…), instead of REDIS_URL (server/sdk/redisTopology.ts parses them). */
    REDIS_CLUSTER_NODES: z.string().min(1).optional(),
    PORT: z.coerce.number().int().min(0).max(65_535),
    FUSEBOX_INSTANCE: Name,
    UPSTREAM_PAYMENTS_URL: z.url(),
    UPSTREAM_INVENTORY_URL: z.url(),
    UPSTREAM_RECOMMENDATIONS_URL: z.url(),
    /** When the fleet started (epoch ms): the order-email worker's failures follow the incident timeline. */
    FUSEBOX_DEMO_STARTED_AT_MS: z.coerce.number().int().optional(),
  })
  .refine((e) => (e.REDIS_URL === undefined) !== (e.REDIS_CLUSTER_NODES === undefined), { error: 'set exactly one of REDIS_URL and REDIS_CLUSTER_NODES' })
  .parse(process.env)

/** Prints SDK errors, at most one line per place every 5 s (a Redis outage would otherwise log every request). */
const lastLogged = new Map<string, number>()
function logThrottled(e: Error, where: string): void {
  const now = Date.now()
  if (now - (lastLogged.get(where) ?? 0) < 5000) return
  lastLogged.set(where, now)
  console.error(`[sdk:${where}] ${e.message}`)
}

const collector = createCollector({
  redis: env.REDIS_CLUSTER_NODES !== undefined ? { cluster: env.REDIS_CLUSTER_NODES } : (env.REDIS_URL as string),
  service: 'storefront',
  instance: env.FUSEBOX_INSTANCE,
  version: '1.4.2',
  onError: logThrottled,
})

// A real BullMQ queue of order e-mails, worked by every instance; its failures follow the timeline (mailerFailureRateAt).
// The `{…}` prefix keeps each queue's keys in one hash slot, as BullMQ requires on a Redis Cluster.
const bullConnection = () =>
  env.REDIS_CLUSTER_NODES !== undefined
    ? new Cluster(parseClusterSeeds(env.REDIS_CLUSTER_NODES).nodes, { redisOptions: { ...parseClusterSeeds(env.REDIS_CLUSTER_NODES).redisOptions, maxRetriesPerRequest: null } })
    : new Redis(env.REDIS_URL as string, { maxRetriesPerRequest: null })
const startedAtMs = env.FUSEBOX_DEMO_STARTED_AT_MS ?? Date.now()
const emailsConnection = bullConnection()
const workerConnection = bullConnection()
for (const c of [emailsConnection, workerConnection]) c.on('error', (e: Error) => logThrottled(e, 'bullmq'))
const emails = new Queue('order-emails', { connection: emailsConnection, prefix: '{fusebox-demo}' })
const mailer = new Worker(
  'order-emails',
  async () => {
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 60))
    if (Math.random() < mailerFailureRateAt(Date.now() - startedAtMs)) throw new Error('mail relay refused the message')
  },
  { connection: workerConnection, prefix: '{fusebox-demo}', concurrency: 2 },
)
mailer.on('error', (e) => logThrottled(e, 'bullmq worker'))
collector.watchQueue(emails, { worker: mailer })

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

// Product details from inventory, cached for 30 s across instances; tagged per product and as a whole catalog.
const catalog = collector.cache<unknown>('catalog', { ttlSeconds: 30 })
/** A product id as it appears in URLs: also safe as a cache key and tag (no control characters, short). */
const ProductId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)
const PriceUpdate = z.object({ price: z.number().nonnegative().max(1_000_000) })

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
  const id = ProductId.safeParse(req.params.id)
  if (!id.success) {
    res.status(400).json({ error: 'invalid product id' })
    return
  }
  try {
    const stock = await catalog.getOrSet(
      `product:${id.data}`,
      () => inventory.fire(`/stock/${id.data}`),
      { tags: ['catalog', `product:${id.data}`] },
    )
    res.json({ id: id.data, stock })
  } catch (e) {
    next(e)
  }
})
app.put('/products/:id', async (req, res, next) => {
  const id = ProductId.safeParse(req.params.id)
  const body = PriceUpdate.safeParse(req.body)
  if (!id.success || !body.success) {
    res.status(400).json({ error: !id.success ? 'invalid product id' : 'body must be JSON { "price": number ≥ 0 }' })
    return
  }
  try {
    // Inventory is the system of record: update it first (through its breaker), then drop the stale cache entry.
    await inventory.fire(`/products/${id.data}/price/${body.data.price}`)
    await catalog.invalidateTag(`product:${id.data}`)
    res.status(204).end()
  } catch (e) {
    next(e)
  }
})
app.post('/checkout', async (_req, res, next) => {
  try {
    const order = Date.now()
    const payment = await payments.fire('/charge')
    // The receipt goes out through the queue; a queue error never fails the checkout.
    emails.add('receipt', { order }, { removeOnComplete: 1000, removeOnFail: 5000 }).catch((e: unknown) => logThrottled(e as Error, 'order-emails'))
    res.status(201).json({ order, payment })
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
  // The client's own mistake (e.g. malformed JSON or a too large body, from express.json): its 4xx, not a 502.
  const clientStatus = (err as { status?: unknown }).status
  if (!(err instanceof UpstreamError) && typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
    res.status(clientStatus).json({ error: 'bad request' })
    return
  }
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
  // The worker first (it stops taking jobs and lets its current ones end), then what the collector counted is written.
  await Promise.race([mailer.close(), new Promise((r) => setTimeout(r, 2000))])
  await collector.close()
  await emails.close().catch(() => undefined)
  for (const c of [emailsConnection, workerConnection]) c.disconnect()
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
