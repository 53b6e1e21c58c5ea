/**
 * Child-process entry for tests that need the server in its own process (fuzz.test.ts measures its RSS and its
 * `Object.prototype`; sseLoad.test.ts keeps its CPU apart from the collectors'): the real HTTP app
 * (createHttpApp, as server/app/main.ts builds it) on 127.0.0.1:0, with rate limits too high to trigger so that
 * every call reaches tRPC. Start it with `startServerProcess` (serverProcessClient.ts); it exits when its parent
 * goes away.
 *
 * Environment: `REDIS_URL` or `REDIS_CLUSTER_NODES` (`host:port,…`: a Redis Cluster), `FUSEBOX_PREFIX`, `FUSEBOX_OPERATOR_TOKENS`, `FUSEBOX_VIEWER_TOKENS` (one each).
 * IPC, parent → child: `{ type: 'probe', id, gc: boolean }`; child → parent: `{ type: 'listening', base }` once, and
 * a `ServerProbe` (with `type: 'probe'` and the request's `id`) for each probe request. Run with `--expose-gc` for `gc: true` to collect.
 */
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { Cluster, Redis } from 'ioredis'
import { createKeySpace } from '../../../shared/keys'
import { parseClusterSeeds, type RedisClient } from '../../sdk/redisTopology'
import { exitWithParent } from '../../bootstrap/children.mjs'
import { Auth } from '../auth'
import { createHttpApp } from '../http'
import { createOverviewHub } from '../readModel'

/** What a probe reports about the server process. */
export interface ServerProbe {
  /** `process.memoryUsage().rss` after the optional full GC, bytes. */
  rssBytes: number
  heapUsedBytes: number
  /** `process.memoryUsage()` parts after the same GC, bytes: V8's committed heap, memory of C++ objects bound to JS
   * objects (Buffers, zlib contexts, …) and, within that, ArrayBuffer/Buffer backing stores. */
  heapTotalBytes: number
  externalBytes: number
  arrayBuffersBytes: number
  /** `RssAnon` and `RssFile` of /proc/self/status (Linux), bytes: anonymous memory (heaps, malloc arenas) vs mapped
   * files (the node binary, shared libraries); 0 where /proc is missing. */
  rssAnonBytes: number
  rssFileBytes: number
  /** V8's heap pages actually resident (`v8.getHeapStatistics().total_physical_size`), bytes: `heapTotalBytes` is
   * what V8 committed, which it may keep after a GC (e.g. a young generation grown to its maximum). */
  heapPhysicalBytes: number
  /** Per V8 heap space (`v8.getHeapSpaceStatistics()`, e.g. `new_space`, `old_space`, `large_object_space`):
   * committed, used and resident bytes. */
  heapSpaces: Record<string, { committedBytes: number; usedBytes: number; physicalBytes: number }>
  /** CPU time the server process used so far (`process.cpuUsage()`, user + system), ms. */
  cpuMs: number
  /** Whether a full GC ran (false without `--expose-gc`). */
  collected: boolean
  /** `Object.keys(Object.prototype)` — `[]` unless something was added to it. */
  prototypeKeys: string[]
  /** `Object.getOwnPropertyNames(Object.prototype)`, sorted. */
  prototypeNames: string[]
  /** `({}).polluted`, `.isAdmin`, `.role` as JSON (`[null, null, null]` when untouched). */
  probeValues: string
}

/** Limits no test load reaches (login: 10 per 5 min by default). */
const UNREACHABLE_LIMITS = { login: { windowMs: 60_000, limit: 1_000_000_000 }, commands: { windowMs: 60_000, limit: 1_000_000_000 } }

const { REDIS_URL, REDIS_CLUSTER_NODES, FUSEBOX_PREFIX, FUSEBOX_OPERATOR_TOKENS, FUSEBOX_VIEWER_TOKENS } = process.env
if (!(REDIS_URL || REDIS_CLUSTER_NODES) || !FUSEBOX_PREFIX || !FUSEBOX_OPERATOR_TOKENS || !FUSEBOX_VIEWER_TOKENS) {
  throw new Error('serverProcess: REDIS_URL or REDIS_CLUSTER_NODES, FUSEBOX_PREFIX, FUSEBOX_OPERATOR_TOKENS and FUSEBOX_VIEWER_TOKENS are required')
}
const redis: RedisClient = REDIS_CLUSTER_NODES
  ? new Cluster(parseClusterSeeds(REDIS_CLUSTER_NODES).nodes.map(({ host, port }) => ({ host, port })), { scaleReads: 'master', redisOptions: { connectionName: 'fusebox-test-server' } })
  : new Redis(REDIS_URL!, { connectionName: 'fusebox-test-server' })
redis.on('error', (e: Error) => console.error(`[test-server] redis: ${e.message}`))
const keys = createKeySpace(FUSEBOX_PREFIX)
const auth = new Auth(redis, keys, [FUSEBOX_OPERATOR_TOKENS], [FUSEBOX_VIEWER_TOKENS], 3600)
const hub = createOverviewHub(redis, keys)
const app = createHttpApp({ redis, keys, auth, tls: false, hub }, { staticDir: 'dist', rateLimits: UNREACHABLE_LIMITS })
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
})

const gc = (globalThis as { gc?: () => void }).gc
/** A field of /proc/self/status in bytes (it is given in kB), 0 when unreadable. */
function procStatusBytes(field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}
process.on('message', (m: { type?: string; id?: number; gc?: boolean }) => {
  if (m?.type !== 'probe') return
  if (m.gc && gc) gc()
  const probe = {} as Record<string, unknown>
  const memory = process.memoryUsage()
  const report: ServerProbe = {
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    rssAnonBytes: procStatusBytes('RssAnon'),
    rssFileBytes: procStatusBytes('RssFile'),
    heapPhysicalBytes: getHeapStatistics().total_physical_size,
    heapSpaces: Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, { committedBytes: s.space_size, usedBytes: s.space_used_size, physicalBytes: s.physical_space_size }]),
    ),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    collected: Boolean(m.gc && gc),
    prototypeKeys: Object.keys(Object.prototype),
    prototypeNames: Object.getOwnPropertyNames(Object.prototype).sort(),
    probeValues: JSON.stringify([probe.polluted ?? null, probe.isAdmin ?? null, probe.role ?? null]),
  }
  process.send?.({ type: 'probe', id: m.id, ...report })
})

exitWithParent(async () => {
  hub.close()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  redis.disconnect()
})
