/**
 * `GET /metrics` (issue #4 "Interop"; names per the OpenTelemetry HTTP metrics semantic conventions): valid Prometheus text, OTel-derived HTTP histogram with
 * low-cardinality labels, SSE kept out, breaker/instance gauges read from Redis at scrape time, and access control.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { Cluster, Redis } from 'ioredis'
import type { RedisClient } from '../sdk/redisTopology'
import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { BREAKER_STATES } from '../../shared/schemas'
import { createCollector, type Collector } from '../sdk/index'
import { deletePrefix, testRedisTarget, testTopology, useTestRedisWithCleanups } from '../testing/redis'
import { Auth } from './auth'
import { createHttpApp, type HttpOptions } from './http'
import { createOverviewHub } from './readModel'
import { DURATION_BUCKETS_S, HTTP_ROUTES, observeProcedure } from './metrics'

const OPERATOR = 'operator-token-for-tests-0001'
const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }
let redis: RedisClient
// The client answers PING before the tests: /healthz answers 503 until it is 'ready' (CI once raced this).
const cleanups = useTestRedisWithCleanups((r) => (redis = r))

async function startApp(
  options: Partial<HttpOptions> = {},
  appRedis: RedisClient = redis,
  host = '127.0.0.1',
): Promise<{ base: string; port: number; prefix: string }> {
  const prefix = `m${randomBytes(5).toString('hex')}`
  const keys = createKeySpace(prefix)
  const auth = new Auth(redis, keys, [OPERATOR], [], 3600)
  const server: Server = createHttpApp({ redis: appRedis, keys, auth, tls: false, hub: createOverviewHub(appRedis, keys) }, { staticDir: 'dist', ...options }).listen(0, host)
  await new Promise((r) => server.once('listening', r))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    await deletePrefix(redis, prefix)
  })
  const port = (server.address() as AddressInfo).port
  return { base: `http://127.0.0.1:${port}`, port, prefix }
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses Prometheus text format 0.0.4 strictly enough to catch malformed output; throws on a bad line. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const samples: Sample[] = []
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`)
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string]
      expect(name).toMatch(new RegExp(`^${NAME}$`))
      if (kind === 'TYPE') {
        expect(types.has(name), `one # TYPE per family: ${name}`).toBe(false)
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(rest)
        types.set(name, rest)
      } else {
        expect(helps.has(name), `one # HELP per family: ${name}`).toBe(false)
        helps.add(name)
      }
      continue
    }
    const m = sampleRe.exec(line)
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2]) {
      labelRe.lastIndex = 0
      let consumed = 0
      let lm: RegExpExecArray | null
      while ((lm = labelRe.exec(m[2])) !== null) {
        labels[lm[1]!] = lm[2]!
        consumed = labelRe.lastIndex
      }
      expect(consumed, `labels fully parsed: ${line}`).toBe(m[2].length)
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    // Go's ParseFloat (the format's definition) reads NaN in any case; prom-client writes `Nan` (an idle event-loop monitor).
    expect(Number.isNaN(value) && !/^nan$/i.test(m[3]!), `numeric value: ${line}`).toBe(false)
    samples.push({ name: m[1]!, labels, value })
  }
  return { types, samples }
}

function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort())
}

async function scrape(base: string, headers: Record<string, string> = {}): Promise<{ res: Response; text: string }> {
  const res = await fetch(`${base}/metrics`, { headers })
  return { res, text: await res.text() }
}

describe('/metrics', () => {
  it('exposes the OTel-named HTTP duration histogram as valid Prometheus text, with no raw paths and no SSE', async () => {
    const { base } = await startApp()
    const asset = readdirSync('dist/assets').find((f) => f.endsWith('.js'))!
    await fetch(`${base}/healthz`)
    await fetch(`${base}/trpc/overview.get`) // 401
    await fetch(`${base}/trpc/secret-procedure-9f8e7d`) // 404 from tRPC: still route /trpc
    await fetch(`${base}/some/page/4711`) // app shell
    await fetch(`${base}/index.html`)
    await fetch(`${base}/assets/${asset}`)
    await fetch(`${base}/no-such-file-1234.txt`) // 404 unmatched
    await new Promise<void>((resolve, reject) =>
      httpRequest(`${base}/weird-path-5678`, { method: 'PROPFIND' }, (r) => r.resume().on('end', resolve)).on('error', reject).end(),
    )
    const login = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token: OPERATOR }) })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    // A live subscription: open, read its first bytes, abort. It must not be observed.
    const ac = new AbortController()
    const sse = await fetch(`${base}/trpc/live.snapshot`, { headers: { cookie, accept: 'text/event-stream' }, signal: ac.signal })
    expect(sse.headers.get('content-type')).toMatch(/event-stream/)
    await sse.body!.getReader().read()
    ac.abort()
    await new Promise((r) => setTimeout(r, 100))

    const { res, text } = await scrape(base)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(text).toContain('# TYPE fusebox_http_server_request_duration_seconds histogram\n')
    const { types, samples } = parseExposition(text)
    expect(types.get('fusebox_http_server_request_duration_seconds')).toBe('histogram')
    expect(types.get('fusebox_trpc_procedure_duration_seconds')).toBe('histogram')
    // No service reported on this prefix: the fleet families (server/app/fleetMetrics.ts) are absent, never empty.
    expect(types.has('fusebox_breaker_state')).toBe(false)
    expect(types.has('http_server_request_duration_seconds')).toBe(false)
    expect(types.get('fusebox_fleet_exporter')).toBe('gauge')

    const http = samples.filter((s) => s.name.startsWith('fusebox_http_server_request_duration_seconds'))
    const allowed = new Set<string>(Object.values(HTTP_ROUTES))
    for (const s of http) {
      const names = Object.keys(s.labels).filter((k) => k !== 'le').sort()
      expect(names).toEqual(['http_request_method', 'http_response_status_code', 'http_route'])
      expect(allowed.has(s.labels.http_route!), `route label ${s.labels.http_route}`).toBe(true)
      expect(s.labels.http_response_status_code).toMatch(/^\d{3}$/)
      expect(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER']).toContain(s.labels.http_request_method)
    }
    for (const raw of ['secret-procedure', '4711', 'no-such-file', 'weird-path', asset, 'live.snapshot', 'overview.get']) {
      expect(http.some((s) => Object.values(s.labels).some((v) => v.includes(raw))), raw).toBe(false)
    }

    // Buckets: the OTel advised boundaries + +Inf, cumulative, +Inf equal to _count.
    const buckets = http.filter((s) => s.name === 'fusebox_http_server_request_duration_seconds_bucket')
    const counts = new Map(http.filter((s) => s.name === 'fusebox_http_server_request_duration_seconds_count').map((s) => [seriesKey(s.labels), s.value]))
    const sums = http.filter((s) => s.name === 'fusebox_http_server_request_duration_seconds_sum')
    expect(counts.size).toBeGreaterThan(0)
    expect(sums.length).toBe(counts.size)
    for (const [key, count] of counts) {
      const mine = buckets.filter((b) => seriesKey(b.labels) === key)
      expect(mine.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS_S.map(String), '+Inf'])
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.value).toBeGreaterThanOrEqual(mine[i - 1]!.value)
      expect(mine.at(-1)!.value).toBe(count)
    }

    const count = (method: string, route: string, status: string): number | undefined =>
      counts.get(seriesKey({ http_request_method: method, http_route: route, http_response_status_code: status }))
    expect(count('GET', '/healthz', '200')).toBe(1)
    expect(count('GET', '/trpc', '401')).toBe(1)
    expect(count('GET', '/trpc', '404')).toBe(1)
    expect(count('POST', '/trpc', '200')).toBe(1)
    expect(count('GET', '/', '200')).toBe(2)
    expect(count('GET', '/assets/*', '200')).toBe(1)
    expect(count('GET', '(unmatched)', '404')).toBe(1)
    expect(count('_OTHER', '(unmatched)', '404')).toBe(1)
    expect(count('GET', '/trpc', '200'), 'the SSE stream is not a request duration').toBeUndefined()

    // The scrape itself is recorded once it finished.
    const again = parseExposition((await scrape(base)).text)
    expect(
      again.samples.find(
        (s) => s.name === 'fusebox_http_server_request_duration_seconds_count' && s.labels.http_route === '/metrics' && s.labels.http_response_status_code === '200',
      )?.value,
    ).toBe(1)
  })

  it('exports the process defaults (collectDefaultMetrics) once per scrape, and no family twice, with two apps in one process', async () => {
    const first = await startApp()
    const second = await startApp()
    for (const { base } of [first, second]) {
      const { types } = parseExposition((await scrape(base)).text)
      expect(types.get('process_cpu_user_seconds_total')).toBe('counter')
      expect(types.get('nodejs_heap_size_used_bytes')).toBe('gauge')
      expect(types.get('fusebox_fleet_exporter')).toBe('gauge')
    }
  })

  it('reports procedure durations and errors given by observeProcedure', async () => {
    const { base } = await startApp()
    observeProcedure('breakers.command', 0.02, true)
    observeProcedure('breakers.command', 0.3, false)
    observeProcedure('evil"\n{path}', 0.001, false)
    const { samples } = parseExposition((await scrape(base)).text)
    const c = samples.find((s) => s.name === 'fusebox_trpc_procedure_duration_seconds_count' && s.labels.procedure === 'breakers.command')
    expect(c?.value).toBe(2)
    expect(samples.find((s) => s.name === 'fusebox_trpc_procedure_errors_total' && s.labels.procedure === 'breakers.command')?.value).toBe(1)
    expect(samples.find((s) => s.name === 'fusebox_trpc_procedure_errors_total' && s.labels.procedure === '(other)')?.value).toBe(1)
  })

  it('reads breaker states and live instances from Redis at scrape time', async () => {
    const { base, prefix } = await startApp()
    const collector: Collector = createCollector({ redis: testRedisTarget(), service: 'svc', instance: 'svc-1', prefix, flushIntervalMs: 60_000 })
    cleanups.push(() => collector.close())
    collector.breaker('b', async () => 1)
    await collector.flush()

    let samples: Sample[] = []
    const deadline = Date.now() + 5000
    do {
      samples = parseExposition((await scrape(base)).text).samples
      if (samples.some((s) => s.name === 'fusebox_breaker_state')) break
      await new Promise((r) => setTimeout(r, 50))
      await collector.flush()
    } while (Date.now() < deadline)

    const states = samples.filter((s) => s.name === 'fusebox_breaker_state')
    expect(states.map((s) => s.labels.state).sort()).toEqual([...BREAKER_STATES].sort())
    for (const s of states) {
      // service_instance_id (OTel service.instance.id), not `instance`: Prometheus' own target label (issue #12).
      expect(s.labels).toEqual({ service_name: 'svc', breaker: 'b', service_instance_id: 'svc-1', state: s.labels.state })
      expect(s.value).toBe(s.labels.state === 'CLOSED' ? 1 : 0)
    }
    expect(samples.find((s) => s.name === 'fusebox_instances_up')).toMatchObject({ labels: { service_name: 'svc' }, value: 1 })
    expect(samples.find((s) => s.name === 'fusebox_redis_up')?.value).toBe(1)
  })

  it('still answers when Redis is unreachable: fusebox_redis_up 0, no breaker series', async () => {
    // A client of the run's topology with nothing listening behind it (port 1).
    const broken: RedisClient =
      testTopology() === 'cluster'
        ? new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, redisOptions: { maxRetriesPerRequest: 0 } })
        : new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    broken.on('error', () => undefined)
    cleanups.push(async () => broken.disconnect())
    const { base } = await startApp({}, broken)
    const { res, text } = await scrape(base)
    expect(res.status).toBe(200)
    const { samples } = parseExposition(text)
    expect(samples.find((s) => s.name === 'fusebox_redis_up')?.value).toBe(0)
    expect(samples.some((s) => s.name === 'fusebox_breaker_state')).toBe(false)
    expect(samples.find((s) => s.name === 'fusebox_fleet_exporter')?.value).toBe(0)
  })

  it('with FUSEBOX_METRICS_TOKEN set, requires the bearer token', async () => {
    const { base } = await startApp({ metricsToken: 'scrape-token-0123456789abcdef' })
    const none = await scrape(base)
    expect(none.res.status).toBe(401)
    expect(none.res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(none.text).not.toContain('http_server')
    expect((await scrape(base, { authorization: 'Bearer wrong' })).res.status).toBe(401)
    expect((await scrape(base, { authorization: 'Basic c2NyYXBlOnRva2Vu' })).res.status).toBe(401)
    const ok = await scrape(base, { authorization: 'Bearer scrape-token-0123456789abcdef' })
    expect(ok.res.status).toBe(200)
    expect(ok.text).toContain('# TYPE fusebox_http_server_request_duration_seconds histogram')
  })

  it('without a token, serves loopback clients only and nothing relayed by a proxy', async () => {
    const { base } = await startApp()
    expect((await scrape(base)).res.status).toBe(200)
    expect((await scrape(base, { 'x-forwarded-for': '203.0.113.7' })).res.status).toBe(403)
    expect((await scrape(base, { forwarded: 'for=203.0.113.7' })).res.status).toBe(403)
  })

  it('without a token, refuses a non-loopback client with 403', async (ctx) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address
    if (!external) return ctx.skip()
    const { port } = await startApp({}, redis, '0.0.0.0')
    const res = await fetch(`http://${external}:${port}/metrics`)
    expect(res.status).toBe(403)
    expect(await res.text()).not.toContain('http_server')
  })
})
