/**
 * Redis unreachable while the dashboard is open. This spec runs a Fusebox server of its own (its own redis-server,
 * reached through a TCP proxy the spec can cut), so the shared demo fleet is not disturbed. Cut: the tab keeps its
 * last data and says why live data stopped (the server answers 503 "Redis is unreachable: …"), without the offline
 * banner — the server itself is reachable; reloaded meanwhile, it shows the saved data with the server's reason.
 * Restored: the notices go and live data resumes, without a reload.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test as base, expect } from '@playwright/test'
import { spawnChild, type ChildHandle } from '../server/bootstrap/children.mjs'
import { findFreePort, startEmbeddedRedis } from '../server/bootstrap/redis.mjs'
import { startTcpProxy, type TcpProxy } from '../server/testing/tcpProxy'

const TOKEN = 'redis-down-spec-operator-token-0001'

interface Stack {
  base: string
  proxy: TcpProxy
  stop: () => Promise<void>
}

/** redis-server ← TCP proxy ← a Fusebox server (`server/app/main.ts`) on free loopback ports. */
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
      FUSEBOX_PREFIX: 'redisdown',
      FUSEBOX_STATIC_DIR: 'dist',
    },
    quiet: true,
  })
  const base = `http://127.0.0.1:${port}`
  const stop = async () => {
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

test('Redis down: the tab keeps its data and says "Redis is unreachable"; back up, live data resumes without a reload', async ({ page, stack }) => {
  await page.goto(`${stack.base}/#token=${TOKEN}`)
  await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible({ timeout: 30_000 })
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
  const frozen = await asOf.getAttribute('datetime')
  await page.waitForTimeout(2_000)
  expect(await asOf.getAttribute('datetime')).toBe(frozen)

  // A reload meanwhile: the session check itself gets the 503; the saved data shows, with the server's reason.
  await page.reload()
  const offline = page.getByTestId('offline-banner')
  await expect(offline).toContainText('Server unavailable (Redis is unreachable', { timeout: 30_000 })
  await expect(offline).toContainText(/data as of \d\d:\d\d:\d\d/)
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'offline')
  expect(await asOf.getAttribute('datetime')).toBe(frozen)

  stack.proxy.restore()
  // The session check retries every 15 s; then the live feed resumes.
  await expect(offline).toBeHidden({ timeout: 40_000 })
  await expect(banner).toBeHidden()
  await expect.poll(() => asOf.getAttribute('datetime'), { timeout: 20_000 }).not.toBe(frozen)
  await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'live')
})
