/**
 * The demo's flaky upstream HTTP services — the storefront's payments, inventory and recommendations, the warehouse's
 * carrier and erp — each on its own loopback port, behaving as the incident timeline says (server/demo/timeline.ts).
 */
import { createServer, type Server } from 'node:http'
import { behaviourAt, drawLatencyMs, type Upstream } from './timeline'

/** Starts one upstream on `port` (0 = ephemeral); resolves with the server once listening. */
export function startUpstream(name: Upstream, port: number, startedAtMs: number): Promise<Server> {
  const server = createServer((req, res) => {
    const b = behaviourAt(name, Date.now() - startedAtMs)
    const delayMs = drawLatencyMs(b, Math.random(), Math.random())
    const timer = setTimeout(() => {
      if (res.destroyed) return
      const failed = Math.random() < b.errorRate
      res.writeHead(failed ? 503 : 200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(failed ? { error: `${name} unavailable (${b.phase})` } : { ok: true, upstream: name, path: req.url }))
    }, delayMs)
    res.on('close', () => clearTimeout(timer))
  })
  server.keepAliveTimeout = 5000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}
