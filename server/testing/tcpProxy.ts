/**
 * Loopback TCP stand-ins for Redis in fault tests:
 * - `startTcpProxy`: forwards to a target port; can cut every connection (and refuse new ones) until restored — a
 *   network partition between one client and Redis — or go silent, forwarding nothing either way while keeping
 *   connections open — a hung Redis or a dead network path;
 * - `startBlackHole`: accepts connections and never answers.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A running proxy. `cut()` drops all connections and refuses new ones; `restore()` accepts again; `silence()` stops
 * forwarding bytes in both directions for good, without closing anything.
 */
export interface TcpProxy {
  port: number
  cut(): void
  restore(): void
  silence(): void
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
  let silent = false
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    if (isCut) {
      client.destroy()
      return
    }
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
    client.on('data', (chunk) => void (silent || upstream.write(chunk)))
    upstream.on('data', (chunk) => void (silent || client.write(chunk)))
  })
  const { port, close } = await listen(server, sockets)
  return {
    port,
    cut() {
      isCut = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore() {
      isCut = false
    },
    silence() {
      silent = true
    },
    close,
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
