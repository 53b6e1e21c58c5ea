/**
 * Instances (heartbeat + process health), the services list and Redis' own health (INFO).
 */
import type { Redis } from 'ioredis'
import { isCluster, primaryNodes, type RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import { parseHeartbeat } from '../../../shared/heartbeat'
import type { InstanceHealth } from '../../../shared/schemas'
import { readKey, reportInvalidValue } from './redisInput'
import { readEach } from './windowRead'

/** An instance counts as down after this many missed heartbeats (docs/PRODUCT.md "Instance health"). */
export const MISSED_HEARTBEATS_DOWN = 3

/** Everything an instance reports with its heartbeat. CPU in %, memory in bytes, times in ms or s as named. */
export interface InstanceDetail extends InstanceHealth {
  cpuPercent: number
  eventLoopDelayP99Ms: number
  uptimeS: number
  heartbeatIntervalMs: number
}

/**
 * Instances of a service (from the heartbeat ZSET and each instance's health hash, parsed by
 * shared/heartbeat.ts), sorted by name. An instance whose health hash expired reads with zeros and version
 * `unknown`; its liveness comes from the ZSET score. Redis is an input (docs/decisions/014): an instance whose score
 * is not a finite time ≥ 0 is left out, and a key of the wrong type reads as none (ZSET) or an expired hash (health),
 * each counted and logged once (redisInput.ts).
 */
export async function readInstances(redis: RedisClient, keys: KeySpace, service: string, nowMs: number): Promise<InstanceDetail[]> {
  const key = keys.instances(service)
  const flat = await readKey(key, () => redis.zrange(key, '0', '-1', 'WITHSCORES'), [])
  const names: [string, number][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const score = Number(flat[i + 1])
    // A score is a heartbeat time (epoch ms); +inf/-inf or a negative one cannot be: that instance is left out.
    if (Number.isFinite(score) && score >= 0) names.push([flat[i] as string, score])
    else reportInvalidValue('instance_score', key, `member ${JSON.stringify(flat[i])} has score ${flat[i + 1]}`)
  }
  const infos = await readEach(redis, names.map(([name]) => keys.instanceInfo(service, name)), (p, k) => p.hgetall(k), {} as Record<string, string>)
  return names
    .map(([instance, lastSeenMs], i): InstanceDetail => {
      const { heartbeat: h } = parseHeartbeat(infos[i] as Record<string, string>)
      return {
        instance,
        pid: h.pid,
        version: h.version,
        startedAtMs: h.startedAtMs,
        lastSeenMs,
        heapUsedBytes: h.heapUsedBytes,
        rssBytes: h.rssBytes,
        cpuPercent: h.cpuPercent,
        eventLoopDelayP99Ms: h.eventLoopDelayP99Ms,
        uptimeS: h.uptimeS,
        heartbeatIntervalMs: h.heartbeatIntervalMs,
        up: nowMs - lastSeenMs <= MISSED_HEARTBEATS_DOWN * h.heartbeatIntervalMs,
      }
    })
    .sort((a, b) => a.instance.localeCompare(b.instance))
}

/** Names of every service that ever flushed, sorted (none when the set's key holds another type: counted, logged). */
export async function readServiceNames(redis: RedisClient, keys: KeySpace): Promise<string[]> {
  return (await readKey(keys.services(), () => redis.smembers(keys.services()), [])).sort()
}

/** Every service that ever flushed, with how many instances are up; services are read in parallel. */
export async function readServices(
  redis: RedisClient,
  keys: KeySpace,
  nowMs: number,
): Promise<{ service: string; instancesUp: number; instancesTotal: number }[]> {
  const services = await readServiceNames(redis, keys)
  return Promise.all(
    services.map(async (service) => {
      const instances = await readInstances(redis, keys, service, nowMs)
      return { service, instancesUp: instances.filter((i) => i.up).length, instancesTotal: instances.length }
    }),
  )
}

/** One Redis node's figures off INFO. Memory in bytes, hit ratio 0–1 (null before any lookup). */
export interface RedisNodeHealth {
  /**
   * Which node: its cluster node id (CLUSTER MYID, as `redis-cli cluster nodes` lists it) on a cluster, INFO's
   * `run_id` on one Redis. Never the address: the API does not reveal where Redis lives (see fuzz.test.ts).
   */
  id: string
  version: string
  uptimeS: number
  usedMemoryBytes: number
  maxMemoryBytes: number
  opsPerSec: number
  keyspaceHitRatio: number | null
  connectedClients: number
  keys: number
  aofEnabled: boolean
}

/**
 * Redis health as an operator reads it off INFO. On one Redis: that server's figures, `nodes` its one entry. On a
 * Redis Cluster (`topology: 'cluster'`) every master is read (INFO on each, in parallel) and the top-level figures
 * cover them all: `usedMemoryBytes`, `maxMemoryBytes`, `opsPerSec`, `connectedClients` and `keys` are SUMS over the
 * masters; `keyspaceHitRatio` is the ratio of the summed hits and misses; `uptimeS` the shortest (the most recently
 * restarted master); `version` the one version, or the distinct ones joined by `, ` during an upgrade; `aofEnabled`
 * true only when every master has it. `nodes` lists each master's own figures (sorted by address), `clusterState` is
 * CLUSTER INFO's `cluster_state` (`ok` / `fail`). Replicas are not read (they hold copies, not more data).
 */
export interface RedisHealth extends Omit<RedisNodeHealth, 'id'> {
  topology: 'standalone' | 'cluster'
  /** `cluster_state` of CLUSTER INFO on a cluster; absent on one Redis. */
  clusterState?: string
  nodes: RedisNodeHealth[]
}

/**
 * Parses the text of INFO (any sections) into field → value: each `field:value` line, split at its first `:`;
 * section headers (`# Memory`) and blank lines are skipped. Values stay strings (`db0` → `keys=1,expires=0,…`).
 */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1))
  }
  return m
}

/** One node's INFO (all sections Fusebox shows) with the hit and miss counts the cluster sum needs. */
async function readNodeHealth(node: Redis, cluster: boolean): Promise<RedisNodeHealth & { hits: number; misses: number }> {
  const [text, myId] = await Promise.all([node.info(), cluster ? node.cluster('MYID') : Promise.resolve(undefined)])
  const info = parseInfo(text)
  const num = (k: string) => Number(info.get(k) ?? 0)
  const hits = num('keyspace_hits')
  const misses = num('keyspace_misses')
  let keyCount = 0
  for (const [k, v] of info) if (/^db\d+$/.test(k)) keyCount += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0)
  return {
    id: myId === undefined ? (info.get('run_id') ?? 'unknown') : String(myId),
    version: info.get('redis_version') ?? 'unknown',
    uptimeS: num('uptime_in_seconds'),
    usedMemoryBytes: num('used_memory'),
    maxMemoryBytes: num('maxmemory'),
    opsPerSec: num('instantaneous_ops_per_sec'),
    keyspaceHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    connectedClients: num('connected_clients'),
    keys: keyCount,
    aofEnabled: info.get('aof_enabled') === '1',
    hits,
    misses,
  }
}

/**
 * Reads INFO of every master (see `RedisHealth` for how a cluster's figures combine).
 * @throws the first node's error (a master that does not answer fails the read: the figures would be partial)
 */
export async function readRedisHealth(redis: RedisClient): Promise<RedisHealth> {
  const masters = primaryNodes(redis)
  if (masters.length === 0) throw new Error('Cluster isn\'t ready: no master known')
  const [read, clusterState] = await Promise.all([
    Promise.all(masters.map((node) => readNodeHealth(node, isCluster(redis)))),
    isCluster(redis) ? redis.cluster('INFO').then((text) => parseInfo(String(text)).get('cluster_state') ?? 'unknown') : Promise.resolve(undefined),
  ])
  read.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const sum = (f: (n: RedisNodeHealth) => number) => read.reduce((t, n) => t + f(n), 0)
  const hits = read.reduce((t, n) => t + n.hits, 0)
  const misses = read.reduce((t, n) => t + n.misses, 0)
  const nodes = read.map(({ hits: _h, misses: _m, ...node }) => node)
  return {
    topology: isCluster(redis) ? 'cluster' : 'standalone',
    ...(clusterState === undefined ? {} : { clusterState }),
    version: [...new Set(nodes.map((n) => n.version))].sort().join(', '),
    uptimeS: Math.min(...nodes.map((n) => n.uptimeS)),
    usedMemoryBytes: sum((n) => n.usedMemoryBytes),
    maxMemoryBytes: sum((n) => n.maxMemoryBytes),
    opsPerSec: sum((n) => n.opsPerSec),
    keyspaceHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    connectedClients: sum((n) => n.connectedClients),
    keys: sum((n) => n.keys),
    aofEnabled: nodes.every((n) => n.aofEnabled),
    nodes,
  }
}
