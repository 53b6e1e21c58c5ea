/**
 * Redis unreachable while the dashboard is open. This spec runs a Fusebox server of its own (its own redis-server,
 * reached through a TCP proxy the spec can cut), so the shared demo fleet is not disturbed. Cut: the tab keeps its
 * last data and says why live data stopped (the server answers 503 "Redis is unreachable: …"), without the offline
 * banner — the server itself is reachable; reloaded meanwhile, it shows the saved data with the server's reason.
 * Restored: the notices go and live data resumes, without a reload.
 *
 * Commands (issue #15, "commands are disabled with the reason whenever the server cannot reach Redis"): a real SDK
 * collector (service `shop`, one breaker `payments`) writes to the spec's Redis directly (not through the proxy, so it
 * keeps reporting throughout). Its Reset on the Overview and its four commands on its own page are enabled while Redis
 * is reachable, disabled with the reason shown once it is not (the Overview's after the reload too), enabled again
 * once it is back.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect, type Page } from '@playwright/test'
import { createCollector, type Collector } from '../server/sdk/index'
import { spawnChild, type ChildHandle } from '../server/bootstrap/children.mjs'
import { findFreePort, startEmbeddedRedis } from '../server/bootstrap/redis.mjs'
import { startTcpProxy, type TcpProxy } from '../server/testing/tcpProxy'

const TOKEN = 'redis-down-spec-operator-token-0001'
const PREFIX = 'redisdown'
/** The spec's own service and breaker, reported by a real collector (see `startStack`). */
const SERVICE = 'shop'
const BREAKER = 'payments'

interface Stack {
  base: string
  proxy: TcpProxy
  stop: () => Promise<void>
}

/**
 * redis-server ← TCP proxy ← a Fusebox server (`server/app/main.ts`) on free loopback ports, and beside the proxy a
 * collector of SERVICE with the breaker BREAKER (fired once, flushed every 500 ms) on the redis-server itself.
 */
async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'fusebox-redis-down-'))
  const redis = await startEmbeddedRedis({ dir, quiet: true })
  const proxy = await startTcpProxy(redis.port)
  const port = await findFreePort()
  const server: ChildHandle = spawnChild('redis-down-server', process.execPath, ['--import', 'tsx', 'server/app/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      FUSEBOX_OPERATOR_TOKENS: TOKEN,
      FUSEBOX_PREFIX: PREFIX,
      FUSEBOX_STATIC_DIR: 'dist',
    },
    quiet: true,
  })
  const base = `http://127.0.0.1:${port}`
  const collector: Collector = createCollector({
    redis: `redis://127.0.0.1:${redis.port}`,
    prefix: PREFIX,
    service: SERVICE,
    instance: `${SERVICE}-1`,
    flushIntervalMs: 500,
  })
  await collector.breaker(BREAKER, async () => 'ok').fire()
  await collector.flush()
  const stop = async () => {
    await collector.close()
    await server.stop('SIGTERM', 10_000)
    await proxy.close()
    await redis.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await expect
      .poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status ?? 0, { timeout: 30_000 })
      .toBe(200)
  } catch (error) {
    await stop()
    throw new Error(`the spec's own server did not come up:\n${server.recentOutput()}`, { cause: error })
  }
  return { base, proxy, stop }
}

const test = base.extend<{ stack: Stack }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures must destructure their first argument
  stack: async ({}, use) => {
    const stack = await startStack()
    await use(stack)
    await stack.stop()
  },
})

/** The command buttons of BREAKER on its page (Reset, Force open, Force closed, Release). */
function commandButtons(page: Page) {
  return page.getByRole('group', { name: `Commands for ${BREAKER}` }).getByRole('button')
}

/** Waits until every command button of BREAKER on its page is enabled (`true`) or disabled (`false`); there are four. */
async function expectCommands(page: Page, enabled: boolean): Promise<void> {
  await expect(commandButtons(page)).toHaveCount(4)
  for (const b of await commandButtons(page).all()) {
    if (enabled) await expect(b).toBeEnabled()
    else await expect(b).toBeDisabled()
  }
}

test('Redis down: the tab keeps its data and says "Redis is unreachable", commands disabled with the reason; back up, live data and commands resume without a reload', async ({ page, stack }) => {
  // The breaker's page first (so the tab holds its data), then the Overview, whose live stream the cut silences.
  await page.goto(`${stack.base}/breakers/${SERVICE}/${BREAKER}#token=${TOKEN}`)
  await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 30_000 })
  await expect(page.getByRole('heading', { level: 1, name: BREAKER, exact: true })).toBeVisible()
  await expectCommands(page, true)
  const reason = page.getByText(/^Commands disabled: /)
  await expect(reason).toBeHidden()
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Overview', exact: true }).click()
  await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()
  const reset = page.getByTestId(`breaker-${SERVICE}-${BREAKER}`).getByRole('button', { name: 'Reset' })
  await expect(reset).toBeEnabled({ timeout: 20_000 })
  const asOf = page.getByTestId('as-of')
  await expect(asOf).toHaveAttribute('datetime', /Z$/, { timeout: 20_000 })
  const banner = page.getByTestId('live-error-banner')
  await expect(banner).toBeHidden()

  stack.proxy.cut()
  // The live stream goes quiet (the server skips pushes it cannot compute); after 10 s the tab asks and learns why.
  await expect(banner).toBeVisible({ timeout: 30_000 })
  await expect(banner).toContainText('Live data stopped — Redis is unreachable')
  await expect(banner).toContainText(/Showing data as of \d\d:\d\d:\d\d/)
  await expect(page.getByTestId('offline-banner')).toBeHidden()
  // The live indicator reads "Stalled", not "Live" (issue #15); commands wait (client/src/commandGate.ts).
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'stalled')
  await expect(page.getByTestId('live-indicator')).toHaveText('Stalled')
  const serverReason = /^Commands disabled: The server cannot act now \(Redis is unreachable.*\) — commands wait until it can$/
  await expect(reset).toBeDisabled()
  await expect(page.getByTestId(`commands-disabled-reason-${SERVICE}`)).toHaveText(serverReason)
  const frozen = await asOf.getAttribute('datetime')
  await page.waitForTimeout(2_000)
  expect(await asOf.getAttribute('datetime')).toBe(frozen)

  // Back to the breaker's page (same document): its saved data, all four commands disabled, the reason shown.
  await page.goBack()
  await expect(page.getByRole('heading', { level: 1, name: BREAKER, exact: true })).toBeVisible()
  await expectCommands(page, false)
  await expect(reason).toHaveText(serverReason)
  await expect(commandButtons(page).first()).toHaveAttribute('title', /Redis is unreachable/)
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'stalled')
  await page.goForward()
  await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible()

  // A reload meanwhile: the session check itself gets the 503; the saved data shows, with the server's reason.
  await page.reload()
  const offline = page.getByTestId('offline-banner')
  await expect(offline).toContainText('Server unavailable (Redis is unreachable', { timeout: 30_000 })
  await expect(offline).toContainText(/data as of \d\d:\d\d:\d\d/)
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'offline')
  expect(await asOf.getAttribute('datetime')).toBe(frozen)
  // Still no commands: the tab now counts as offline (commandGate.ts: offline first).
  await expect(reset).toBeDisabled()
  await expect(page.getByTestId(`commands-disabled-reason-${SERVICE}`)).toHaveText(/^Commands disabled: Offline/)

  stack.proxy.restore()
  // The session check retries every 15 s; then the live feed resumes, and so do commands.
  await expect(offline).toBeHidden({ timeout: 40_000 })
  await expect(banner).toBeHidden()
  await expect.poll(() => asOf.getAttribute('datetime'), { timeout: 20_000 }).not.toBe(frozen)
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live')
  await expect(reset).toBeEnabled()
  await expect(page.getByTestId(`commands-disabled-reason-${SERVICE}`)).toBeHidden()
})
