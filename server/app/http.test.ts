import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { testRedisUrl } from '../testing/redis'
import { Auth } from './auth'
import { createHttpApp } from './http'

const OPERATOR = 'operator-token-for-tests-0001'
const VIEWER = 'viewer-token-for-tests-00001'
const prefix = `h${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
let redis: Redis
let server: Server
let base: string

beforeAll(async () => {
  redis = new Redis(testRedisUrl())
  const auth = new Auth(redis, keys, [OPERATOR], [VIEWER], 3600)
  const app = createHttpApp({ redis, keys, auth, tls: false }, { staticDir: 'dist' })
  server = app.listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await redis.sadd(keys.breakers('storefront'), 'payments')
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await redis.quit()
})

const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }

async function login(token: string): Promise<string> {
  const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token }) })
  expect(res.status).toBe(200)
  const cookie = res.headers.get('set-cookie') ?? ''
  expect(cookie).toMatch(/HttpOnly/i)
  expect(cookie).toMatch(/SameSite=Strict/i)
  return cookie.split(';')[0]!
}

function command(cookie?: string, init: Partial<RequestInit> = {}): Promise<Response> {
  return fetch(`${base}/trpc/breakers.command`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ service: 'storefront', breaker: 'payments', command: 'reset', reason: 'test' }),
    ...init,
  })
}

describe('HTTP API', () => {
  it('refuses a mutation without a session with 401', async () => {
    expect((await command()).status).toBe(401)
  })

  it('refuses a mutation from a viewer session with 403', async () => {
    expect((await command(await login(VIEWER))).status).toBe(403)
  })

  it('accepts a mutation from an operator session and returns the command id and generation', async () => {
    const res = await command(await login(OPERATOR))
    expect(res.status).toBe(200)
    const body = (await res.json()) as { result: { data: { commandId: string; generation: number } } }
    expect(body.result.data.generation).toBeGreaterThanOrEqual(1)
  })

  it('refuses a wrong token with 401 and reads nothing anonymously', async () => {
    const res = await fetch(`${base}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token: 'nope' }) })
    expect(res.status).toBe(401)
    expect((await fetch(`${base}/trpc/overview.get`)).status).toBe(401)
  })

  it('refuses text/plain and form posts to a mutation before the resolver runs', async () => {
    const cookie = await login(OPERATOR)
    const before = await redis.hget(keys.breakerDesired('storefront', 'payments'), 'generation')
    const plain = await command(cookie, { headers: { 'content-type': 'text/plain', cookie } })
    const form = new FormData()
    form.set('service', 'storefront')
    const multipart = await fetch(`${base}/trpc/breakers.command`, { method: 'POST', headers: { cookie, 'x-fusebox-csrf': '1' }, body: form })
    const noHeader = await command(cookie, { headers: { 'content-type': 'application/json', cookie } })
    expect([plain.status, multipart.status, noHeader.status]).toEqual([415, 415, 403])
    expect(await redis.hget(keys.breakerDesired('storefront', 'payments'), 'generation')).toBe(before)
  })

  it('refuses GET on a mutation', async () => {
    const cookie = await login(OPERATOR)
    const res = await fetch(`${base}/trpc/breakers.command?input=${encodeURIComponent('{}')}`, { headers: { cookie } })
    expect(res.status).toBe(405)
  })

  it('answers bad input with a 400 and no stack trace', async () => {
    const cookie = await login(OPERATOR)
    const res = await fetch(`${base}/trpc/breakers.command`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, cookie },
      body: JSON.stringify({ service: '{evil}', breaker: 'payments', command: 'explode', reason: '' }),
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toMatch(/stack|at .*\.ts:\d+/)
  })

  it('sends security headers: CSP without unsafe-inline scripts, frame-ancestors none, nosniff, referrer policy', async () => {
    const res = await fetch(`${base}/healthz`)
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })
})
