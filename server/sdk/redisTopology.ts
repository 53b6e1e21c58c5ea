/**
 * The two Redis topologies Fusebox runs on — one standalone server (`Redis`) or a Redis Cluster (`Cluster`) — and
 * the one parser of cluster seeds (`REDIS_CLUSTER_NODES`, the SDK's `{ cluster }` option, the CLI's
 * `--redis-cluster-nodes`). Shared by the collector SDK and the dashboard server (docs/decisions/027).
 */
import type { Cluster, Redis } from 'ioredis'

/**
 * An ioredis client of either topology — a standalone `Redis` or a Redis Cluster `Cluster` (ioredis 5/6) — what the
 * SDK borrows (`createCollector({ redis })`) and what the server reads through.
 */
export type RedisClient = Redis | Cluster

/** True when `client` is an ioredis Cluster (ioredis sets `isCluster` on both classes). */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster === true
}

/**
 * The nodes a per-node command (INFO, SCAN, DBSIZE) must go to: every master of a cluster (as ioredis currently
 * knows them), or the one standalone client.
 */
export function primaryNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client]
}

/** Number of hash slots of a Redis Cluster (redis.io "Redis cluster specification"). */
export const CLUSTER_SLOTS = 16_384

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of `bytes`, the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/**
 * The hash slot (0 … 16383) of `key`, as `CLUSTER KEYSLOT` computes it: CRC16 of the key's UTF-8 bytes modulo
 * 16384, or of its hash tag only — the part between the first `{` and the first `}` after it, when not empty.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(Buffer.from(key, 'utf8')) % CLUSTER_SLOTS
}

/**
 * One startup node of a cluster (a seed): it need not be a master, nor still be in the cluster, as long as one seed
 * answers `CLUSTER SLOTS` — from there ioredis learns every node.
 */
export interface ClusterSeed {
  /** Host name or IP address (IPv6 without brackets). */
  host: string
  /** TCP port, 1–65535. */
  port: number
}

/** What a seed list says: the startup nodes, and the connection options every node shares (auth, TLS). */
export interface ClusterSeeds {
  nodes: ClusterSeed[]
  /** ACL user and password (from a `redis[s]://user:pass@` seed), and `tls: {}` when any seed is `rediss://`. */
  redisOptions: { username?: string; password?: string; tls?: Record<string, never> }
}

/** Seeds accepted in one list (a cluster needs only one reachable; more is a mistake). */
export const MAX_CLUSTER_SEEDS = 64

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

function parsePort(text: string, seed: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`cluster seed "${seed}": port must be 1-65535`)
  return port
}

/**
 * Parses a comma-separated seed list: each seed `host:port`, `[ipv6]:port`, or a `redis://` / `rediss://` URL
 * (`rediss://user:pass@host:port`). Credentials may appear on any seed and must agree; one `rediss://` seed turns
 * TLS on for every node (a cluster does not mix). Whitespace around seeds is ignored.
 * @throws Error naming the first bad seed: empty list, more than MAX_CLUSTER_SEEDS, no port, a port outside 1–65535,
 *   a URL with a path (a cluster has only database 0), a query, another scheme, or two different credentials
 */
export function parseClusterSeeds(text: string): ClusterSeeds {
  const entries = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
  if (entries.length === 0) throw new Error('cluster seeds: give at least one host:port')
  if (entries.length > MAX_CLUSTER_SEEDS) throw new Error(`cluster seeds: at most ${MAX_CLUSTER_SEEDS}, got ${entries.length}`)
  const nodes: ClusterSeed[] = []
  let tls = false
  let username: string | undefined
  let password: string | undefined
  let credentialsFrom: string | undefined
  for (const seed of entries) {
    if (seed.includes('://')) {
      let url: URL
      try {
        url = new URL(seed)
      } catch {
        throw new Error(`cluster seed "${seed}": not a URL`)
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`cluster seed "${seed}": must be redis:// or rediss://`)
      if (url.pathname !== '' && url.pathname !== '/') throw new Error(`cluster seed "${seed}": a cluster has only database 0, drop the path`)
      if (url.search !== '' || url.hash !== '') throw new Error(`cluster seed "${seed}": no query or fragment`)
      if (url.port === '') throw new Error(`cluster seed "${seed}": give the port`)
      if (url.protocol === 'rediss:') tls = true
      const user = url.username === '' ? undefined : decodeURIComponent(url.username)
      const pass = url.password === '' ? undefined : decodeURIComponent(url.password)
      if (user !== undefined || pass !== undefined) {
        if (credentialsFrom !== undefined && (user !== username || pass !== password)) {
          throw new Error(`cluster seed "${url.host}": credentials differ from those of "${credentialsFrom}"`)
        }
        username = user
        password = pass
        credentialsFrom = url.host
      }
      nodes.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: parsePort(url.port, url.host) })
    } else {
      const m = HOST_PORT.exec(seed)
      if (!m) throw new Error(`cluster seed "${seed}": must be host:port, [ipv6]:port or a redis:// URL`)
      nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: parsePort(m[2]!, seed) })
    }
  }
  const redisOptions: ClusterSeeds['redisOptions'] = {}
  if (username !== undefined) redisOptions.username = username
  if (password !== undefined) redisOptions.password = password
  if (tls) redisOptions.tls = {}
  return { nodes, redisOptions }
}

/**
 * `error` with the cause ioredis' Cluster keeps apart: a "Failed to refresh slots cache." or "None of startup nodes
 * is available" (ClusterAllFailedError) says nothing of why, while its `lastNodeError` does (NOAUTH, ECONNREFUSED…).
 * Returns `error` itself when there is no such cause; otherwise a new Error `<message> (last node error: <cause>)`
 * with `error` as its `cause`.
 */
export function withClusterCause(error: Error): Error {
  const last = (error as { lastNodeError?: unknown }).lastNodeError
  if (!(last instanceof Error) || error.message.includes(last.message)) return error
  return new Error(`${error.message} (last node error: ${last.message})`, { cause: error })
}
