/**
 * Issue #14 acceptance over real processes: two dashboard servers (server/app/main.ts) on one Redis evaluate the same
 * rule "payments not CLOSED for 10 s"; a webhook receiver (an HTTP server here) and a real Prometheus Alertmanager
 * (Debian `prometheus-alertmanager`, loopback, its own webhook receiver here) must each get exactly one firing and one
 * resolved notification per episode — also when the lease holder is SIGKILLed in the middle of an episode — and
 * nothing while a silence matches. The breaker is a real opossum breaker in a collector of this process.
 * Evaluation every 2 s (FUSEBOX_ALERT_INTERVAL_S) to keep the file short; the bounds are the issue's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../../shared/keys'
import { CSRF_HEADER } from '../../../shared/vocabulary'
import { ensureDebianBinary } from '../../bootstrap/debian.mjs'
import { findFreePort } from '../../bootstrap/redis.mjs'
import { freshPrefix, until } from '../../sdk/collectorTesting.test-helpers'
import { createCollector, type Collector } from '../../sdk/index'
import type { RedisClient } from '../../sdk/redisTopology'
import { openTestRedis, testTopology, testRedisTarget } from '../../testing/redis'
import { killRunning, startMainServer, type Proc } from '../testing/mainProcess'
import { MUTATION_HEADERS, OPERATOR_TOKEN, VIEWER_TOKEN } from '../testing/testServer'

/** A receiver on loopback recording every JSON body it is sent, with its arrival time. */
async function receiver(): Promise<{ url: string; bodies: { atMs: number; body: { status: string; alerts: { status: string; labels: Record<string, string> }[] } }[]; close: () => Promise<void> }> {
  const bodies: { atMs: number; body: { status: string; alerts: { status: string; labels: Record<string, string> }[] } }[] = []
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      bodies.push({ atMs: Date.now(), body: JSON.parse(raw) as (typeof bodies)[number]['body'] })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** Statuses of a receiver's bodies, in arrival order. */
const statuses = (r: { bodies: { body: { status: string } }[] }) => r.bodies.map((b) => b.body.status)

/** Starts Alertmanager on a free loopback port, sending every group to `webhookUrl` (resolved too) at once. */
async function startAlertmanager(webhookUrl: string): Promise<{ url: string; child: ChildProcess; dir: string; log: () => string }> {
  const binary = ensureDebianBinary({ binary: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' })
  const dir = mkdtempSync(join(tmpdir(), 'fusebox-am-'))
  const port = await findFreePort()
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: hook',
      "  group_by: ['alertname', 'rule_id', 'service', 'breaker']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 4h',
      'receivers:',
      '  - name: hook',
      '    webhook_configs:',
      `      - url: ${webhookUrl}`,
      '        send_resolved: true',
      '',
    ].join('\n'),
  )
  const child = spawn(binary, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
  child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
  const url = `http://127.0.0.1:${port}`
  await until(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true, 20_000).catch(() => {
    throw new Error(`alertmanager not ready: ${log}`)
  })
  return { url, child, dir, log: () => log }
}

/** A signed-in caller of one server's tRPC API. */
async function signIn(base: string, token: string) {
  const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: MUTATION_HEADERS, body: JSON.stringify({ token }) })
  expect(res.status).toBe(200)
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  return {
    mutate: (path: string, input: unknown) => fetch(`${base}/trpc/${path}`, { method: 'POST', headers: { ...MUTATION_HEADERS, cookie }, body: JSON.stringify(input) }),
    query: async <T>(path: string, input?: unknown): Promise<T> => {
      const q = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
      const r = await fetch(`${base}/trpc/${path}${q}`, { headers: { cookie, [CSRF_HEADER]: '1' } })
      expect(r.status, await r.clone().text()).toBe(200)
      return ((await r.json()) as { result: { data: T } }).result.data
    },
  }
}

const RULE = {
  name: 'payments not CLOSED',
  severity: 'critical',
  forS: 10,
  condition: { kind: 'breaker_not_closed', service: 'payments', breaker: 'charge' },
  labels: { team: 'payments' },
  summary: 'charge breaker open on {{value}} instance(s)',
}

describe.skipIf(testTopology() === 'cluster')('alerting across two dashboard servers, a webhook and a real Alertmanager', () => {
  const prefix = freshPrefix()
  const keys = createKeySpace(prefix)
  let redis: RedisClient
  let hook: Awaited<ReturnType<typeof receiver>>
  let amHook: Awaited<ReturnType<typeof receiver>>
  let am: Awaited<ReturnType<typeof startAlertmanager>>
  let servers: (Proc & { address: string })[] = []
  let collector: Collector
  let breaker: ReturnType<Collector['breaker']>

  beforeAll(async () => {
    redis = openTestRedis()
    hook = await receiver()
    amHook = await receiver()
    am = await startAlertmanager(amHook.url)
    const target = testRedisTarget() as string
    const env = { FUSEBOX_ALERT_WEBHOOKS: hook.url, FUSEBOX_ALERTMANAGER_URL: am.url, FUSEBOX_ALERT_INTERVAL_S: '2', FUSEBOX_SHUTDOWN_DRAIN_MS: '0' }
    servers = await Promise.all([startMainServer({ REDIS_URL: target }, prefix, env), startMainServer({ REDIS_URL: target }, prefix, env)])
    collector = createCollector({ redis: target, service: 'payments', instance: 'p1', prefix, flushIntervalMs: 500 })
    breaker = collector.breaker('charge', async () => 'ok')
  }, 90_000)

  afterAll(async () => {
    await collector?.close()
    await killRunning('SIGTERM')
    if (am) {
      // Alertmanager writes its snapshot while it stops: remove its folder only once it has exited (≤ 5 s).
      const exited = am.child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => am.child.once('exit', () => resolve()))
      am.child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      am.child.kill('SIGKILL')
    }
    await Promise.all([hook?.close(), amHook?.close()])
    if (am) rmSync(am.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
    await redis?.quit()
  })

  /** The server holding the alerts lease now (by the pid in the lease value), or undefined. */
  async function holder(): Promise<(Proc & { address: string }) | undefined> {
    const lease = await redis.get(keys.alerts('lease'))
    const pid = Number(lease?.split(':')[1])
    return servers.find((s) => s.child.pid === pid && s.child.exitCode === null && s.child.signalCode === null)
  }

  /** One episode: trip, wait until both receivers got "firing", optionally act meanwhile, heal, wait for "resolved". */
  async function episode(during?: () => Promise<void>): Promise<{ firedAfterTripMs: number; resolvedAfterHealMs: number }> {
    const [hookBefore, amBefore] = [hook.bodies.length, amHook.bodies.length]
    breaker.opossum.open()
    const trippedAt = Date.now()
    await until(() => hook.bodies.length > hookBefore && amHook.bodies.length > amBefore, 30_000)
    const firedAfterTripMs = hook.bodies[hookBefore]!.atMs - trippedAt
    await during?.()
    breaker.opossum.close()
    const healedAt = Date.now()
    await until(() => hook.bodies.length > hookBefore + 1 && amHook.bodies.length > amBefore + 1, 40_000)
    const resolvedAfterHealMs = hook.bodies[hookBefore + 1]!.atMs - healedAt
    await sleep(5000) // several evaluations and Alertmanager group flushes: nothing more may arrive
    expect(statuses({ bodies: hook.bodies.slice(hookBefore) })).toEqual(['firing', 'resolved'])
    expect(statuses({ bodies: amHook.bodies.slice(amBefore) })).toEqual(['firing', 'resolved'])
    return { firedAfterTripMs, resolvedAfterHealMs }
  }

  it('each episode notifies the webhook and Alertmanager exactly once firing and once resolved, across a SIGKILL of the lease holder', async () => {
    const operator = await signIn(`http://${servers[0]!.address}`, OPERATOR_TOKEN)
    expect((await operator.mutate('alerts.rules.create', { rule: RULE, reason: 'page the payments on-call' })).status).toBe(200)
    const viewer = await signIn(`http://${servers[1]!.address}`, VIEWER_TOKEN)
    expect((await viewer.mutate('alerts.rules.create', { rule: RULE, reason: 'viewer tries' })).status).toBe(403)
    expect(await viewer.query<unknown[]>('alerts.rules.list')).toHaveLength(1)
    await until(async () => (await holder()) !== undefined, 20_000)

    const first = await episode()
    expect(first.firedAfterTripMs).toBeGreaterThanOrEqual(10_000) // `for` 10 s, counted from the trip
    expect(first.firedAfterTripMs).toBeLessThan(20_000) // pending → firing within 10 s of the condition's 10 s
    expect(first.resolvedAfterHealMs).toBeLessThan(20_000)
    expect(hook.bodies[0]!.body).toMatchObject({ status: 'firing', commonLabels: { alertname: RULE.name, team: 'payments', service: 'payments', breaker: 'charge' } })
    expect(amHook.bodies[0]!.body.alerts[0]).toMatchObject({ status: 'firing', labels: { alertname: RULE.name, severity: 'critical', breaker: 'charge' } })

    let takeoverMs = 0
    const second = await episode(async () => {
      const killed = await holder()
      expect(killed).toBeDefined()
      killed!.child.kill('SIGKILL')
      const killedAt = Date.now()
      await until(async () => {
        const h = await holder()
        return h !== undefined && h !== killed
      }, 30_000)
      takeoverMs = Date.now() - killedAt
      await sleep(4000) // the new holder evaluates the firing episode it took over: no second "firing"
    })
    expect(takeoverMs).toBeLessThan(30_000)
    console.log(`[alertsFleet] ${JSON.stringify({ first, second, takeoverMs })}`)

    // A silence on the rule's label: an episode sends nothing, and the silence is audited.
    const alive = servers.find((s) => s.child.exitCode === null && s.child.signalCode === null)!
    const op2 = await signIn(`http://${alive.address}`, OPERATOR_TOKEN)
    expect((await op2.mutate('alerts.silences.create', { matchers: [{ name: 'team', op: '=', value: 'payments' }], endsAtMs: Date.now() + 600_000, reason: 'payments maintenance' })).status).toBe(200)
    const [hookBefore, amBefore] = [hook.bodies.length, amHook.bodies.length]
    breaker.opossum.open()
    await until(async () => (await op2.query<{ alerts: { state: string }[] }>('alerts.active')).alerts.some((a) => a.state === 'firing'), 30_000)
    breaker.opossum.close()
    await until(async () => (await op2.query<{ alerts: unknown[] }>('alerts.active')).alerts.length === 0, 30_000)
    await sleep(3000)
    expect([hook.bodies.length - hookBefore, amHook.bodies.length - amBefore]).toEqual([0, 0])
    const audit = await op2.query<{ entries: { action: string; reason: string }[] }>('audit.list', { limit: 20 })
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['silence.create', 'alertRule.create']))
    expect(audit.entries.find((e) => e.action === 'silence.create')?.reason).toBe('payments maintenance')
    const history = await op2.query<{ entries: { transition: string; silencedBy: string }[] }>('alerts.history', { limit: 50 })
    expect(history.entries.filter((h) => h.transition === 'firing').map((h) => h.silencedBy !== '')).toEqual([true, false, false])
    // The chart annotations: the three episodes, each with its firing and resolved times.
    const episodes = await op2.query<{ alertname: string; fromMs: number; toMs: number | null }[]>('alerts.episodes', { service: 'payments', fromMs: Date.now() - 600_000, toMs: Date.now() })
    expect(episodes.map((e) => e.alertname)).toEqual([RULE.name, RULE.name, RULE.name])
    expect(episodes.every((e) => e.toMs !== null && e.toMs > e.fromMs)).toBe(true)
    expect(await op2.query<unknown[]>('alerts.episodes', { service: 'other', fromMs: Date.now() - 600_000, toMs: Date.now() })).toEqual([])
  }, 240_000)
})
