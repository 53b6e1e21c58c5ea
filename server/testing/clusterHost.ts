/**
 * A host process for the failover test (server/sdk/clusterFailover.test.ts): a Node process that embeds the SDK on
 * a Redis Cluster the way a service does — a real HTTP server on loopback with the SDK's node:http middleware — and
 * counts every request it served, so the test can compare what Redis holds with it exactly (the house pattern of
 * server/testing/faultHost.ts). The request path never waits for Redis: the handler answers at once, the
 * middleware records on `finish`, and one cache event is counted per request (`recordCacheEvent`, a flush effect).
 *
 * Run as `node --import tsx server/testing/clusterHost.ts` with an IPC channel and these variables:
 *   CLUSTER_SEEDS  `127.0.0.1:p1,…` (REDIS_CLUSTER_NODES form);
 *   HOST_SERVICE, HOST_INSTANCE, HOST_PREFIX  service, instance name and key prefix;
 *   HOST_REDIS  how the SDK gets its Redis: `owned` (`createCollector({ redis: { cluster: seeds } })`, the SDK opens
 *               and configures its Cluster) or `borrowed` (the host's own `new Cluster(seeds)` with ioredis'
 *               defaults, as a host typically builds it).
 *
 * HTTP, on 127.0.0.1 (a free port, announced in `ready`): `GET /r<k>/<id>` (k 0–9) → 200 `ok`, route template
 * `/r<k>/:id`; anything else → 404 (route `(unmatched)`, counted apart; the test never sends it).
 *
 * Observed here: the SDK's errors by where, its stats, unhandled rejections, the longest event-loop delay, and the
 * moment breaker `target` (left to operator commands) applied a newer generation (pushed to the test at once).
 *
 * IPC, test → host: `{ type: 'status' }`, `{ type: 'mark' }` (event-loop delay measured from now on, after start-up
 * and warm-up), `{ type: 'close' }` (close the HTTP server, then the collector — its final
 * flush — then a borrowed client; answers a last status and exits). Host → test: `{ type: 'ready', port }` once the
 * server listens and a first flush landed, `{ type: 'status', status: ClusterHostStatus }` per request, and
 * `{ type: 'applied', generation, atMs }`.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Cluster } from 'ioredis'
import { z } from 'zod'
import { TIER_10S, bucketStart } from '../../shared/timeBuckets'
import { exitWithParent } from '../bootstrap/children.mjs'
import { createCollector, type CollectorStats } from '../sdk/index'
import { parseClusterSeeds } from '../sdk/redisTopology'

/** Routes the host serves: `/r0/:id` … `/r9/:id`. */
export const HOST_ROUTES = Array.from({ length: 10 }, (_, k) => `/r${k}/:id`)
/** The cache whose `hits` the host counts, one per request served. */
export const HOST_CACHE = 'catalog'
/** The breaker left to operator commands. */
export const HOST_BREAKER = 'target'

/** What the host counted and observed (see the module comment). */
export interface ClusterHostStatus {
  service: string
  instance: string
  /** Responses finished per route template (`/r<k>/:id`), all 200s; and their sum. */
  servedByRoute: Record<string, number>
  served: number
  /** Responses finished per 10 s bucket start (epoch ms, as the SDK buckets them), for telling where a difference is. */
  servedBy10s: Record<string, number>
  /** Requests the host answered 404 (none expected). */
  unmatched: number
  /** Cache hits counted (one per served request). */
  cacheHits: number
  /** The longest the host's event loop was blocked since `mark` (ms, perf_hooks' event-loop delay, 10 ms resolution). */
  eventLoopDelayMaxMs: number
  /** Errors the SDK reported to onError, by where (count, first message). */
  errorsByWhere: Record<string, { count: number; first: string }>
  /** Generation breaker `target` applied (0 = none). */
  targetGeneration: number
  stats: CollectorStats
  unhandledRejections: string[]
}

const Command = z.object({ type: z.enum(['status', 'mark', 'close']) })

const env = z
  .object({
    CLUSTER_SEEDS: z.string().min(1),
    HOST_SERVICE: z.string(),
    HOST_INSTANCE: z.string(),
    HOST_PREFIX: z.string(),
    HOST_REDIS: z.enum(['owned', 'borrowed']),
  })
  .parse(process.env)

const unhandledRejections: string[] = []
process.on('unhandledRejection', (reason) => {
  if (unhandledRejections.length < 20) unhandledRejections.push(String(reason instanceof Error ? reason.stack : reason))
})

const errorsByWhere: ClusterHostStatus['errorsByWhere'] = {}
let borrowed: Cluster | undefined
if (env.HOST_REDIS === 'borrowed') {
  const seeds = parseClusterSeeds(env.CLUSTER_SEEDS)
  borrowed = new Cluster(seeds.nodes, { redisOptions: seeds.redisOptions })
  borrowed.on('error', () => {})
}
const collector = createCollector({
  redis: borrowed ?? { cluster: env.CLUSTER_SEEDS },
  service: env.HOST_SERVICE,
  instance: env.HOST_INSTANCE,
  prefix: env.HOST_PREFIX,
  onError: (e, where) => {
    const seen = (errorsByWhere[where] ??= { count: 0, first: e.message })
    seen.count++
  },
})
const target = collector.breaker(HOST_BREAKER, async () => 'ok')

const servedByRoute: Record<string, number> = Object.fromEntries(HOST_ROUTES.map((r) => [r, 0]))
let served = 0
const servedBy10s: Record<string, number> = {}
let unmatched = 0
let cacheHits = 0
const ROUTE = /^\/r(\d)\/[^/]+$/
const routeOf = (url: string | undefined): string | undefined => {
  const m = ROUTE.exec((url ?? '').split('?')[0] ?? '')
  return m ? `/r${m[1]}/:id` : undefined
}
const middleware = collector.httpMiddleware({ routeTemplate: (req) => routeOf(req.url) })
const server = createServer((req, res) => {
  middleware(req, res)
  const route = routeOf(req.url)
  if (route === undefined) {
    unmatched++
    res.writeHead(404).end()
    return
  }
  res.once('finish', () => {
    servedByRoute[route] = (servedByRoute[route] ?? 0) + 1
    served++
    const start = bucketStart(Date.now(), TIER_10S.bucketMs)
    servedBy10s[start] = (servedBy10s[start] ?? 0) + 1
  })
  collector.recordCacheEvent(HOST_CACHE, 'hits')
  cacheHits++
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
})
server.keepAliveTimeout = 30_000

const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 })
eventLoopDelay.enable()

let reportedGeneration = 0
let announcedReady = false
const watching = setInterval(() => {
  if (target.appliedGeneration > reportedGeneration) {
    reportedGeneration = target.appliedGeneration
    process.send?.({ type: 'applied', generation: reportedGeneration, atMs: Date.now() })
  }
  if (!announcedReady && collector.stats.flushes > 0 && server.listening) {
    announcedReady = true
    process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port })
  }
}, 20)

function status(): ClusterHostStatus {
  return {
    service: env.HOST_SERVICE,
    instance: env.HOST_INSTANCE,
    servedByRoute: { ...servedByRoute },
    served,
    servedBy10s: { ...servedBy10s },
    unmatched,
    cacheHits,
    eventLoopDelayMaxMs: Math.round(eventLoopDelay.max / 1e6),
    errorsByWhere: structuredClone(errorsByWhere),
    targetGeneration: target.appliedGeneration,
    stats: { ...collector.stats },
    unhandledRejections,
  }
}

let closing: Promise<void> | undefined
function closeAll(): Promise<void> {
  closing ??= (async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await collector.close()
    clearInterval(watching)
    if (borrowed) await borrowed.quit().catch(() => borrowed?.disconnect())
  })()
  return closing
}

server.listen(0, '127.0.0.1')
process.on('message', (raw) => {
  const message = Command.safeParse(raw)
  if (!message.success) return
  if (message.data.type === 'mark') eventLoopDelay.reset()
  if (message.data.type !== 'close') process.send?.({ type: 'status', status: status() })
  else void closeAll().then(() => process.send?.({ type: 'status', status: status() }, () => process.exit(0)))
})
exitWithParent(closeAll)
