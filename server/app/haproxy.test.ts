/**
 * Issue #13, build point 4 "several dashboard servers": two real dashboard server processes (server/app/main.ts)
 * behind a real HAProxy running docs/haproxy.cfg unchanged (server/testing/haproxy.ts), two instances of a service
 * with the breaker `payments` (testing/breakerServiceChild.ts), and a real Chromium talking only to HAProxy — on one
 * Redis and on the test Redis Cluster. Which server answered each request comes from HAProxy's own request log, and
 * the servers are steered with its runtime API (drain / ready), so every step below is pinned to a server:
 * 1. round robin without stickiness: consecutive requests on one keep-alive connection alternate between the servers;
 * 2. sign in through fusebox1 (fusebox2 drained); the Overview's figures move through the SSE stream;
 * 3. through fusebox2 only (fusebox1 drained), with the session fusebox1 made: the Breakers page, a force-open
 *    clicked with a reason, "2/2 applied", and both instances report FORCED_OPEN themselves;
 * 4. both in rotation: the browser's requests reach both servers;
 * 5. SIGTERM of fusebox2, which holds the live stream: its lame-duck period (decision 034) answers /healthz 503
 *    while it still serves, so HAProxy takes it out for the 503 ("Layer7 wrong status"), not for a refused
 *    connection; requests sent meanwhile are all answered 200, some by fusebox2 itself; the stream reconnects
 *    through fusebox1 and keeps moving; a release clicked in the UI applies on 2/2; no request of the whole run was
 *    answered with a 5xx.
 * Loopback only; service workers are blocked (a cached answer would hide which server answered). Needs the built
 * dist/ (npm test's build step; by hand `npx vite build`). Decision 030.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { Agent, get } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from '@playwright/test'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../../playwright.config'
import { startHaproxy, type Haproxy, type HttpLogLine } from '../testing/haproxy'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { deleteClusterPrefix, openTestCluster, testClusterSeeds } from '../testing/redisCluster'
import type { BreakerView } from './testing/breakerServiceChild'
import { killRunning, startMainServer, startNode, type Proc } from './testing/mainProcess'
import { OPERATOR_TOKEN } from './testing/testServer'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SERVICE_CHILD = fileURLToPath(new URL('./testing/breakerServiceChild.ts', import.meta.url))
const SERVICE = 'checkout'
const BREAKER = 'payments'
const INSTANCES = ['checkout-1', 'checkout-2'] as const
/** Requests per second each instance records. */
const RATE = 20
/** One UI step (a heading, a figure, "2/2 applied"), ms. */
const UI_TIMEOUT_MS = 20_000
/** Each browser test (6-9 s alone; npm test runs files in parallel on 2 cores), ms. */
const TEST_TIMEOUT_MS = 90_000

interface Topology {
  name: string
  /** The Redis variables of every process (dashboards and service instances). */
  redisEnv: () => Record<string, string>
  /** Deletes the run's keys. */
  cleanup: (prefix: string) => Promise<void>
}

const TOPOLOGIES: Topology[] = [
  {
    name: 'one Redis',
    redisEnv: () => ({ REDIS_URL: testRedisUrl() }),
    cleanup: async (prefix) => {
      const redis = new Redis(testRedisUrl())
      await deletePrefix(redis, prefix).finally(() => redis.quit())
    },
  },
  {
    name: 'a Redis Cluster',
    redisEnv: () => ({ REDIS_CLUSTER_NODES: testClusterSeeds() }),
    cleanup: async (prefix) => {
      const cluster = openTestCluster()
      await deleteClusterPrefix(cluster, prefix).finally(() => cluster.quit())
    },
  },
]

/** One service instance, recording from the start; resolves once its collector exists. */
async function startInstance(redisEnv: Record<string, string>, prefix: string, instance: string): Promise<Proc> {
  const proc = startNode(SERVICE_CHILD, { ...redisEnv, FUSEBOX_PREFIX: prefix, SERVICE, INSTANCE: instance, RATE: String(RATE), FLUSH_MS: '250' })
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${instance} not ready: ${proc.log()}`)), 40_000)
    proc.child.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') {
        clearTimeout(t)
        resolve()
      }
    })
    void proc.exited.then((code) => reject(new Error(`${instance} exited ${code}: ${proc.log()}`)))
  })
  return proc
}

/** The instance's own breaker, asked over IPC (not through the dashboard). */
async function breakerOf(proc: Proc): Promise<BreakerView> {
  return new Promise<BreakerView>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no breaker answer within 5 s')), 5000)
    const onMessage = (m: BreakerView): void => {
      if (m?.type !== 'breaker') return
      clearTimeout(t)
      proc.child.off('message', onMessage)
      resolve(m)
    }
    proc.child.on('message', onMessage)
    proc.child.send({ type: 'breaker' })
  })
}

/** `requests` of the service in one SSE event's payload (the snapshot, however it is wrapped); undefined if absent. */
function requestsIn(payload: unknown): number | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined
  const o = payload as Record<string, unknown>
  if (o.service === SERVICE && typeof o.requests === 'number') return o.requests
  for (const v of Object.values(o)) {
    const found = requestsIn(v)
    if (found !== undefined) return found
  }
  return undefined
}

/** Live-stream events the page received (CDP `Network.eventSourceMessageReceived`), with the service's request count. */
interface LiveEvent {
  atMs: number
  requests: number | undefined
}

/** Waits until `count` events have arrived after `sinceMs` and returns them. */
async function liveEventsAfter(events: LiveEvent[], sinceMs: number, count: number): Promise<LiveEvent[]> {
  await expect.poll(() => events.filter((e) => e.atMs > sinceMs).length, { timeout: UI_TIMEOUT_MS }).toBeGreaterThanOrEqual(count)
  return events.filter((e) => e.atMs > sinceMs)
}

/** Requests HAProxy received at or after `sinceMs` (and has logged: they ended), counted by server name. */
function servedBy(lines: HttpLogLine[], sinceMs: number, match: (l: HttpLogLine) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of lines) if (l.startedAtMs >= sinceMs && match(l)) out[l.server] = (out[l.server] ?? 0) + 1
  return out
}

/** GET `url` through `agent`; resolves with the status once the body has been read. */
async function statusOf(url: string, agent: Agent): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    }).once('error', reject)
  })
}

/** A number in a text ("40.2 req/s" → 40.2); NaN when none. */
function numberIn(text: string | null): number {
  const m = /-?\d[\d,]*(?:\.\d+)?/.exec(text ?? '')
  return m ? Number(m[0].replace(/,/g, '')) : Number.NaN
}

/** Clicks `button` in the breaker's row on the Breakers page, fills the reason and confirms (e2e/breakers.spec.ts). */
async function command(page: Page, button: 'Force open' | 'Release', reason: string): Promise<void> {
  const row = page.getByTestId(`breakers-page-row-${SERVICE}-${BREAKER}`)
  await row.getByRole('button', { name: button, exact: true }).click()
  const dialog = page.getByRole('dialog')
  await dialog.waitFor({ timeout: UI_TIMEOUT_MS })
  await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason)
  await dialog.getByRole('button', { name: `Confirm ${button.toLowerCase()}` }).click()
  await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS })
}

describe.each(TOPOLOGIES)('two dashboard servers behind HAProxy, on $name', (topology) => {
  const prefix = `lb${randomBytes(4).toString('hex')}`
  let dashboards: (Proc & { address: string })[] = []
  let instances: Proc[] = []
  let haproxy: Haproxy
  let launching: Promise<Browser> | undefined
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let cdp: CDPSession
  const events: LiveEvent[] = []
  /** Every response status the page saw ≥ 500, with its URL. */
  const serverErrors: string[] = []

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/index.html'))) throw new Error('dist/ is missing: run `npx vite build` (npm test builds it first)')
    const redisEnv = topology.redisEnv()
    // All at once; afterAll stops whatever started even when another part failed (killRunning: server/app/testing/mainProcess.ts).
    launching = chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
    ;[dashboards, instances, browser] = await Promise.all([
      Promise.all([startMainServer(redisEnv, prefix), startMainServer(redisEnv, prefix)]),
      Promise.all(INSTANCES.map((i) => startInstance(redisEnv, prefix, i))),
      launching,
    ])
    haproxy = await startHaproxy({ servers: dashboards.map((d) => d.address) })
    expect(haproxy.serverNames).toEqual(['fusebox1', 'fusebox2'])
    context = await browser.newContext({ serviceWorkers: 'block' })
    page = await context.newPage()
    page.on('response', (r) => void (r.status() >= 500 && serverErrors.push(`${r.status()} ${r.url()}`)))
    cdp = await context.newCDPSession(page)
    cdp.on('Network.eventSourceMessageReceived', (e: { data: string }) => {
      let requests: number | undefined
      try {
        requests = requestsIn(JSON.parse(e.data))
      } catch {
        // not JSON: not a snapshot
      }
      events.push({ atMs: Date.now(), requests })
    })
    await cdp.send('Network.enable')
  }, 90_000)

  afterAll(async () => {
    await (await launching?.catch(() => undefined))?.close()
    await haproxy?.stop()
    await killRunning()
    await topology.cleanup(prefix)
  }, 30_000)

  it('round-robins: consecutive requests on one keep-alive connection alternate between the two servers', async () => {
    const probe = randomBytes(4).toString('hex')
    // One socket, kept alive: all eight requests share one client connection (the log's client address says so).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (let i = 0; i < 8; i++) expect(await statusOf(`${haproxy.url}/healthz?probe=${probe}-${i}`, agent)).toBe(200)
    } finally {
      agent.destroy()
    }
    await haproxy.waitForRequest((l) => l.uri.endsWith(`probe=${probe}-7`))
    const lines = haproxy.requests().filter((l) => l.uri.includes(`probe=${probe}-`))
    expect(lines.map((l) => l.uri)).toEqual(Array.from({ length: 8 }, (_, i) => `/healthz?probe=${probe}-${i}`))
    const servers = lines.map((l) => l.server)
    expect(new Set(lines.map((l) => l.client)).size, 'one client connection').toBe(1)
    expect(servers.filter((s) => s === 'fusebox1')).toHaveLength(4)
    expect(servers.filter((s) => s === 'fusebox2')).toHaveLength(4)
    for (let i = 1; i < servers.length; i++) expect(servers[i], `request ${i} goes to the other server`).not.toBe(servers[i - 1])
  })

  it('signs in through one server and force-opens through the other; the UI shows live data and "2/2 applied"', async () => {
    // Sign in through fusebox1 only.
    await haproxy.setServerState('fusebox2', 'drain')
    const signInMs = Date.now()
    await page.goto(`${haproxy.url}/?service=${SERVICE}#token=${OPERATOR_TOKEN}`)
    await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: UI_TIMEOUT_MS })
    const login = await haproxy.waitForRequest((l) => l.startedAtMs >= signInMs && l.uri.includes('auth.login'))
    expect(login, login.raw).toMatchObject({ method: 'POST', server: 'fusebox1', status: 200 })

    // Live data: the Overview shows the service, and the stream's snapshots count its requests going up.
    await page.getByTestId(`service-${SERVICE}`).waitFor({ timeout: UI_TIMEOUT_MS })
    await expect.poll(async () => numberIn(await page.getByTestId(`throughput-${SERVICE}`).textContent()), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0)
    await expect.poll(() => page.getByTestId(`instances-up-${SERVICE}`).textContent(), { timeout: UI_TIMEOUT_MS }).toBe('2/2')
    const live = (await liveEventsAfter(events, signInMs, 4)).flatMap((e) => (e.requests === undefined ? [] : [e.requests]))
    expect(live.length, 'snapshots with the service').toBeGreaterThanOrEqual(3)
    expect(live.at(-1)!, `requests counted in successive snapshots: ${live.join(', ')}`).toBeGreaterThan(live[0]!)

    // Everything through fusebox2 now, with the session fusebox1 made: a full load of the Breakers page.
    await haproxy.setServerState('fusebox2', 'ready')
    await haproxy.setServerState('fusebox1', 'drain')
    const viaTwoMs = Date.now()
    await page.goto(`${haproxy.url}/breakers?service=${SERVICE}`)
    await page.getByRole('heading', { level: 1, name: 'Breakers', exact: true }).waitFor({ timeout: UI_TIMEOUT_MS })
    const state = page.getByTestId(`breakers-page-state-${SERVICE}-${BREAKER}`)
    await expect.poll(() => state.textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/CLOSED|OPEN|HALF_OPEN/)
    for (const i of INSTANCES) await page.getByTestId(`breaker-instance-state-${SERVICE}-${BREAKER}-${i}`).waitFor({ timeout: UI_TIMEOUT_MS })

    const reason = `haproxy test ${prefix}: payments maintenance`
    await command(page, 'Force open', reason)
    const progress = page.getByTestId(`command-progress-${SERVICE}-${BREAKER}`)
    await expect.poll(() => progress.textContent(), { timeout: UI_TIMEOUT_MS }).toContain('2/2 applied')
    expect(await progress.textContent()).toMatch(/force ?open/i)
    const issued = await haproxy.waitForRequest((l) => l.startedAtMs >= viaTwoMs && l.uri.includes('breakers.command'))
    expect(issued, issued.raw).toMatchObject({ method: 'POST', server: 'fusebox2', status: 200 })
    // Every request of that page load went to fusebox2, the session included.
    expect(servedBy(haproxy.requests(), viaTwoMs)).toEqual({ fusebox2: expect.any(Number) })
    for (const proc of instances) {
      await expect.poll(() => breakerOf(proc), { timeout: UI_TIMEOUT_MS }).toMatchObject({ state: 'FORCED_OPEN', mode: 'FORCED_OPEN', opossumOpened: true })
      // …and it really short-circuits: the instance's calls through it are rejected from now on.
      const { rejected } = await breakerOf(proc)
      await expect.poll(async () => (await breakerOf(proc)).rejected, { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(rejected)
    }
    await expect.poll(() => state.textContent(), { timeout: UI_TIMEOUT_MS }).toBe('FORCED_OPEN')
  }, TEST_TIMEOUT_MS)

  it('after a SIGTERM of the server holding the live stream, HAProxy takes it out and the dashboard keeps working through the other', async () => {
    // Both in rotation: the page's own requests (tRPC queries on client-side navigation) reach both servers.
    await haproxy.setServerState('fusebox1', 'ready')
    const bothMs = Date.now()
    const nav = page.getByRole('navigation', { name: 'Pages' })
    const trpcOk = (l: HttpLogLine): boolean => l.uri.startsWith('/trpc/') && l.status === 200
    for (let round = 0; round < 6 && Object.keys(servedBy(haproxy.requests(), bothMs, trpcOk)).length < 2; round++) {
      await nav.getByRole('link', { name: 'Overview' }).click()
      await page.getByTestId(`service-${SERVICE}`).waitFor({ timeout: UI_TIMEOUT_MS })
      await nav.getByRole('link', { name: 'Breakers' }).click()
      await page.getByTestId(`breakers-page-row-${SERVICE}-${BREAKER}`).waitFor({ timeout: UI_TIMEOUT_MS })
      await sleep(300)
    }
    expect(servedBy(haproxy.requests(), bothMs, trpcOk), 'tRPC requests per server with both in rotation').toEqual({
      fusebox1: expect.any(Number),
      fusebox2: expect.any(Number),
    })

    // The Overview's live stream (only that page streams) opened on fusebox2 (fusebox1 drained meanwhile).
    await haproxy.setServerState('fusebox1', 'drain')
    const streamMs = Date.now()
    await nav.getByRole('link', { name: 'Overview' }).click()
    await page.getByTestId(`service-${SERVICE}`).waitFor({ timeout: UI_TIMEOUT_MS })
    await liveEventsAfter(events, streamMs, 2)
    await haproxy.setServerState('fusebox1', 'ready')

    // SIGTERM fusebox2: being health-checked, it ends its streams and answers /healthz 503 for its lame-duck period
    // (FUSEBOX_SHUTDOWN_DRAIN_MS, default 4 s) while serving everything else; its check fails twice (1 s apart) and
    // HAProxy takes it out before it stops listening. Requests one after another all the while must all be 200.
    const noticesBefore = haproxy.notices().length
    const killedMs = Date.now()
    dashboards[1]!.child.kill('SIGTERM')
    const down = haproxy.waitForServerStatus('fusebox2', 'DOWN', 10_000)
    let isDown = false
    void down.finally(() => (isDown = true)).catch(() => undefined)
    const probe = randomBytes(4).toString('hex')
    const statuses: number[] = []
    for (let i = 0; !isDown; i++) {
      statuses.push(await fetch(`${haproxy.url}/?during=${probe}-${i}`).then((r) => r.status, () => -1))
      await sleep(20)
    }
    const downAfterMs = await down
    expect(statuses.filter((s) => s !== 200), `answers while fusebox2 stops: ${statuses.join(' ')}`).toEqual([])
    const during = haproxy.requests().filter((l) => l.uri.includes(`during=${probe}-`))
    const redispatched = during.filter((l) => l.redispatched).length
    const servedByStopping = during.filter((l) => l.server === 'fusebox2' && l.status === 200 && !l.redispatched).length
    const downNotice = haproxy.notices().slice(noticesBefore).find((n) => n.includes('fusebox2 is DOWN'))
    expect(downNotice, haproxy.notices().slice(noticesBefore).join('\n')).toMatch(/Layer7 wrong status, code: 503/)
    expect(await Promise.race([dashboards[1]!.exited, sleep(9000).then(() => 'still running')])).toBe(0)
    const stream = await haproxy.waitForRequest((l) => l.startedAtMs >= streamMs && l.uri.startsWith('/trpc/live.snapshot'))
    expect(stream, stream.raw).toMatchObject({ server: 'fusebox2', status: 200 })

    // The stream reconnected through fusebox1 (the only server left) and keeps moving.
    const downMs = Date.now()
    const after = (await liveEventsAfter(events, downMs, 3)).flatMap((e) => (e.requests === undefined ? [] : [e.requests]))
    const reconnectedAfterMs = events.find((e) => e.atMs > downMs)!.atMs - killedMs
    console.log(
      `[haproxy.test] ${topology.name}: fusebox2 DOWN in HAProxy ${downAfterMs} ms after SIGTERM; ${statuses.length} requests meanwhile, all 200, ` +
        `${servedByStopping} of them served by the stopping fusebox2, ${redispatched} redispatched to fusebox1; first live event through fusebox1 ${reconnectedAfterMs} ms after the SIGTERM`,
    )
    expect(servedByStopping, 'requests the stopping fusebox2 still served in its lame-duck period').toBeGreaterThan(0)
    expect(after.at(-1)!, `requests in snapshots after the stop: ${after.join(', ')}`).toBeGreaterThan(after[0]!)

    await nav.getByRole('link', { name: 'Breakers' }).click()
    await page.getByTestId(`breakers-page-row-${SERVICE}-${BREAKER}`).waitFor({ timeout: UI_TIMEOUT_MS })
    // A release clicked in the UI goes through fusebox1 and applies on both instances.
    await command(page, 'Release', `haproxy test ${prefix}: maintenance over`)
    const progress = page.getByTestId(`command-progress-${SERVICE}-${BREAKER}`)
    await expect.poll(() => progress.textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/release/i)
    await expect.poll(() => progress.textContent(), { timeout: UI_TIMEOUT_MS }).toContain('2/2 applied')
    const released = await haproxy.waitForRequest((l) => l.startedAtMs >= killedMs && l.uri.includes('breakers.command'))
    expect(released, released.raw).toMatchObject({ server: 'fusebox1', status: 200 })
    for (const proc of instances) await expect.poll(async () => (await breakerOf(proc)).mode, { timeout: UI_TIMEOUT_MS }).toBe('NORMAL')

    // Nothing of the whole run was answered with a 5xx.
    const all = haproxy.requests()
    const retried = all.filter((l) => l.retries > 0 || l.redispatched)
    console.log(`[haproxy.test] ${topology.name}: ${all.length} requests logged (${JSON.stringify(servedBy(all, 0))}); ${retried.length} retried/redispatched`)
    expect(all.filter((l) => l.status >= 500).map((l) => l.raw)).toEqual([])
    expect(serverErrors).toEqual([])
  }, TEST_TIMEOUT_MS)
})
