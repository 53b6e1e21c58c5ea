/**
 * Issue #4 acceptance: security and caching headers on `/`, `/sw.js`, the manifest, a hashed asset, `/trpc/…`,
 * `/healthz`, a 404 and an SPA page — with a throw-away static dir, over plain HTTP and with `tls: true`.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { openTestRedis } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { Auth } from './auth'
import { createHttpApp } from './http'
import { createOverviewHub } from './readModel'

const INDEX_HTML = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body></body></html>'
let dir: string
let redis: RedisClient
const servers: Server[] = []
let plain: string
let tls: string

async function start(tlsOn: boolean): Promise<string> {
  const keys = createKeySpace(`hd${randomBytes(5).toString('hex')}`)
  const auth = new Auth(redis, keys, ['operator-token-for-tests-0001'], [], 3600)
  const server = createHttpApp({ redis, keys, auth, tls: tlsOn, hub: createOverviewHub(redis, keys) }, { staticDir: dir }).listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((r) => server.once('listening', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fusebox-headers-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), INDEX_HTML)
  writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {})\n')
  writeFileSync(join(dir, 'manifest.webmanifest'), JSON.stringify({ name: 'Fusebox', start_url: '/' }))
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log("app")\n')
  redis = openTestRedis()
  plain = await start(false)
  tls = await start(true)
})
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
  await redis.quit()
  rmSync(dir, { recursive: true, force: true })
})

/** CSP directives by name → their source list. */
function csp(res: Response): Map<string, string[]> {
  const header = res.headers.get('content-security-policy') ?? ''
  const map = new Map<string, string[]>()
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name) map.set(name.toLowerCase(), sources)
  }
  return map
}

function expectSecurityHeaders(res: Response): void {
  const d = csp(res)
  expect(d.get('script-src')).toEqual(["'self'"])
  expect(d.get('script-src')?.join(' ')).not.toMatch(/unsafe-inline|unsafe-eval/)
  expect(d.get('default-src')).toEqual(["'self'"])
  expect(d.get('worker-src')).toEqual(["'self'"])
  expect(d.get('frame-ancestors')).toEqual(["'none'"])
  expect(d.get('object-src')).toEqual(["'none'"])
  expect(d.get('base-uri')).toEqual(["'self'"])
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('x-powered-by')).toBeNull()
}

describe('headers', () => {
  it('/ : the app shell with CSP (no inline scripts; service worker allowed), nosniff, referrer policy, no-cache', async () => {
    const res = await fetch(`${plain}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toBe(INDEX_HTML)
    expectSecurityHeaders(res)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })

  it('sends HSTS only when served over TLS', async () => {
    const res = await fetch(`${tls}/`)
    expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=31536000; includeSubDomains/)
    expectSecurityHeaders(res)
    expect((await fetch(`${plain}/sw.js`)).headers.get('strict-transport-security')).toBeNull()
    expect((await fetch(`${tls}/trpc/overview.get`)).headers.get('strict-transport-security')).toMatch(/max-age=31536000/)
  })

  it.each(['/index.html', '/sw.js', '/manifest.webmanifest'])('%s is revalidated on every use (no-cache)', async (path) => {
    const res = await fetch(`${plain}${path}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('etag')).toBeTruthy()
    expectSecurityHeaders(res)
  })

  it('/sw.js is JavaScript from the origin root (so it may control /)', async () => {
    const res = await fetch(`${plain}/sw.js`)
    expect(res.headers.get('content-type')).toMatch(/^(text|application)\/javascript/)
    expect(res.headers.get('service-worker-allowed')).toBeNull()
  })

  it('a hashed asset is immutable for a year', async () => {
    const res = await fetch(`${plain}/assets/app-abc123.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('/trpc/… is JSON, never stored, nosniff (401 without a session)', async () => {
    const res = await fetch(`${plain}/trpc/overview.get`)
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expectSecurityHeaders(res)
    const body = (await res.json()) as { error: { data: { code: string } } }
    expect(body.error.data.code).toBe('UNAUTHORIZED')
  })

  it('/healthz is never stored', async () => {
    const res = await fetch(`${plain}/healthz`)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  })

  it('an unknown procedure is a JSON 404, not the app shell', async () => {
    const res = await fetch(`${plain}/trpc/nope`)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.text()).not.toContain('<html')
  })

  it('a missing file is a JSON 404; a missing asset is not cached', async () => {
    for (const path of ['/nope.js', '/assets/app-missing.js']) {
      const res = await fetch(`${plain}${path}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.get('cache-control') ?? '').not.toMatch(/immutable|max-age/)
    }
  })

  it('an SPA page gets the app shell with no-cache', async () => {
    const res = await fetch(`${plain}/some/page`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(await res.text()).toBe(INDEX_HTML)
    expectSecurityHeaders(res)
  })
})
