import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { useTestRedis, collector, connected, freshPrefix, seriesOf } from './collectorTesting.test-helpers'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

describe('HTTP adapters', () => {
  it('records route template, method and status from a plain node:http server through the middleware', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'http')
    await connected(c)
    const middleware = c.httpMiddleware({ routeTemplate: (req) => (req.url?.startsWith('/users/') ? '/users/:id' : undefined) })
    const server = createServer((req, res) => {
      middleware(req, res)
      res.statusCode = req.url === '/users/7' ? 200 : 500
      res.end('x')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    for (const path of ['/users/7', '/users/7', '/nowhere/123']) await (await fetch(base + path)).text()
    await new Promise((r) => server.close(r))
    await c.flush()
    const counts = Object.entries(await seriesOf(redis, prefix))
      .map(([series, v]) => `${series} 2xx=${v.statusCounts[1]} 5xx=${v.statusCounts[4]} errors=${v.errors}`)
      .sort()
    // Unknown paths collapse into one label: a raw URL never becomes a series.
    expect(counts).toEqual(['GET (unmatched) 2xx=0 5xx=1 errors=1', 'GET /users/:id 2xx=2 5xx=0 errors=0'])
  })

  it('records Fastify route templates, statuses and thrown errors through the plugin', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const c = collector(prefix, 'fastify')
    await connected(c)
    const app = Fastify()
    await app.register(c.fastifyPlugin())
    app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }))
    app.get('/boom', async () => {
      throw new TypeError('bad')
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    for (const path of ['/users/1', '/users/2', '/boom', '/missing']) await (await fetch(base + path)).text()
    await app.close()
    await c.flush()
    const series = await seriesOf(redis, prefix)
    expect(Object.keys(series).sort()).toEqual(['GET (unmatched)', 'GET /boom', 'GET /users/:id'])
    expect(series['GET /users/:id']?.statusCounts[1]).toBe(2)
    expect(series['GET /boom']).toMatchObject({ errors: 1, statusCounts: [0, 0, 0, 0, 1] })
    expect(series['GET (unmatched)']?.statusCounts[3]).toBe(1)
    const log = await redis.xrange(keys.requestLog('shop'), '-', '+')
    expect(log.map(([, f]) => f)).toEqual([expect.arrayContaining(['route', '/boom', 'errorType', 'TypeError'])])
  })
})
