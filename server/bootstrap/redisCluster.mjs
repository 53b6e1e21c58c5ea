// @ts-check
/**
 * A real Redis Cluster on loopback for tests and benchmarks: `masters` × (1 + `replicasPerMaster`) Debian
 * redis-server nodes in cluster mode (AOF on, each in its own folder, free ports ≤ 55535 since the cluster bus
 * listens on port + 10000), joined by `redis-cli --cluster create`, ready once every node reports
 * `cluster_state:ok` and every replica's link to its master is up. Only node: built-ins here.
 */
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { findFreePort, startEmbeddedRedis } from './redis.mjs'

/** Highest port a node may use: its cluster bus is port + 10000 (redis.io "Redis cluster specification"). */
const MAX_NODE_PORT = 55_535
const READY_TIMEOUT_MS = 30_000

/**
 * Sends one inline command over a raw socket and returns the whole reply text (bulk strings included), or '' when
 * the node does not answer within `timeoutMs`.
 * @param {number} port
 * @param {string} command  e.g. 'CLUSTER INFO'
 * @param {number} [timeoutMs]
 * @param {string} [password]  requirepass of the node (sent as AUTH first)
 * @returns {Promise<string>}
 */
export function rawCommand(port, command, timeoutMs = 1000, password = undefined) {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    // With a password, AUTH goes first and its +OK line is skipped before the command's reply is read.
    let authPending = password !== undefined
    let reply = ''
    /** @param {string} text */
    const done = (text) => {
      socket.destroy()
      resolvePromise(text)
    }
    socket.setTimeout(timeoutMs, () => done(''))
    socket.once('error', () => done(''))
    socket.once('connect', () => socket.write(`${password !== undefined ? `AUTH ${password}\r\n` : ''}${command}\r\n`))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (authPending) {
        const end = reply.indexOf('\r\n')
        if (end < 0) return
        if (!reply.startsWith('+OK')) return done('')
        reply = reply.slice(end + 2)
        authPending = false
      }
      // A bulk reply: `$<len>\r\n<body>\r\n`; anything else ends at its first CRLF.
      const m = /^\$(\d+)\r\n/.exec(reply)
      if (m) {
        if (reply.length >= m[0].length + Number(m[1]) + 2) done(reply.slice(m[0].length, m[0].length + Number(m[1])))
      } else if (reply.includes('\r\n')) done(reply.slice(0, reply.indexOf('\r\n')))
    })
  })
}

/**
 * True when nothing listens on `port` of 127.0.0.1 right now (listen, then close).
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canListen(port) {
  return new Promise((resolvePromise) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolvePromise(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)))
  })
}

/**
 * A free port whose cluster bus port (+10000) is free too, and not one of `taken` (ports handed out in this start,
 * and their bus ports). @param {Set<number>} taken @returns {Promise<number>}
 */
async function freeNodePort(taken) {
  for (;;) {
    const port = await findFreePort()
    if (port > MAX_NODE_PORT || taken.has(port) || taken.has(port + 10_000) || !(await canListen(port + 10_000))) continue
    taken.add(port)
    taken.add(port + 10_000)
    return port
  }
}

/**
 * Runs `redis-cli` and resolves with its output; rejects with that output when it fails.
 * @param {string} binary
 * @param {string[]} args
 * @returns {Promise<string>}
 */
function runCli(binary, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d.toString()))
    child.stderr.on('data', (d) => (out += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`${binary} ${args.join(' ')} exited ${code}:\n${out}`))))
  })
}

/**
 * @typedef {object} ClusterNode
 * @property {number} port
 * @property {string} address  127.0.0.1:<port>
 * @property {import('./redis.mjs').EmbeddedRedis} server
 */
/**
 * @typedef {object} RedisClusterHandle
 * @property {ClusterNode[]} nodes  every node, in start order
 * @property {string} seeds  `127.0.0.1:p1,127.0.0.1:p2,…` — every node, the REDIS_CLUSTER_NODES form
 * @property {(port: number) => Promise<'master' | 'slave' | 'unknown'>} role  ROLE of one node
 * @property {() => Promise<number[]>} masterPorts  ports of the nodes that are masters now
 * @property {() => Promise<boolean>} healthy  cluster_state:ok on every running node and every replica linked
 * @property {(timeoutMs?: number) => Promise<void>} waitHealthy  resolves once `healthy()`; throws after timeoutMs
 * @property {() => Promise<void>} stop  stops every node (graceful, SIGKILL after 10 s); idempotent
 */

/**
 * Starts a Redis Cluster of `masters` masters with `replicasPerMaster` replicas each, on 127.0.0.1, every node in
 * `dir/node-<i>`; resolves once it is healthy. `nodeTimeoutMs` is `cluster-node-timeout`: how long a master must be
 * unreachable before its replica is promoted (Redis' default is 15 s; tests want a few seconds).
 * @param {{ dir: string, masters?: number, replicasPerMaster?: number, nodeTimeoutMs?: number, binary?: string,
 *   cliBinary?: string, extraArgs?: string[], password?: string }} options  defaults 3 masters, 1 replica each,
 *   5000 ms, 'redis-server', 'redis-cli', no extra redis-server options, no password (`password`: every node's
 *   `requirepass` and `masterauth`)
 * @returns {Promise<RedisClusterHandle>}
 * @throws {Error} when a node does not start, the cluster cannot be created, or it is not healthy within 30 s
 *   (every started node is stopped first)
 */
export async function startRedisCluster({ dir, masters = 3, replicasPerMaster = 1, nodeTimeoutMs = 5000, binary = 'redis-server', cliBinary = 'redis-cli', extraArgs = [], password = undefined }) {
  const root = resolve(dir)
  const count = masters * (1 + replicasPerMaster)
  /** @type {ClusterNode[]} */
  const nodes = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.server.stop()))
  }
  /** @type {Set<number>} */
  const taken = new Set()
  try {
    const started = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const nodeDir = join(root, `node-${i}`)
        mkdirSync(nodeDir, { recursive: true })
        const port = await freeNodePort(taken)
        const server = await startEmbeddedRedis({
          dir: nodeDir,
          port,
          binary,
          quiet: true,
          extraArgs: [
            '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', String(nodeTimeoutMs),
            ...(password !== undefined ? ['--requirepass', password, '--masterauth', password] : []),
            ...extraArgs,
          ],
        })
        return { port, address: `127.0.0.1:${port}`, server }
      }),
    )
    nodes.push(...started)
    await runCli(cliBinary, [...(password !== undefined ? ['-a', password, '--no-auth-warning'] : []), '--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'])
  } catch (error) {
    await stop()
    throw error
  }

  /** @param {number} port */
  const role = async (port) => {
    const info = await rawCommand(port, 'INFO replication', 1000, password)
    const m = /role:(master|slave)/.exec(info)
    return m ? /** @type {'master' | 'slave'} */ (m[1]) : 'unknown'
  }
  const healthy = async () => {
    const running = nodes.filter((n) => n.server.process.isRunning())
    for (const n of running) {
      if (!(await rawCommand(n.port, 'CLUSTER INFO', 1000, password)).includes('cluster_state:ok')) return false
      const repl = await rawCommand(n.port, 'INFO replication', 1000, password)
      if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false
    }
    return true
  }
  /** @param {number} [timeoutMs] */
  const waitHealthy = async (timeoutMs = READY_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs
    while (!(await healthy())) {
      if (Date.now() > deadline) throw new Error(`Redis Cluster on ${nodes.map((n) => n.port).join(', ')} not healthy within ${timeoutMs} ms`)
      await sleep(100)
    }
  }
  try {
    await waitHealthy()
  } catch (error) {
    await stop()
    throw error
  }
  return {
    nodes,
    seeds: nodes.map((n) => n.address).join(','),
    role,
    masterPorts: async () => {
      const roles = await Promise.all(nodes.filter((n) => n.server.process.isRunning()).map(async (n) => [n.port, await role(n.port)]))
      return roles.filter(([, r]) => r === 'master').map(([p]) => /** @type {number} */ (p))
    },
    healthy,
    waitHealthy,
    stop,
  }
}
