/**
 * Issue #13 build point 1, "`rediss` and auth supported": a Redis Cluster whose nodes require a password
 * (`requirepass` + `masterauth`, 3 masters, no replicas — started here). The credentials travel in the seeds, as
 * `REDIS_CLUSTER_NODES=redis://:password@host:port,…` and the SDK's `{ cluster: … }` carry them, and apply to every
 * node ioredis discovers, not only to the seed it was given: a collector writes a service whose slot is on another
 * master than the one seed, and the dashboard (its own seeds, also one node) reads it back over real HTTP. Without the
 * password the collector counts failed flushes (never throws) and the dashboard answers 503, never 500.
 * (TLS, `rediss://`, is parsed the same way — parseClusterSeeds turns `tls` on for every node — but not run here: the
 * Debian redis-server has no certificates to serve.)
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { OverviewSnapshot } from '../../shared/schemas'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { ensureDebianBinary } from '../bootstrap/debian.mjs'
import { startRedisCluster, type RedisClusterHandle } from '../bootstrap/redisCluster.mjs'
import { createCollector } from '../sdk/index'
import { keySlot } from '../sdk/redisTopology'
import { createDashboard, type Dashboard } from './dashboard'

const PASSWORD = `pw-${randomBytes(8).toString('hex')}`
const OPERATOR = { name: 'op', token: 'cluster-auth-operator-token-0123' }
const PREFIX = `cauth${randomBytes(3).toString('hex')}`

let dir = ''
let cluster: RedisClusterHandle
let admin: Cluster
/** Port of the first master, the only seed handed out below. */
let seedPort = 0

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** A service name whose `{svc}` slot is NOT served by the seed node: reaching it needs the password on another node. */
async function serviceAwayFromSeed(): Promise<string> {
  const seedId = (await admin.nodes('master').find((n) => n.options.port === seedPort)!.cluster('MYID')) as string
  const shards = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number, string]][]
  for (let i = 0; ; i++) {
    const name = `svc${i}`
    const slot = keySlot(`{${name}}`)
    const owner = shards.find(([from, to]) => slot >= from && slot <= to)
    if (owner && owner[2][2] !== seedId) return name
  }
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handler).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusebox-cluster-auth-'))
  const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
  const cliBinary = ensureDebianBinary({ binary: 'redis-cli', pkg: 'redis-tools' })
  cluster = await startRedisCluster({ dir, masters: 3, replicasPerMaster: 0, binary, cliBinary, password: PASSWORD })
  seedPort = cluster.nodes[0]!.port
  admin = new Cluster([{ host: '127.0.0.1', port: seedPort }], { redisOptions: { password: PASSWORD } })
  await admin.ping()
}, 60_000)

afterAll(async () => {
  await admin?.quit()
  await cluster?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
}, 30_000)

describe('a Redis Cluster that requires a password', () => {
  it('is written by the SDK and read by the dashboard with the password in their seeds, and refused without it (the SDK reports NOAUTH and writes nothing, the dashboard answers 503)', { timeout: 60_000 }, async () => {
    // Without a password nothing is readable: the nodes really do require it.
    const anonymous = new Cluster([{ host: '127.0.0.1', port: seedPort }], { clusterRetryStrategy: () => null, redisOptions: { maxRetriesPerRequest: 0 } })
    anonymous.on('error', () => undefined)
    await expect(anonymous.get('x')).rejects.toThrow()
    anonymous.disconnect()

    const service = await serviceAwayFromSeed()
    const seeds = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${seedPort}`
    const errors: string[] = []
    const collector = createCollector({ redis: { cluster: seeds }, service, instance: `${service}-1`, prefix: PREFIX, flushIntervalMs: 200, onError: (e) => errors.push(e.message) })
    const dashboard: Dashboard = createDashboard({ redis: { cluster: seeds }, keyPrefix: PREFIX, operatorTokens: [OPERATOR] })
    const http = await listen(dashboard.app as Parameters<typeof createServer>[1])
    const wrongErrors: string[] = []
    const wrong = createCollector({ redis: { cluster: `127.0.0.1:${seedPort}` }, service: `${service}x`, instance: 'nopass-1', prefix: PREFIX, flushIntervalMs: 200, onError: (e) => wrongErrors.push(e.message) })
    const noPassDashboard = createDashboard({ redis: { cluster: `127.0.0.1:${seedPort}` }, keyPrefix: PREFIX, operatorTokens: [OPERATOR] })
    const noPassHttp = await listen(noPassDashboard.app as Parameters<typeof createServer>[1])
    try {
      for (let i = 0; i < 40; i++) collector.recordRequest({ method: 'GET', route: '/orders/:id', status: i % 10 === 0 ? 500 : 200, durationMs: 12 })
      await until('the collector flushed to the master of its slot', async () => collector.stats.flushes > 0 && (await admin.exists(`${PREFIX}:{${service}}:instances`)) === 1, 15_000)
      expect(collector.stats.flushErrors).toBe(0)
      expect(errors).toEqual([])

      const login = await fetch(`${http.base}/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json', [CSRF_HEADER]: '1' }, body: JSON.stringify({ token: OPERATOR.token }) })
      expect(login.status).toBe(200)
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
      const res = await fetch(`${http.base}/trpc/overview.get?input=${encodeURIComponent(JSON.stringify({ windowMs: 60_000 }))}`, { headers: { cookie } })
      expect(res.status).toBe(200)
      const overview = ((await res.json()) as { result: { data: OverviewSnapshot } }).result.data
      const mine = overview.services.find((s) => s.service === service)
      expect(mine?.requests).toBe(40)
      expect(mine?.errors).toBe(4)

      // No password: the SDK counts failed flushes and never throws; the dashboard answers 503, never 500.
      wrong.recordRequest({ method: 'GET', route: '/x', status: 200, durationMs: 1 })
      await until('the collector without a password reported NOAUTH', async () => wrongErrors.some((m) => /NOAUTH|Authentication required/i.test(m)), 10_000)
      expect(wrong.stats.flushes).toBe(0)
      expect(await admin.exists(`${PREFIX}:{${service}x}:instances`)).toBe(0)
      const refused = await fetch(`${noPassHttp.base}/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json', [CSRF_HEADER]: '1' }, body: JSON.stringify({ token: OPERATOR.token }) })
      expect(refused.status).toBe(503)
      expect((await fetch(`${noPassHttp.base}/healthz`)).status).toBe(503)
    } finally {
      await Promise.all([collector.close(), wrong.close()])
      for (const h of [http, noPassHttp]) {
        h.server.closeAllConnections()
        await new Promise((r) => h.server.close(r))
      }
      await Promise.all([dashboard.close(), noPassDashboard.close()])
    }
  })
})
