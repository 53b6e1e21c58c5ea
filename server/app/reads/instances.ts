/**
 * Instances (heartbeat + process health), the services list and Redis' own health (INFO).
 */
import type { Redis } from 'ioredis'
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
export async function readInstances(redis: Redis, keys: KeySpace, service: string, nowMs: number): Promise<InstanceDetail[]> {
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
export async function readServiceNames(redis: Redis, keys: KeySpace): Promise<string[]> {
  return (await readKey(keys.services(), () => redis.smembers(keys.services()), [])).sort()
}

/** Every service that ever flushed, with how many instances are up; services are read in parallel. */
export async function readServices(
  redis: Redis,
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

/** Redis health as an operator reads it off INFO. Memory in bytes, hit ratio 0–1 (null before any lookup). */
export interface RedisHealth {
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

/** Reads INFO once (all sections Fusebox shows). */
export async function readRedisHealth(redis: Redis): Promise<RedisHealth> {
  const info = parseInfo(await redis.info())
  const num = (k: string) => Number(info.get(k) ?? 0)
  const hits = num('keyspace_hits')
  const misses = num('keyspace_misses')
  let keyCount = 0
  for (const [k, v] of info) if (/^db\d+$/.test(k)) keyCount += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0)
  return {
    version: info.get('redis_version') ?? 'unknown',
    uptimeS: num('uptime_in_seconds'),
    usedMemoryBytes: num('used_memory'),
    maxMemoryBytes: num('maxmemory'),
    opsPerSec: num('instantaneous_ops_per_sec'),
    keyspaceHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
    connectedClients: num('connected_clients'),
    keys: keyCount,
    aofEnabled: info.get('aof_enabled') === '1',
  }
}
