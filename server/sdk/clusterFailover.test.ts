/**
 * Failover of a Redis Cluster master under load (issue #13 Build 5, docs/decisions/029), on a cluster of its own
 * (3 masters + 3 replicas of Debian's redis-server, `cluster-node-timeout` 2 s, server/bootstrap/redisCluster.mjs)
 * with two real host processes of one service (server/testing/clusterHost.ts: an HTTP server with the SDK inside,
 * one on the SDK's own Cluster from seeds, one on the host's borrowed Cluster) and a bounded, counted load generator
 * here (keep-alive HTTP on loopback, ~200 requests/s per host).
 *
 * The fault: the master serving the service's `{svc}` slot is SIGKILLed while its replica lags behind it. On
 * loopback a healthy replica is microseconds behind, so a plain SIGKILL almost never catches a confirmed write
 * unreplicated (measured: 0 of ~3,300 confirmed writes lost in 3 kills); over a real network, or behind a busy
 * replica, the window is the replication lag. Here the lag is made explicit and long: `DEBUG SLEEP` on the replica
 * and 24 MB of ballast written to the master, so the master's replication stream outgrows the kernel's socket
 * buffers and everything the master confirms after it stays in the master's memory — and dies with it. The window is
 * placed across the close of a 10 s bucket, so the fold of that bucket (and the flush-effect batches of every flush:
 * cache counters) are confirmed by the master inside it. What a flush confirmed only on the dying master is then
 * missing after the promotion unless the SDK waits for a replica's acknowledgement (decision 029).
 *
 * Promised (and measured, logged as `[clusterFailover] {figures}`): zero failed host requests; every host's flushes
 * land again within 2 s of the promotion; after the run and the hosts' final flush, the request totals and the
 * per-route counts of every tier (10 s, 1 min, 1 h) and the cache counters of every tier equal exactly what the
 * hosts served (which equals what the load generator counted); and a breaker command issued while the slot has no
 * master (retried with the same command id until the cluster takes it) is applied on both instances, once each.
 *
 * Wall time ~45–60 s; npm test runs it in a step of its own (it starts 6 redis-servers and 2 host processes).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Cluster, Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createKeySpace, parseSeriesField } from '../../shared/keys'
import { decodePacked } from '../../shared/seriesCodec'
import { TIERS, TIER_10S, bucketStart } from '../../shared/timeBuckets'
import { issueBreakerCommand } from '../app/breakerCommands'
import { ensureDebianBinary } from '../bootstrap/debian.mjs'
import { startRedisCluster, type RedisClusterHandle } from '../bootstrap/redisCluster.mjs'
import { seedList } from '../testing/redisCluster'
import { scanKeys } from '../testing/redis'
// Types and constants only: importing the host module would run it.
import type { ClusterHostStatus } from '../testing/clusterHost'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** `cluster-node-timeout`: a dead master is failed over a few seconds after this (Redis' default is 15 s). */
const NODE_TIMEOUT_MS = 2000
/** The promise: flushes land again within this long of the promotion. */
const RESUME_AFTER_PROMOTION_MS = 2000
/** A command committed during the failover is applied on every instance within this long (one reconcile + 2 s). */
const APPLY_AFTER_COMMIT_MS = 12_000
/** Load: every TICK_MS, REQUESTS_PER_TICK requests to each host, at most MAX_IN_FLIGHT unanswered per host. */
const TICK_MS = 10
const REQUESTS_PER_TICK = 2
const MAX_IN_FLIGHT = 16
/** Traffic before the fault: JIT, first flushes, replicas caught up. */
const WARM_UP_MS = 3000
/** The replica's lag: it sleeps this long, starting LAG_BEFORE_BUCKET_END_MS before a 10 s bucket ends. */
const REPLICA_SLEEP_S = 5.5
const LAG_BEFORE_BUCKET_END_MS = 1000
/** The master is killed this long after the replica fell asleep: after the closed bucket's fold (≤ end + 3.5 s). */
const KILL_AFTER_LAG_MS = 4800
/** Ballast written to the master once the replica sleeps: more than the loopback socket buffers hold. */
const BALLAST_MB = 24
/** Load after the promotion (new buckets closed and folded on the promoted master), before stopping. */
const LOAD_AFTER_PROMOTION_MS = 8000

type Cleanup = () => Promise<void> | void

/** A host process (server/testing/clusterHost.ts) and its IPC conversation. */
interface Host {
  instance: string
  port: number
  ask(type: 'status' | 'mark' | 'close'): Promise<ClusterHostStatus>
  /** Epoch ms at which the host's breaker `target` applied generation ≥ `generation` (Infinity after `timeoutMs`). */
  appliedAt(generation: number, timeoutMs: number): Promise<number>
  output(): string
}

async function startHost(seeds: string, service: string, instance: string, prefix: string, mode: 'owned' | 'borrowed', cleanups: Cleanup[]): Promise<Host> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/testing/clusterHost.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, CLUSTER_SEEDS: seeds, HOST_SERVICE: service, HOST_INSTANCE: instance, HOST_PREFIX: prefix, HOST_REDIS: mode },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const lines: string[] = []
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer) => void (lines.length < 200 && lines.push(d.toString())))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    if (await Promise.race([exited.then(() => false), sleep(5000).then(() => true)])) child.kill('SIGKILL')
  })
  const statusWaiters: Array<(s: ClusterHostStatus) => void> = []
  const applied: Array<{ generation: number; atMs: number }> = []
  let ready!: (port: number) => void
  const isReady = new Promise<number>((resolve) => (ready = resolve))
  child.on('message', (m: { type: string; port?: number; status?: ClusterHostStatus; generation?: number; atMs?: number }) => {
    if (m.type === 'ready') ready(m.port ?? 0)
    else if (m.type === 'status' && m.status) statusWaiters.shift()?.(m.status)
    else if (m.type === 'applied') applied.push({ generation: m.generation ?? 0, atMs: m.atMs ?? 0 })
  })
  // Start-up compiles TypeScript (tsx) on a loaded 2-core machine: generous, not the promise under test.
  const outcome = await Promise.race([isReady, exited.then(() => 'exited' as const), sleep(30_000).then(() => 'timeout' as const)])
  if (typeof outcome !== 'number') throw new Error(`cluster host ${instance} ${outcome} before its first flush:\n${lines.join('')}`)
  return {
    instance,
    port: outcome,
    ask(type) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`cluster host ${instance} did not answer ${type}:\n${lines.join('')}`)), 20_000)
        statusWaiters.push((s) => {
          clearTimeout(t)
          resolve(s)
        })
        child.send({ type })
      })
    },
    async appliedAt(generation, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        const hit = applied.find((a) => a.generation >= generation)
        if (hit) return hit.atMs
        await sleep(20)
      }
      return Number.POSITIVE_INFINITY
    },
    output: () => lines.join(''),
  }
}

/** What the load generator counted for one host. */
interface Load {
  sent: number
  /** 200 with body `ok`, per route template. */
  okByRoute: Record<string, number>
  ok: number
  failed: number
  firstFailure: string
  maxLatencyMs: number
  /** Requests slower than 100 ms. */
  slow: number
}

/** A bounded, counted load of `GET /r<k>/<n>` to each host until `stop()`; `drained` resolves when none is in flight. */
function startLoad(hosts: Host[]): { loads: Load[]; stop(): Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT })
  const loads = hosts.map((): Load => ({ sent: 0, okByRoute: {}, ok: 0, failed: 0, firstFailure: '', maxLatencyMs: 0, slow: 0 }))
  const inFlight = hosts.map(() => 0)
  let allIdle: (() => void) | null = null
  const one = (h: number) => {
    const load = loads[h]!
    const n = load.sent++
    const route = `/r${n % 10}/:id`
    inFlight[h]!++
    const startedAt = performance.now()
    const done = (failure: string | null) => {
      inFlight[h]!--
      const ms = performance.now() - startedAt
      load.maxLatencyMs = Math.max(load.maxLatencyMs, Math.round(ms))
      if (ms > 100) load.slow++
      if (failure === null) {
        load.ok++
        load.okByRoute[route] = (load.okByRoute[route] ?? 0) + 1
      } else {
        load.failed++
        load.firstFailure ||= failure
      }
      if (allIdle && inFlight.every((x) => x === 0)) allIdle()
    }
    const req = request({ host: '127.0.0.1', port: hosts[h]!.port, path: `/r${n % 10}/${n}`, agent, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => done(res.statusCode === 200 && body === 'ok' ? null : `status ${res.statusCode} ${body.slice(0, 80)}`))
      res.on('error', (e) => done(e.message))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => done(e.message))
    req.end()
  }
  const timer = setInterval(() => {
    for (let h = 0; h < hosts.length; h++) for (let i = 0; i < REQUESTS_PER_TICK && inFlight[h]! < MAX_IN_FLIGHT; i++) one(h)
  }, TICK_MS)
  return {
    loads,
    async stop() {
      clearInterval(timer)
      if (!inFlight.every((x) => x === 0)) await new Promise<void>((resolve) => (allIdle = resolve))
      agent.destroy()
    },
  }
}

/**
 * `startRedisCluster`, tried up to 3 times: it picks each node's port free, but not its cluster bus port (+10000),
 * which another test's process may hold ("bind: Address already in use"); each try uses a fresh folder.
 */
async function startClusterOnFreePorts(options: Parameters<typeof startRedisCluster>[0]): Promise<RedisClusterHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisCluster({ ...options, dir: join(options.dir, `try-${attempt}`) })
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('Address already in use')) throw e
    }
  }
}

/** Master and replica (ports) serving `slot`, from `CLUSTER NODES` of any node. */
async function slotOwners(client: Cluster, slot: number): Promise<{ masterPort: number; replicaPort: number }> {
  const lines = String(await client.cluster('NODES'))
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
  const portOf = (l: string[]) => Number((l[1] ?? '').split('@')[0]!.split(':').at(-1))
  const master = lines.find(
    (l) =>
      l[2]?.includes('master') &&
      l.slice(8).some((range) => {
        const [from, to = from] = range.split('-').map(Number)
        return from !== undefined && to !== undefined && slot >= from && slot <= to
      }),
  )
  const replica = master && lines.find((l) => l[3] === master[0] && l[2]?.includes('slave'))
  if (!master || !replica) throw new Error(`no master with a replica for slot ${slot}:\n${lines.map((l) => l.join(' ')).join('\n')}`)
  return { masterPort: portOf(master), replicaPort: portOf(replica) }
}

/** What Redis holds for the service (read on the promoted master, which now holds the whole slot). */
interface Stored {
  /** tier → requests in the totals hashes. */
  totals: Record<string, number>
  /** 10 s bucket start → requests in its totals hash. */
  totalsBy10s: Record<string, number>
  /** tier → route template → requests in the route series. */
  routes: Record<string, Record<string, number>>
  /** tier → cache hits of `catalog`. */
  cacheHits: Record<string, number>
  /** instance → `commandApplied` events of breaker `target`. */
  commandsApplied: Record<string, number>
}

async function readStored(node: Redis, prefix: string, service: string): Promise<Stored> {
  const keys = createKeySpace(prefix)
  const out: Stored = { totals: {}, totalsBy10s: {}, routes: {}, cacheHits: {}, commandsApplied: {} }
  const keysMatching = (pattern: string) => scanKeys(node, pattern)
  for (const tier of TIERS) {
    let total = 0
    for (const key of await keysMatching(`${prefix}:{${service}}:tot:${tier.name}:*`)) {
      let inKey = 0
      for (const value of Object.values(await node.hgetallBuffer(key))) inKey += decodePacked(value)[1] ?? 0
      total += inKey
      if (tier === TIER_10S) out.totalsBy10s[key.slice(key.lastIndexOf(':') + 1)] = inKey
    }
    out.totals[tier.name] = total
    const routes: Record<string, number> = {}
    for (const key of await keysMatching(`${prefix}:{${service}}:req:${tier.name}:*`)) {
      for (const [field, value] of Object.entries(await node.hgetallBuffer(key))) {
        const route = parseSeriesField(field)?.route ?? `(unparsable ${field})`
        routes[route] = (routes[route] ?? 0) + (decodePacked(value)[1] ?? 0)
      }
    }
    out.routes[tier.name] = routes
    let hits = 0
    for (const key of await keysMatching(`${prefix}:{${service}}:cachestats:${tier.name}:*`)) hits += Number((await node.hget(key, 'catalog|hits')) ?? 0)
    out.cacheHits[tier.name] = hits
  }
  for (const [, fields] of await node.xrange(keys.events(service), '-', '+')) {
    const f: Record<string, string> = {}
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!
    if (f.breaker === 'target' && f.type === 'commandApplied') out.commandsApplied[f.instance ?? ''] = (out.commandsApplied[f.instance ?? ''] ?? 0) + 1
  }
  return out
}

/**
 * Watches the heartbeats (`P:{svc}:instances`, score = the flush's time) on the node at `port` from now on: resolves
 * with, per instance, the epoch ms at which a heartbeat of a flush started after `sinceMs` was first seen there
 * (Infinity if none within `timeoutMs`). Such a heartbeat can only come from a flush that reached this node after the
 * kill — writes resumed.
 */
async function heartbeatsAfter(port: number, key: string, instances: string[], sinceMs: number, timeoutMs: number): Promise<number[]> {
  const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => 50, enableOfflineQueue: false })
  node.on('error', () => {})
  const seenAt = instances.map(() => Number.POSITIVE_INFINITY)
  try {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && seenAt.some((t) => t === Number.POSITIVE_INFINITY); await sleep(25)) {
      const scores = await node.zrange(key, '0', '-1', 'WITHSCORES').catch(() => [] as string[])
      const now = Date.now()
      for (let i = 0; i + 1 < scores.length; i += 2) {
        const at = instances.indexOf(scores[i]!)
        if (at >= 0 && Number(scores[i + 1]) > sinceMs && seenAt[at] === Number.POSITIVE_INFINITY) seenAt[at] = now
      }
    }
  } finally {
    node.disconnect()
  }
  return seenAt
}

/** Polls ROLE of `port` until it says master; the epoch ms it first did (0 after `timeoutMs`). */
async function promotedAt(cluster: RedisClusterHandle, port: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if ((await cluster.role(port)) === 'master') return Date.now()
    await sleep(25)
  }
  return 0
}

describe('Redis Cluster failover under load', () => {
  it('When the master of a service’s slot is SIGKILLed under load while its replica lags, no host request fails, flushes land again within 2 s of the promotion, every tier’s totals, routes and cache counters equal what the hosts served, and a command issued during the failover is applied on both instances', { timeout: 150_000 }, async () => {
    const cleanups: Cleanup[] = []
    try {
      const dir = await mkdtemp(join(tmpdir(), 'fusebox-failover-'))
      cleanups.push(() => rm(dir, { recursive: true, force: true }))
      const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
      const cliBinary = ensureDebianBinary({ binary: 'redis-cli', pkg: 'redis-tools' })
      // DEBUG (the replica's lag) from loopback only.
      const cluster = await startClusterOnFreePorts({ dir, binary, cliBinary, nodeTimeoutMs: NODE_TIMEOUT_MS, extraArgs: ['--enable-debug-command', 'local'] })
      cleanups.push(() => cluster.stop())
      // The operator's side (the breaker command) and the test's topology questions.
      const client = new Cluster(seedList(cluster.seeds), { scaleReads: 'master' })
      client.on('error', () => {})
      cleanups.push(() => void client.disconnect())

      const id = randomUUID().slice(0, 8)
      const service = `failover-${id}`
      const prefix = `fo${id}`
      const keys = createKeySpace(prefix)
      const slot = Number(await client.cluster('KEYSLOT', keys.instances(service)))
      const { masterPort, replicaPort } = await slotOwners(client, slot)

      const hosts = await Promise.all([
        startHost(cluster.seeds, service, `${service}-owned`, prefix, 'owned', cleanups),
        startHost(cluster.seeds, service, `${service}-borrowed`, prefix, 'borrowed', cleanups),
      ])
      const load = startLoad(hosts)
      let loadStopped = false
      cleanups.push(() => (loadStopped ? undefined : load.stop()))
      await sleep(WARM_UP_MS)
      await Promise.all(hosts.map((h) => h.ask('mark')))

      // The lag starts LAG_BEFORE_BUCKET_END_MS before a 10 s bucket ends (at least 1 s from now).
      const step = TIER_10S.bucketMs
      let lagAt = bucketStart(Date.now(), step) + step - LAG_BEFORE_BUCKET_END_MS
      while (lagAt < Date.now() + 1000) lagAt += step
      await sleep(lagAt - Date.now())
      const replicaConn = new Redis(replicaPort, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null })
      replicaConn.on('error', () => {})
      const lagging = replicaConn
        .call('DEBUG', 'SLEEP', String(REPLICA_SLEEP_S))
        .catch(() => undefined)
        .finally(() => replicaConn.disconnect())
      const lagStartedAt = Date.now()
      await sleep(50)
      const masterConn = new Redis(masterPort, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null })
      masterConn.on('error', () => {})
      const ballast = Buffer.alloc(1 << 20, 'x')
      // Same slot as the service (its tag), so on the same master; no reader looks at `:ballast:` keys.
      for (let i = 0; i < BALLAST_MB; i++) await masterConn.set(`${prefix}:{${service}}:ballast:${i}`, ballast)
      masterConn.disconnect()
      await sleep(lagStartedAt + KILL_AFTER_LAG_MS - Date.now())

      const killedAt = Date.now()
      const master = cluster.nodes.find((n) => n.port === masterPort)!
      process.kill(master.server.pid, 'SIGKILL')
      const resuming = heartbeatsAfter(replicaPort, keys.instances(service), hosts.map((h) => h.instance), killedAt, 30_000)

      // The operator's command, while the slot has no master: retried (same id: committed at most once) until taken.
      const commandId = randomUUID()
      let issuedAt = 0
      let issueAttempts = 0
      const issuing = (async () => {
        await sleep(500)
        for (const deadline = Date.now() + 30_000; ; ) {
          issueAttempts++
          try {
            const issued = await issueBreakerCommand(client, keys, { service, breaker: 'target', command: 'forceOpen', reason: 'failover test', actor: 'failover' }, Date.now(), { commandId })
            issuedAt = Date.now()
            return issued
          } catch (e) {
            if (Date.now() > deadline) throw e
            await sleep(200)
          }
        }
      })()
      const promoted = await promotedAt(cluster, replicaPort, 30_000)
      await lagging
      const resumedAt = await resuming
      const issued = await issuing
      await sleep(Math.max(0, promoted + LOAD_AFTER_PROMOTION_MS - Date.now()))
      const appliedAt = await Promise.all(hosts.map((h) => h.appliedAt(issued.generation, 15_000)))

      await load.stop()
      loadStopped = true
      const served = await Promise.all(hosts.map((h) => h.ask('status')))
      const closed = await Promise.all(hosts.map((h) => h.ask('close')))
      const node = new Redis(replicaPort, '127.0.0.1')
      node.on('error', () => {})
      cleanups.push(() => void node.disconnect())
      const stored = await readStored(node, prefix, service)

      const resumedAfterPromotionMs = resumedAt.map((t) => t - promoted)
      const sumServed = closed.reduce((n, s) => n + s.served, 0)
      const servedByRoute: Record<string, number> = {}
      for (const s of closed) for (const [route, n] of Object.entries(s.servedByRoute)) servedByRoute[route] = (servedByRoute[route] ?? 0) + n
      const cacheHits = closed.reduce((n, s) => n + s.cacheHits, 0)
      const figures = {
        promotionAfterKillMs: promoted === 0 ? null : promoted - killedAt,
        resumedAfterPromotionMs,
        hostEventLoopDelayMaxMs: closed.map((s) => s.eventLoopDelayMaxMs),
        commandIssuedAfterKillMs: issuedAt - killedAt,
        issueAttempts,
        appliedAfterPromotionMs: appliedAt.map((t) => t - promoted),
        appliedAfterCommitMs: appliedAt.map((t) => t - issuedAt),
        load: load.loads,
        served: closed.map((s) => s.served),
        stored: { totals: stored.totals, cacheHits: stored.cacheHits, commandsApplied: stored.commandsApplied },
        // Per 10 s bucket (start relative to the kill, s): served − stored, where they differ.
        missingBy10s: Object.fromEntries(
          [...new Set([...closed.flatMap((s) => Object.keys(s.servedBy10s)), ...Object.keys(stored.totalsBy10s)])]
            .map((start) => [start, closed.reduce((n, s) => n + (s.servedBy10s[start] ?? 0), 0) - (stored.totalsBy10s[start] ?? 0)] as const)
            .filter(([, d]) => d !== 0)
            .map(([start, d]) => [`${(Number(start) - killedAt) / 1000}s`, d]),
        ),
        lagStartedBeforeKillMs: killedAt - lagStartedAt,
        missing: Object.fromEntries(TIERS.map((t) => [t.name, { totals: sumServed - (stored.totals[t.name] ?? 0), cacheHits: cacheHits - (stored.cacheHits[t.name] ?? 0) }])),
        hosts: closed.map((s) => ({ instance: s.instance, flushes: s.stats.flushes, flushErrors: s.stats.flushErrors, lastFlushDurationMs: Math.round(s.stats.lastFlushDurationMs), droppedBuckets: s.stats.droppedBuckets, duplicateFlushBatches: s.stats.duplicateFlushBatches, unacknowledgedFlushes: s.stats.unacknowledgedFlushes, unreplicatedFlushes: s.stats.unreplicatedFlushes, errorsByWhere: s.errorsByWhere })),
      }
      console.log(`[clusterFailover] ${JSON.stringify(figures)}`)

      expect(promoted, 'the replica was promoted').toBeGreaterThan(0)
      for (const [i, h] of hosts.entries()) {
        const what = (thing: string) => `${h.instance}: ${thing}`
        const l = load.loads[i]!
        expect({ failed: l.failed, firstFailure: l.firstFailure }, what('failed host requests')).toEqual({ failed: 0, firstFailure: '' })
        expect(closed[i]!.unhandledRejections, what('unhandled rejections')).toEqual([])
        expect(closed[i]!.unmatched, what('unmatched requests')).toBe(0)
        // The host served exactly what the generator saw answered, route by route.
        expect(served[i]!.servedByRoute, what('served by route vs the load generator')).toEqual(Object.fromEntries(Object.keys(served[i]!.servedByRoute).map((r) => [r, l.okByRoute[r] ?? 0])))
        expect(resumedAfterPromotionMs[i], what('first flush landed after the promotion (ms)')).toBeLessThanOrEqual(RESUME_AFTER_PROMOTION_MS)
        // By the nudge (SSUBSCRIBE) as a rule; at worst by the periodic reconcile (10 s) after the command committed.
        expect(appliedAt[i]! - issuedAt, what('command applied after it committed (ms)')).toBeLessThanOrEqual(APPLY_AFTER_COMMIT_MS)
        expect(stored.commandsApplied[h.instance] ?? 0, what('commandApplied events')).toBe(1)
        const { droppedBuckets, droppedLateRequests } = closed[i]!.stats
        expect({ droppedBuckets, droppedLateRequests }, what('dropped')).toEqual({ droppedBuckets: 0, droppedLateRequests: 0 })
      }
      expect(sumServed, 'requests served').toBe(load.loads.reduce((n, l) => n + l.ok, 0))
      for (const tier of TIERS) {
        expect(stored.totals[tier.name], `requests in the ${tier.name} totals`).toBe(sumServed)
        expect(stored.routes[tier.name], `requests per route in the ${tier.name} series`).toEqual(servedByRoute)
        expect(stored.cacheHits[tier.name], `cache hits in the ${tier.name} counters`).toBe(cacheHits)
      }
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup()
    }
  })
})
