/**
 * Loopback TCP stand-ins for Redis in fault tests:
 * - `startTcpProxy`: forwards to a target port; can cut every connection (and refuse new ones) until restored — a
 *   network partition between one client and Redis — or go silent, forwarding nothing either way while keeping
 *   connections open — a hung Redis or a dead network path; it can also add latency, go silent one way only,
 *   reset connections once or periodically, and heal (see `TcpProxy`);
 * - `startBlackHole`: accepts connections and never answers.
 *
 * `silence()` *discards* what it does not forward (a path that lost those bytes: a client that keeps the connection
 * reads replies out of step afterwards, so only a client that drops a silent connection recovers correctly). For a
 * partition that delivers held bytes on healing, as TCP would, see server/testing/faultLink.ts.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/** Which way `silence` stops bytes: both ways, client → target only, or target → client only. */
export type SilenceDirection = 'both' | 'toTarget' | 'toClient'

/**
 * A running proxy. `cut()` drops all connections and refuses new ones; `restore()` accepts again; `silence()` stops
 * forwarding bytes in both directions (or one, `silence('toTarget' | 'toClient')`), discarding them, without closing
 * anything, until `heal()`.
 * Extensions for fault scenarios (all take effect at once for every connection, and `heal()` ends them all):
 * - `setLatencyMs(ms)`: every chunk is forwarded `ms` after it arrived, in each direction (a round trip costs 2·ms
 *   more), order kept; 0 ends it (chunks already delayed still go when due);
 * - `reset()`: destroys every open connection now (both sides see it close); new connections are accepted;
 * - `resetEvery(ms)`: `reset()` every `ms` until `heal()` (or `close()`);
 * - `accepted`: connections accepted so far (how often a client reconnected).
 */
export interface TcpProxy {
  port: number
  cut(): void
  restore(): void
  silence(direction?: SilenceDirection): void
  setLatencyMs(ms: number): void
  reset(): void
  resetEvery(intervalMs: number): void
  heal(): void
  readonly accepted: number
  close(): Promise<void>
}

/** A listener that accepts and never answers; `close()` destroys its connections and stops it. */
export interface BlackHole {
  port: number
  close(): Promise<void>
}

/** Listens on a free loopback port; `close` destroys the tracked sockets, then closes the server. */
async function listen(server: Server, sockets: Set<Socket>): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Starts a proxy on a free loopback port forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let isCut = false
  let silentToTarget = false
  let silentToClient = false
  let latencyMs = 0
  let accepted = 0
  let resetTimer: NodeJS.Timeout | null = null
  const sockets = new Set<Socket>()
  const resetAll = () => {
    for (const s of sockets) s.destroy()
    sockets.clear()
  }
  /** Forwards chunks to `to` now, or `latencyMs` after they arrived; one queue per direction keeps them in order. */
  const forwarder = (to: Socket) => {
    const queue: { chunk: Buffer; due: number }[] = []
    let timer: NodeJS.Timeout | null = null
    const drain = () => {
      timer = null
      while (queue.length > 0 && (queue[0] as { due: number }).due <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer }
        if (!to.destroyed) to.write(chunk)
      }
      if (queue.length > 0) {
        timer = setTimeout(drain, (queue[0] as { due: number }).due - Date.now())
        timer.unref()
      }
    }
    return (chunk: Buffer) => {
      if (latencyMs <= 0 && queue.length === 0) {
        to.write(chunk)
        return
      }
      queue.push({ chunk, due: Date.now() + latencyMs })
      if (timer === null) drain()
    }
  }
  const server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
    accepted++
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    const toUpstream = forwarder(upstream)
    const toClient = forwarder(client)
    client.on('data', (chunk: Buffer) => void (silentToTarget || toUpstream(chunk)))
    upstream.on('data', (chunk: Buffer) => void (silentToClient || toClient(chunk)))
  })
  const { port, close } = await listen(server, sockets)
  const stopResets = () => {
    if (resetTimer !== null) clearInterval(resetTimer)
    resetTimer = null
  }
  return {
    port,
    get accepted() {
      return accepted
    },
    cut() {
      isCut = true
      resetAll()
    },
    restore() {
      isCut = false
    },
    silence(direction: SilenceDirection = 'both') {
      if (direction !== 'toClient') silentToTarget = true
      if (direction !== 'toTarget') silentToClient = true
    },
    setLatencyMs(ms: number) {
      latencyMs = Math.max(0, ms)
    },
    reset: resetAll,
    resetEvery(intervalMs: number) {
      stopResets()
      resetTimer = setInterval(resetAll, intervalMs)
      resetTimer.unref()
    },
    heal() {
      silentToTarget = false
      silentToClient = false
      latencyMs = 0
      stopResets()
    },
    close() {
      stopResets()
      return close()
    },
  }
}

/** Starts a listener on a free loopback port that accepts connections, reads and discards, and never answers. */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    socket.resume()
  })
  return listen(server, sockets)
}
