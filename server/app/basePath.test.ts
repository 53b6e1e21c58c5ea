/**
 * The dashboard under a base path (issue #12, docs/decisions/024-base-path.md), over real HTTP against the built
 * `dist/` (npm test builds it first) and the test Redis: `createHttpApp` with `basePath: '/ops/fusebox'`, and the
 * plain app mounted as a sub-app of another Express app (`parent.use('/tools/fusebox', app)`), which learns its base
 * from `req.baseUrl` alone.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { get as httpGet, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { deletePrefix, testRedisUrl } from '../testing/redis'
import { Auth } from './auth'
import { checkBasePath, withBaseHref } from './basePath'
import { createHttpApp } from './http'
import { createOverviewHub } from './readModel'
import { NO_RATE_LIMITS, OPERATOR_TOKEN, VIEWER_TOKEN } from './testing/testServer'

const BASE = '/ops/fusebox'
const JSON_HEADERS = { 'content-type': 'application/json', 'x-fusebox-csrf': '1' }
const prefix = `bp${randomBytes(4).toString('hex')}`
const keys = createKeySpace(prefix)
let redis: Redis
const servers: Server[] = []
/** Origin of the app created with `basePath: BASE`. */
let based: string
/** Origin of the parent app that mounts the dashboard at /tools/fusebox. */
let parent: string

/** The hashed entry script the build's index.html loads (`./assets/index-….js`). */
const ENTRY = /src="\.\/(assets\/index-[^"]+\.js)"/.exec(readFileSync('dist/index.html', 'utf8'))?.[1]

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await new Promise((r) => server.once('listening', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function deps() {
  return { redis, keys, auth: new Auth(redis, keys, [OPERATOR_TOKEN], [VIEWER_TOKEN], 3600), tls: false, hub: createOverviewHub(redis, keys) }
}

beforeAll(async () => {
  redis = new Redis(testRedisUrl())
  based = await listen(createHttpApp(deps(), { staticDir: 'dist', rateLimits: NO_RATE_LIMITS, basePath: BASE }))
  const host = express()
  host.get('/', (_req, res) => void res.type('text').send('the host app'))
  host.use('/tools/fusebox', createHttpApp(deps(), { staticDir: 'dist', rateLimits: NO_RATE_LIMITS }))
  parent = await listen(host)
})
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
  await deletePrefix(redis, prefix)
  await redis.quit()
})

/** The `href` of the page's `<base>` element. */
function baseHref(html: string): string | undefined {
  return /<base href="([^"]*)"/.exec(html)?.[1]
}

async function login(origin: string): Promise<string> {
  const res = await fetch(`${origin}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token: OPERATOR_TOKEN }) })
  expect(res.status).toBe(200)
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!
}

describe('base path values', () => {
  it('accepts "", "/" and /seg/seg paths of unreserved characters, "/" normalized to ""', () => {
    expect(checkBasePath('')).toEqual({ ok: true, basePath: '' })
    expect(checkBasePath('/')).toEqual({ ok: true, basePath: '' })
    expect(checkBasePath('/ops/fusebox')).toEqual({ ok: true, basePath: '/ops/fusebox' })
    expect(checkBasePath('/a.b/c_d~e-1')).toEqual({ ok: true, basePath: '/a.b/c_d~e-1' })
  })

  it('rejects hostile or ambiguous paths with the reason', () => {
    const reasons = (['ops', '/ops/', '/ops//x', '/ops/../x', '/./x', '/ops/"><script>', '/a b', '/%2e%2e', '/ops?x', '/x:y', `/${'a'.repeat(200)}`] as const).map(
      (p) => {
        const r = checkBasePath(p)
        return r.ok ? `accepted ${p}` : r.message
      },
    )
    expect(reasons).toEqual([
      'must start with "/" (e.g. /ops/fusebox)',
      'must not end with "/" (e.g. /ops/fusebox)',
      'must not contain "//"',
      'must not contain "." or ".." segments',
      'must not contain "." or ".." segments',
      'may contain only A-Z a-z 0-9 . _ ~ - between slashes',
      'may contain only A-Z a-z 0-9 . _ ~ - between slashes',
      'may contain only A-Z a-z 0-9 . _ ~ - between slashes',
      'may contain only A-Z a-z 0-9 . _ ~ - between slashes',
      'may contain only A-Z a-z 0-9 . _ ~ - between slashes',
      'must be at most 200 characters',
    ])
  })

  it('createHttpApp refuses an invalid basePath instead of serving somewhere unexpected', () => {
    expect(() => createHttpApp(deps(), { staticDir: 'dist', basePath: '/ops/../etc' })).toThrow('Invalid base path: must not contain "." or ".." segments')
  })

  it('writes the base into the app shell HTML-escaped, replacing the build\'s <base href="/" /> or adding one first in <head> under a base', () => {
    expect(withBaseHref('<head>\n<base href="/" />\n<script src="./a.js"></script></head>', '/ops/fusebox')).toBe(
      '<head>\n<base href="/ops/fusebox/" />\n<script src="./a.js"></script></head>',
    )
    expect(withBaseHref('<html><head lang="en"><title>x</title></head>', '/a"b<c>&\'')).toBe(
      '<html><head lang="en">\n    <base href="/a&quot;b&lt;c&gt;&amp;&#39;/" /><title>x</title></head>',
    )
    expect(withBaseHref('<head><base href="/" /></head>', '')).toBe('<head><base href="/" /></head>')
    expect(withBaseHref('<head><script src="/a.js"></script></head>', '')).toBe('<head><script src="/a.js"></script></head>')
  })
})

describe('the build (dist/) serves any base', () => {
  it('holds no URL anchored at "/": shell, manifest and service worker are relative to where they are served', () => {
    const html = readFileSync('dist/index.html', 'utf8')
    expect(html).toContain('<base href="/" />')
    expect(html).not.toMatch(/(?:src|href)="\/(?!")/)
    const manifest = JSON.parse(readFileSync('dist/manifest.webmanifest', 'utf8')) as { start_url: string; scope: string; icons: { src: string }[] }
    expect([manifest.start_url, manifest.scope]).toEqual(['.', '.'])
    for (const icon of manifest.icons) expect(icon.src).toMatch(/^icons\//)
    const sw = readFileSync('dist/sw.js', 'utf8')
    expect(sw).toContain('createHandlerBoundToURL("index.html")')
    expect(sw).toContain('registration.scope')
    // No precache URL, fallback or route regex that starts at the origin's root.
    expect(sw).not.toMatch(/url:"\/|"\/index\.html"|\/\^\\\/(?:trpc|api|metrics|healthz)|startsWith\("\/trpc/)
  })
})

describe('createHttpApp with basePath /ops/fusebox', () => {
  it('serves the app shell at the base, on a deep link and as index.html, each with <base href="/ops/fusebox/">', async () => {
    for (const path of ['/', '/breakers/storefront/payments?range=1h', '/services/x', '/index.html']) {
      const res = await fetch(`${based}${BASE}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/)
      expect(res.headers.get('cache-control'), path).toBe('no-cache')
      const html = await res.text()
      expect(baseHref(html), path).toBe(`${BASE}/`)
      // Every URL of the shell is relative, so it resolves under the base.
      expect(html, path).not.toMatch(/(?:src|href)="\/(?!ops\/fusebox\/)/)
    }
  })

  it('answers conditional requests for the shell with 304 (strong ETag over the rewritten page)', async () => {
    const first = await fetch(`${based}${BASE}/`)
    const etag = first.headers.get('etag')
    expect(etag).toMatch(/^"/)
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to a conditional request, which forbids a 304.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpGet(`${based}${BASE}/`, { headers: { 'if-none-match': etag! } }, (res) => {
        res.resume()
        resolve(res.statusCode)
      }).on('error', reject)
    })
    expect(status).toBe(304)
  })

  it('redirects the bare base to the base with a slash (query kept), with 308', async () => {
    const bare = await fetch(`${based}${BASE}`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe(`${BASE}/`)
    const withQuery = await fetch(`${based}${BASE}?service=a&range=1h`, { redirect: 'manual' })
    expect(withQuery.headers.get('location')).toBe(`${BASE}/?service=a&range=1h`)
  })

  it('serves assets, sw.js, the manifest, tRPC, /healthz, /metrics and the audit export under the base', async () => {
    expect(ENTRY, 'dist/index.html loads ./assets/index-….js (vite base "./")').toBeDefined()
    const asset = await fetch(`${based}${BASE}/${ENTRY}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const sw = await fetch(`${based}${BASE}/sw.js`)
    expect([sw.status, sw.headers.get('cache-control')]).toEqual([200, 'no-cache'])
    const manifest = await fetch(`${based}${BASE}/manifest.webmanifest`)
    expect(manifest.status).toBe(200)
    expect(await manifest.json()).toMatchObject({ start_url: '.', scope: '.' })

    expect((await fetch(`${based}${BASE}/healthz`)).status).toBe(200)
    expect((await fetch(`${based}${BASE}/metrics`)).status).toBe(200)
    const cookie = await login(`${based}${BASE}`)
    const me = await fetch(`${based}${BASE}/trpc/auth.me`, { headers: { cookie } })
    expect(me.status).toBe(200)
    expect(((await me.json()) as { result: { data: { role: string } } }).result.data.role).toBe('operator')
    const audit = await fetch(`${based}${BASE}/api/audit.jsonl`, { headers: { cookie } })
    expect(audit.status).toBe(200)
    expect((await fetch(`${based}${BASE}/api/audit.jsonl`)).status).toBe(401)
  })

  it('answers 404 at / and everywhere outside the base, also for paths that only start like it', async () => {
    const paths = ['/', '/index.html', `/${ENTRY}`, '/sw.js', '/manifest.webmanifest', '/healthz', '/metrics', '/trpc/auth.me', '/api/audit.jsonl', `${BASE}x/`, '/ops/']
    const statuses = await Promise.all(paths.map(async (p) => [p, (await fetch(`${based}${p}`, { redirect: 'manual' })).status]))
    expect(statuses).toEqual(paths.map((p) => [p, 404]))
    const login = await fetch(`${based}/trpc/auth.login`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ token: OPERATOR_TOKEN }) })
    expect(login.status).toBe(404)
    expect(login.headers.get('set-cookie')).toBeNull()
  })
})

describe('the app mounted as a sub-app (parent.use("/tools/fusebox", createHttpApp(…)))', () => {
  it('takes its base from req.baseUrl: shell, deep link, redirect, assets and tRPC under it; the host keeps its own /', async () => {
    for (const path of ['/', '/endpoints?service=x']) {
      const res = await fetch(`${parent}/tools/fusebox${path}`)
      expect(res.status, path).toBe(200)
      expect(baseHref(await res.text()), path).toBe('/tools/fusebox/')
    }
    const bare = await fetch(`${parent}/tools/fusebox`, { redirect: 'manual' })
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/tools/fusebox/'])
    expect((await fetch(`${parent}/tools/fusebox/${ENTRY}`)).status).toBe(200)
    expect((await fetch(`${parent}/tools/fusebox/sw.js`)).status).toBe(200)
    expect((await fetch(`${parent}/tools/fusebox/healthz`)).status).toBe(200)
    const cookie = await login(`${parent}/tools/fusebox`)
    expect((await fetch(`${parent}/tools/fusebox/trpc/auth.me`, { headers: { cookie } })).status).toBe(200)
    expect(await (await fetch(`${parent}/`)).text()).toBe('the host app')
  })
})

describe('createHttpApp at the root (no basePath)', () => {
  it('serves the shell with <base href="/"> at /, on a deep link and as /index.html, and needs no redirect', async () => {
    const root = await listen(createHttpApp(deps(), { staticDir: 'dist' }))
    for (const path of ['/', '/breakers/a/b', '/index.html']) {
      const res = await fetch(`${root}${path}`, { redirect: 'manual' })
      expect(res.status, path).toBe(200)
      expect(baseHref(await res.text()), path).toBe('/')
    }
  })
})
