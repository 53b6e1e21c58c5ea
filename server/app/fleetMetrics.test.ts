/**
 * The fleet on /metrics (issue #12 "Metrics Grafana can use", server/app/fleetMetrics.ts): counters written per the
 * wire contract (shared/fleetCounters.ts) come out as exact Prometheus text — cumulative `le` buckets, `+Inf` =
 * `_count`, `_sum` in seconds, hostile label values escaped, empty labels left out — corrupt fields and values are
 * skipped and counted, the caps hold, `promtool check metrics` (the Debian `prometheus` package) finds nothing, and
 * of two dashboard apps on one Redis exactly one exports the fleet, the other taking over when the holder is gone.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Cluster, Redis } from 'ioredis'
import { parseClusterSeeds, type RedisClient } from '../sdk/redisTopology'
import { describe, expect, it } from 'vitest'
import {
  breakerCounterField,
  cacheCounterField,
  DURATION_BOUNDS_S,
  MAX_COUNTER_FIELDS_HELD,
  requestSeriesPrefix,
  type RequestSeriesLabels,
} from '../../shared/fleetCounters'
import { heartbeatFields } from '../../shared/heartbeat'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { createCollector } from '../sdk/index'
import { deletePrefix, testRedisTarget, useTestRedisWithCleanups } from '../testing/redis'
import { Auth } from './auth'
import { escapeLabelValue, FleetExporter } from './fleetMetrics'
import { createDashboard } from './dashboard'
import { createHttpApp } from './http'
import { createMetrics } from './metrics'
import { createOverviewHub } from './readModel'
import { redisInvalidValues } from './reads/redisInput'

let redis: RedisClient
const cleanups = useTestRedisWithCleanups((r) => (redis = r))

/** A fresh key space, deleted after the file. */
function space(): KeySpace {
  const keys = createKeySpace(`fm${randomBytes(5).toString('hex')}`)
  cleanups.push(() => deletePrefix(redis, keys.prefix))
  return keys
}

/** An exporter that always exports (no lease), closed after the file. */
function exporter(keys: KeySpace, options: ConstructorParameters<typeof FleetExporter>[2] = {}): FleetExporter {
  const e = new FleetExporter(redis, keys, { mode: 'always', ...options })
  cleanups.push(() => e.close())
  return e
}

/** Writes one request series' fields (per-bucket counts as stored, count, sum µs) into a service's counters hash. */
async function writeSeries(keys: KeySpace, service: string, labels: RequestSeriesLabels, perBucket: Record<number, number>, sumUs: number): Promise<void> {
  const prefix = requestSeriesPrefix(labels)
  const fields: string[] = []
  let n = 0
  for (const [i, c] of Object.entries(perBucket)) {
    fields.push(`${prefix}${i}`, String(c))
    n += c
  }
  fields.push(`${prefix}n`, String(n), `${prefix}s`, String(sumUs))
  await redis.sadd(keys.services(), service)
  await redis.hset(keys.counters(service), ...fields)
}

async function invalid(kind: string): Promise<number> {
  return (await redisInvalidValues.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0
}

/** `promtool check metrics` on `text`: its exit code and what it printed ('' when clean). */
function promtool(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 })
  if (r.error) throw new Error(`cannot run promtool (Debian package prometheus): ${r.error.message}`)
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() }
}

/** The sample lines of `text` (no comments). */
const sampleLines = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))

/** Every label name used in `text`'s samples. */
function labelNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of sampleLines(text)) {
    const inner = /^[^{ ]+\{(.*)\} \S+$/.exec(line)?.[1]
    if (!inner) continue
    for (const m of inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) names.add(m[1]!)
  }
  return names
}

const GET_ORDERS: RequestSeriesLabels = { method: 'GET', route: '/orders/:id', status: '200', scheme: 'http', errorType: '' }

describe('fleet counters → Prometheus text', () => {
  it('renders a request series as a cumulative histogram with exact values, +Inf = _count, _sum in seconds, empty labels left out', async () => {
    const keys = space()
    // 3 requests ≤ 5 ms, 2 in (25, 50] ms, 1 in (1, 2.5] s, 1 over 10 s (+Inf); sum 13.2345 s.
    await writeSeries(keys, 'shop', GET_ORDERS, { 0: 3, 3: 2, 10: 1, 14: 1 }, 13_234_500)
    await writeSeries(keys, 'shop', { method: 'POST', route: '/orders', status: '', scheme: 'https', errorType: 'ECONNRESET' }, { 6: 4 }, 800_000)
    await redis.hset(keys.counters('shop'), breakerCounterField('payments', 'success'), '41', breakerCounterField('payments', 'reject'), '7')
    await redis.hset(keys.counters('shop'), cacheCounterField('catalog', 'hits'), '90', cacheCounterField('catalog', 'misses'), '10')
    const { text, exporting } = await exporter(keys).scrape()
    expect(exporting).toBe(true)

    const labels = 'service_name="shop",http_request_method="GET",http_route="/orders/:id",http_response_status_code="200",url_scheme="http"'
    const expected = [3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6]
    const lines = sampleLines(text)
    DURATION_BOUNDS_S.forEach((le, i) => expect(lines).toContain(`http_server_request_duration_seconds_bucket{${labels},le="${le}"} ${expected[i]}`))
    expect(lines).toContain(`http_server_request_duration_seconds_bucket{${labels},le="+Inf"} 7`)
    expect(lines).toContain(`http_server_request_duration_seconds_sum{${labels}} 13.2345`)
    expect(lines).toContain(`http_server_request_duration_seconds_count{${labels}} 7`)
    // No status (ended without one) → the label is absent, not empty; error.type present.
    const post = 'service_name="shop",http_request_method="POST",http_route="/orders",url_scheme="https",error_type="ECONNRESET"'
    expect(lines).toContain(`http_server_request_duration_seconds_bucket{${post},le="0.1"} 0`)
    expect(lines).toContain(`http_server_request_duration_seconds_bucket{${post},le="0.25"} 4`)
    expect(lines).toContain(`http_server_request_duration_seconds_count{${post}} 4`)
    expect(lines).toContain(`http_server_request_duration_seconds_sum{${post}} 0.8`)
    expect(text).not.toMatch(/=""/)
    expect(lines).toContain('fusebox_breaker_calls_total{service_name="shop",breaker="payments",outcome="success"} 41')
    expect(lines).toContain('fusebox_breaker_calls_total{service_name="shop",breaker="payments",outcome="reject"} 7')
    expect(lines).toContain('fusebox_cache_events_total{service_name="shop",cache="catalog",kind="hits"} 90')
    expect(lines).toContain('fusebox_cache_events_total{service_name="shop",cache="catalog",kind="misses"} 10')
    // HELP and TYPE once per family.
    for (const family of ['http_server_request_duration_seconds', 'fusebox_breaker_calls_total', 'fusebox_cache_events_total']) {
      expect(text.split('\n').filter((l) => l.startsWith(`# TYPE ${family} `))).toHaveLength(1)
      expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${family} `))).toHaveLength(1)
    }
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram\n')
    expect(promtool(text)).toEqual({ code: 0, output: '' })
  })

  it('escapes hostile label values (quotes, backslashes, newlines, unicode) so promtool and a strict reader parse them back', async () => {
    const keys = space()
    const hostile = ['/a"b', '/c\\d', '/e\\"f', '/new\nline', '/ünïcødé/🚀/日本', '/end\\']
    for (const route of hostile) await writeSeries(keys, 'odd.svc-1', { ...GET_ORDERS, route }, { 2: 1 }, 12_000)
    await redis.hset(keys.counters('odd.svc-1'), breakerCounterField('br"ea\\ker', 'failure'), '2')
    const { text } = await exporter(keys).scrape()
    expect(promtool(text)).toEqual({ code: 0, output: '' })
    const routes = new Set<string>()
    for (const line of sampleLines(text)) {
      const m = /http_route="((?:[^"\\]|\\.)*)"/.exec(line)
      if (m) routes.add(m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)))
    }
    expect([...routes].sort()).toEqual([...hostile].sort())
    expect(text).toContain(`http_route="${escapeLabelValue('/e\\"f')}"`)
    expect(escapeLabelValue('/e\\"f\n')).toBe('/e\\\\\\"f\\n')
    expect(text).toContain('breaker="br\\"ea\\\\ker",outcome="failure"} 2')
    expect(text.split('\n').every((l) => !l.startsWith('/'))).toBe(true) // no line broken by a raw newline
  })

  it('skips and counts corrupt fields and values, inconsistent series and a wrong-type key; the rest is exported', async () => {
    const keys = space()
    await writeSeries(keys, 'bad', GET_ORDERS, { 1: 5 }, 30_000)
    const key = keys.counters('bad')
    const p = requestSeriesPrefix(GET_ORDERS)
    await redis.hset(
      key,
      'r\tGET\t/x', '1', // too few parts
      `${p}15`, '1', // no bucket 15
      `${p}x`, '1',
      'b\tbr\tnope', '1', // unknown outcome
      'c\tcache\tevictions', '1', // unknown kind
      'zzz', '1',
      breakerCounterField('b1', 'success'), '-3',
      breakerCounterField('b1', 'failure'), '1e3',
      cacheCounterField('c1', 'hits'), 'lots',
      cacheCounterField('c1', 'sets'), '99999999999999999', // beyond 2^53
      cacheCounterField('c1', 'misses'), '4', // fine
    )
    // A series whose finite buckets exceed its count cannot be a cumulative histogram.
    const broken = { ...GET_ORDERS, route: '/broken' }
    await writeSeries(keys, 'bad', broken, { 0: 5 }, 10)
    await redis.hset(key, `${requestSeriesPrefix(broken)}n`, '2')
    // A series without its sum.
    const noSum = { ...GET_ORDERS, route: '/nosum' }
    await writeSeries(keys, 'bad', noSum, { 0: 1 }, 10)
    await redis.hdel(key, `${requestSeriesPrefix(noSum)}s`)
    // Another service's counters key holds a string.
    await redis.sadd(keys.services(), 'wrong')
    await redis.set(keys.counters('wrong'), 'not a hash')

    const [counters0, wrong0] = [await invalid('counters'), await invalid('wrong_type')]
    const { text, redisOk } = await exporter(keys).scrape()
    expect(redisOk).toBe(true)
    expect(await invalid('counters')).toBe(counters0 + 10 + 2)
    expect(await invalid('wrong_type')).toBe(wrong0 + 1)
    expect(sampleLines(text)).toContain('http_server_request_duration_seconds_count{service_name="bad",http_request_method="GET",http_route="/orders/:id",http_response_status_code="200",url_scheme="http"} 5')
    expect(sampleLines(text)).toContain('fusebox_cache_events_total{service_name="bad",cache="c1",kind="misses"} 4')
    expect(text).not.toMatch(/\/broken|\/nosum|b1|kind="(hits|sets)"/)
    expect(sampleLines(text)).toContain('fusebox_instances_up{service_name="wrong"} 0')
    expect(promtool(text)).toEqual({ code: 0, output: '' })
  })

  it('holds its caps: a counters hash beyond MAX_COUNTER_FIELDS_HELD (the cap plus the overflow series of every method) is skipped and counted, services and instances beyond the caps are left out and reported', async () => {
    const keys = space()
    const big: string[] = []
    for (let i = 0; i <= MAX_COUNTER_FIELDS_HELD; i++) big.push(cacheCounterField(`c${i}`, 'hits'), '1')
    for (let i = 0; i < big.length; i += 20_000) await redis.hset(keys.counters('huge'), ...big.slice(i, i + 20_000))
    await redis.sadd(keys.services(), 'huge')
    for (const s of ['s1', 's2', 's3']) await writeSeries(keys, s, GET_ORDERS, { 0: 1 }, 1000)
    const now = Date.now()
    for (const inst of ['s1-a', 's1-b', 's1-c']) {
      await redis.zadd(keys.instances('s1'), now, inst)
      await redis.hset(keys.instanceInfo('s1', inst), heartbeatFields({
        pid: 10, version: '1.0.0', startedAtMs: now - 5000, lastSeenMs: now, heartbeatIntervalMs: 1000,
        heapUsedBytes: 1, rssBytes: 2, cpuPercent: 3, eventLoopDelayP99Ms: 4, uptimeS: 5,
      }))
    }
    const before = await invalid('counters')
    // Sorted by name: huge, s1, s2, s3 → the first three are exported.
    const { text } = await exporter(keys, { maxServices: 3, maxInstancesPerService: 2 }).scrape()
    expect(await invalid('counters')).toBe(before + 1)
    expect(text).not.toContain('cache="c')
    expect(text).toContain('service_name="s2"')
    expect(text).not.toContain('service_name="s3"')
    expect(sampleLines(text)).toContain('fusebox_fleet_capped{what="services"} 1')
    expect(sampleLines(text)).toContain('fusebox_fleet_capped{what="instances"} 1')
    expect(sampleLines(text)).toContain('fusebox_instances_up{service_name="s1"} 3')
    expect(sampleLines(text).filter((l) => l.startsWith('fusebox_instance_up{'))).toEqual([
      'fusebox_instance_up{service_name="s1",service_instance_id="s1-a"} 1',
      'fusebox_instance_up{service_name="s1",service_instance_id="s1-b"} 1',
    ])
    expect(sampleLines(text)).toContain('fusebox_instance_cpu_utilization_ratio{service_name="s1",service_instance_id="s1-a"} 0.03')
    expect(sampleLines(text)).toContain('fusebox_instance_event_loop_delay_p99_seconds{service_name="s1",service_instance_id="s1-a"} 0.004')
    expect(sampleLines(text)).toContain(`fusebox_instance_start_time_seconds{service_name="s1",service_instance_id="s1-a"} ${(now - 5000) / 1000}`)
    expect(sampleLines(text)).toContain('fusebox_instance_resident_memory_bytes{service_name="s1",service_instance_id="s1-b"} 2')
  })
})

describe('/metrics of a dashboard app with a real collector', () => {
  it('passes promtool check metrics, exports collectDefaultMetrics once, and no label is a Prometheus target label', async () => {
    const keys = space()
    const auth = new Auth(redis, keys, ['operator-token-for-tests-0001'], [], 3600)
    const server: Server = createHttpApp({ redis, keys, auth, tls: false, hub: createOverviewHub(redis, keys) }, { staticDir: 'dist' }).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    cleanups.push(async () => {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    })
    const collector = createCollector({ redis: testRedisTarget(), service: 'checkout', instance: 'checkout-1', prefix: keys.prefix, flushIntervalMs: 60_000 })
    cleanups.push(() => collector.close())
    const breaker = collector.breaker('payments', async () => 1)
    await breaker.fire()
    collector.recordRequest({ method: 'GET', route: '/cart/"x"', status: 200, durationMs: 12 })
    collector.recordCacheEvent('catalog', 'hits', 3)
    // A BullMQ-shaped queue (structural: the SDK takes any object with these methods).
    const queue = { name: 'emails', getJobCounts: async () => ({ waiting: 4, active: 1, failed: 2 }), getJobs: async () => [{ timestamp: Date.now() - 2500 }] }
    await collector.watchQueue(queue).sample()
    await collector.flush()

    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(promtool(text)).toEqual({ code: 0, output: '' })
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter\n')
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge\n')
    expect(text).toContain('# TYPE fusebox_http_server_request_duration_seconds histogram\n')
    expect(sampleLines(text)).toContain('fusebox_fleet_exporter 1')
    expect(sampleLines(text)).toContain('fusebox_redis_up 1')
    expect(sampleLines(text)).toContain('fusebox_breaker_state{service_name="checkout",breaker="payments",service_instance_id="checkout-1",state="CLOSED"} 1')
    expect(sampleLines(text)).toEqual(expect.arrayContaining([
      'fusebox_queue_jobs{service_name="checkout",queue="emails",state="waiting"} 4',
      'fusebox_queue_jobs{service_name="checkout",queue="emails",state="failed"} 2',
      'fusebox_queue_jobs{service_name="checkout",queue="emails",state="delayed"} 0',
    ]))
    const oldest = sampleLines(text).find((l) => l.startsWith('fusebox_queue_oldest_waiting_seconds{service_name="checkout",queue="emails"}'))
    expect(Number(oldest?.split(' ')[1])).toBeGreaterThanOrEqual(2.4)
    const names = labelNames(text)
    for (const target of ['instance', 'job', '__address__', '__scheme__', '__metrics_path__']) expect(names.has(target), target).toBe(false)
  })
})

describe('several replicas on one Redis', () => {
  /** A dashboard replica's metrics on `keys` with its own Redis client (so it can be cut off). */
  async function replica(keys: KeySpace, options: Parameters<typeof createMetrics>[3] = {}) {
    const target = testRedisTarget()
    // Fails fast and never reconnects, on either topology: once disconnected it is gone for good.
    const own: RedisClient =
      typeof target === 'string'
        ? new Redis(target, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
        : new Cluster(parseClusterSeeds(target.cluster).nodes, {
            lazyConnect: true,
            enableOfflineQueue: false,
            clusterRetryStrategy: () => null,
            scaleReads: 'master',
            redisOptions: { maxRetriesPerRequest: 0 },
          })
    own.on('error', () => undefined)
    await own.connect()
    const m = createMetrics(own, keys, undefined, { leaseTtlMs: 1500, leaseRenewMs: 300, ...options })
    cleanups.push(async () => {
      await m.close()
      own.disconnect()
    })
    const scrape = async () => {
      const s = await m.fleet.scrape()
      return { exporting: s.exporting, fleet: s.text.includes('http_server_request_duration_seconds_count{') }
    }
    return { m, own, scrape }
  }

  it('exactly one replica exports the fleet series; when the holder is gone the other takes over after the lease expires', async () => {
    const keys = space()
    await writeSeries(keys, 'api', GET_ORDERS, { 0: 1 }, 100)
    const a = await replica(keys)
    const b = await replica(keys)
    for (let i = 0; i < 3; i++) {
      const [sa, sb] = await Promise.all([a.scrape(), b.scrape()])
      expect([sa.exporting, sb.exporting].filter(Boolean)).toHaveLength(1)
      expect(sa.fleet).toBe(sa.exporting)
      expect(sb.fleet).toBe(sb.exporting)
    }
    const [holder, other] = (await a.scrape()).exporting ? [a, b] : [b, a]
    expect(await redis.get(keys.metricsExporter())).toBe(holder.m.fleet.holderId)
    // The holder's timer keeps the lease while it is scraped, well beyond one lease life.
    await new Promise((r) => setTimeout(r, 2000))
    expect((await other.scrape()).exporting).toBe(false)
    // The holder dies (its connection gone: no renewal, no release).
    holder.own.disconnect()
    expect((await other.scrape()).exporting).toBe(false)
    const t0 = Date.now()
    let took = false
    while (!took && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 100))
      took = (await other.scrape()).exporting
    }
    expect(took).toBe(true)
    expect(Date.now() - t0).toBeLessThan(2500)
    expect((await other.scrape()).fleet).toBe(true)
  })

  it('a dashboard server that shuts down (createDashboard close, as main.ts on SIGTERM) hands the fleet series to the other replica at once', async () => {
    const keys = space()
    await writeSeries(keys, 'api', GET_ORDERS, { 0: 1 }, 100)
    const start = async () => {
      const d = createDashboard({ redis: testRedisTarget(), keyPrefix: keys.prefix, operatorTokens: ['operator-token-for-tests-0001'], staticDir: 'dist' })
      const server = createServer(d.app).listen(0, '127.0.0.1')
      await new Promise((r) => server.once('listening', r))
      const stop = async () => {
        server.closeAllConnections()
        await new Promise((r) => server.close(r))
        await d.close()
      }
      cleanups.push(stop)
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      // Started means connected: the dashboard's Cluster client fails fast (no offline queue) until it is ready, where
      // a standalone client queues the first commands; /healthz answers 200 once it is.
      const ready = Date.now() + 10_000
      while ((await fetch(`${base}/healthz`)).status !== 200 && Date.now() < ready) await new Promise((r) => setTimeout(r, 50))
      const exporting = async () => sampleLines(await (await fetch(`${base}/metrics`)).text()).includes('fusebox_fleet_exporter 1')
      return { exporting, stop }
    }
    const a = await start()
    const b = await start()
    expect(await a.exporting()).toBe(true)
    expect(await b.exporting()).toBe(false)
    await a.stop()
    expect(await b.exporting()).toBe(true) // not after the 30 s lease: the closing server gave it up
  })

  it('a replica that closes gives the lease up at once; always and never ignore the lease', async () => {
    const keys = space()
    const a = await replica(keys)
    const b = await replica(keys)
    expect((await a.scrape()).exporting).toBe(true)
    expect((await b.scrape()).exporting).toBe(false)
    await a.m.close()
    expect((await b.scrape()).exporting).toBe(true)
    const always = await replica(keys, { fleet: 'always' })
    const never = await replica(keys, { fleet: 'never' })
    expect((await always.scrape()).exporting).toBe(true)
    expect((await never.scrape()).exporting).toBe(false)
    expect((await b.scrape()).exporting).toBe(true)
  })
})
