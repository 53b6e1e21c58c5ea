/**
 * The demo warehouse: the fleet's second service (issue #15: a fleet view needs more than one), a small Express
 * service instrumented with the Fusebox SDK like the storefront — request middleware and one breaker per upstream:
 * `carrier` (the shipping carrier's label and tracking API) and `erp`
 * (stock levels, the system of record). `POST /picks` does local work only, so one route never has a breaker in front
 * of it. Run by server/demo/fleet.ts; its upstreams follow the incident timeline (server/demo/timeline.ts).
 *
 * `GET /_demo/breakers` answers with this instance's own breaker objects, as the storefront's does.
 */
import express from 'express'
import { z } from 'zod'
import { Name } from '../../shared/schemas'
import { exitWithParent } from '../bootstrap/children.mjs'
import { createCollector } from '../sdk/index'

const env = z
  .object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//).optional(),
    /** Seeds of a Redis Cluster (host:port,…), instead of REDIS_URL (server/sdk/redisTopology.ts parses them). */
    REDIS_CLUSTER_NODES: z.string().min(1).optional(),
    PORT: z.coerce.number().int().min(0).max(65_535),
    FUSEBOX_INSTANCE: Name,
    UPSTREAM_CARRIER_URL: z.url(),
    UPSTREAM_ERP_URL: z.url(),
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
  service: 'warehouse',
  instance: env.FUSEBOX_INSTANCE,
  version: '2.0.1',
  onError: logThrottled,
})

class UpstreamError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

/** Calls an upstream; rejects on a non-2xx answer or after 5 s (the breaker's own timeout is shorter). */
async function callUpstream(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new UpstreamError(res.status, `upstream answered ${res.status}`)
  return res.json()
}

const breakerOptions = { errorThresholdPercentage: 50, resetTimeout: 15_000, volumeThreshold: 5, rollingCountTimeout: 10_000 }
const carrier = collector.breaker('carrier', (path: string) => callUpstream(env.UPSTREAM_CARRIER_URL + path), {
  ...breakerOptions,
  timeout: 1500,
})
const erp = collector.breaker('erp', (path: string) => callUpstream(env.UPSTREAM_ERP_URL + path), { ...breakerOptions, timeout: 1000 })

/** A stock-keeping unit as it appears in URLs. */
const Sku = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)
const Shipment = z.object({ order: z.number().int().nonnegative(), parcels: z.number().int().min(1).max(50) })

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

app.get('/stock/:sku', async (req, res, next) => {
  const sku = Sku.safeParse(req.params.sku)
  if (!sku.success) {
    res.status(400).json({ error: 'invalid sku' })
    return
  }
  try {
    res.json({ sku: sku.data, level: await erp.fire(`/stock/${sku.data}`) })
  } catch (e) {
    next(e)
  }
})
app.post('/shipments', async (req, res, next) => {
  const body = Shipment.safeParse(req.body)
  if (!body.success) {
    res.status(400).json({ error: 'body must be JSON { "order": integer, "parcels": 1–50 }' })
    return
  }
  try {
    const label = await carrier.fire('/labels')
    res.status(201).json({ shipment: Date.now(), order: body.data.order, label })
  } catch (e) {
    next(e)
  }
})
app.get('/shipments/:id', async (req, res, next) => {
  const id = Sku.safeParse(req.params.id)
  if (!id.success) {
    res.status(400).json({ error: 'invalid shipment id' })
    return
  }
  try {
    res.json({ id: id.data, tracking: await carrier.fire(`/tracking/${id.data}`) })
  } catch (e) {
    next(e)
  }
})
app.post('/picks', (_req, res) => {
  // A pick list is built from the warehouse's own data: a few ms of local work, no upstream.
  setTimeout(() => res.status(201).json({ pick: Date.now() }), 3 + Math.random() * 20)
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
  const status = code === 'EOPENBREAKER' ? 503 : code === 'ETIMEDOUT' ? 504 : 502
  res.status(status).json({ error: err instanceof Error ? err.message : 'upstream failure' })
})

const server = app.listen(env.PORT, '127.0.0.1', () => {
  console.log(`warehouse ${collector.instance} on http://127.0.0.1:${env.PORT}`)
})

async function shutdown(): Promise<void> {
  server.close()
  server.closeIdleConnections()
  await collector.close()
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown().then(() => process.exit(0)))
exitWithParent(shutdown)
