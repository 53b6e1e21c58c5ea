/**
 * The dashboard under `/ops/fusebox` in a real Chromium (issue #12, docs/decisions/024-base-path.md): the real server
 * (`createHttpApp` with `basePath`) serving the built `dist/` (npm test's build step makes it; by hand:
 * `npx vite build`) against the test Redis, fed by a real collector. Signs in with a `#token=` link, sees the
 * Overview, checks the service worker's scope and script, the manifest and installability, a deep link without a
 * service worker, then goes offline: a reload and a deep link still show the shell and the last snapshot, while the
 * server's own paths are not answered with the shell (the steps: server/testing/pwaUnderBase.ts; the same check runs
 * against the packed tarball mounted in an Express 4 host in dashboardTarball.test.ts).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { createCollector, type Collector } from '../sdk/index'
import { checkPwaUnderBase, launchPersistentChromium, type PersistentChromium } from '../testing/pwaUnderBase'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { Auth } from './auth'
import { createHttpApp } from './http'
import { createOverviewHub } from './readModel'
import { NO_RATE_LIMITS, OPERATOR_TOKEN, VIEWER_TOKEN } from './testing/testServer'

const BASE = '/ops/fusebox'
const SERVICE = 'storefront'
const prefix = `bpb${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)

let redis: Redis
let collector: Collector
let hub: ReturnType<typeof createOverviewHub>
let server: Server
let origin: string
let browser: PersistentChromium

beforeAll(async () => {
  // A clear failure, not a confusing one, when the build is missing or predates relative URLs.
  const index = 'dist/index.html'
  if (!existsSync(index) || !existsSync('dist/sw.js') || !readFileSync(index, 'utf8').includes('<base href="/"')) {
    throw new Error('dist/ is missing or was built before the base-path change: run `npx vite build` (npm test builds it first)')
  }
  redis = new Redis(testRedisUrl())
  collector = createCollector({ redis: testRedisUrl(), service: SERVICE, instance: `${SERVICE}-1`, prefix, flushIntervalMs: 60_000 })
  for (let i = 0; i < 50; i++) collector.recordRequest({ method: 'GET', route: '/api/products/:id', status: i % 10 === 0 ? 503 : 200, durationMs: 5 + i })
  await collector.flush()
  hub = createOverviewHub(redis, keys)
  const app = createHttpApp(
    { redis, keys, auth: new Auth(redis, keys, [OPERATOR_TOKEN], [VIEWER_TOKEN], 3600), tls: false, hub },
    { staticDir: 'dist', rateLimits: NO_RATE_LIMITS, basePath: BASE },
  )
  server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchPersistentChromium('fusebox-basepath-')
})

afterAll(async () => {
  await browser?.close()
  server?.closeAllConnections()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  hub?.close()
  await collector?.close()
  if (redis) {
    await deletePrefix(redis, prefix)
    await redis.quit()
  }
})

it('serves, installs and runs offline under /ops/fusebox: sign-in on a deep link, worker scope, Overview, manifest, offline reload', async () => {
  await checkPwaUnderBase({ context: browser.context, origin, base: BASE, service: SERVICE, token: OPERATOR_TOKEN })
}, 60_000)
