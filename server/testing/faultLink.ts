/**
 * A loopback TCP link to Redis whose faults behave like a real network path, for the fault scenarios
 * (server/sdk/faultScenarios.test.ts). Unlike `startTcpProxy`'s `silence()` (which drops bytes for good), a fault
 * here can heal, and what TCP would deliver after healing is delivered:
 * - `setLatencyMs(ms)`: every chunk is delivered `ms` after it was sent, in each direction (round trip + 2·ms),
 *   order kept; lowering it delivers everything waiting at once, in order (a queue on the path emptying at line
 *   rate), so back to 0 heals it completely;
 * - `reset()`: every open connection is ended with a TCP RST on both sides (`resetAndDestroy`); new ones are accepted.
 *   `reset({ midRequest: true })` waits, per connection, for its next request to reach Redis and ends the connection
 *   instead of delivering the reply (the worst moment: Redis did the work, the client cannot know), or after
 *   `MID_REQUEST_WAIT_MS` if no request comes;
 * - `silence()` / `heal()`: a half-open partition — nothing is forwarded in either direction and no close is
 *   propagated, but every socket stays open, so neither side notices unless it times out by itself. New connections
 *   are accepted locally and reach Redis only after healing. On `heal()`, bytes a side sent meanwhile are delivered if
 *   that side is still connected (TCP retransmits them); a side that closed meanwhile has its peer closed instead (its
 *   unsent bytes die with it, as TCP's would).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

/** A running fault link; see the module comment. All methods take effect at once for every connection. */
export interface FaultLink {
  /** The loopback port clients connect to. */
  port: number
  /** One-way delay added to every chunk in each direction, in ms (0 = none); lowering it delivers what waits at once. */
  setLatencyMs(ms: number): void
  /**
   * Ends every open connection with a TCP RST on both sides; new connections are accepted as usual. With
   * `midRequest`, each connection is reset when the reply to its next request arrives (the reply is not delivered),
   * or after `MID_REQUEST_WAIT_MS` at the latest.
   */
  reset(options?: { midRequest?: boolean }): void
  /** Starts a half-open partition (see the module comment). */
  silence(): void
  /** Ends the partition: delivers what live sides sent meanwhile, closes the peers of sides that closed. */
  heal(): void
  /** Connections opened through the link so far (for figures: how often a client reconnected). */
  readonly accepted: number
  /** Destroys every connection and stops listening. */
  close(): Promise<void>
}

/** One forwarded connection: the client's socket, the socket to Redis, and what each sent while the link was silent. */
interface Pair {
  client: Socket
  upstream: Socket | null
  /** Client → Redis bytes held while silent (or before the upstream is connected). */
  toUpstream: Buffer[]
  /** Redis → client bytes held while silent. */
  toClient: Buffer[]
  clientClosed: boolean
  upstreamClosed: boolean
  /** Armed by `reset({ midRequest: true })`: the next Redis → client bytes are dropped and the pair reset. */
  resetOnReply: boolean
}

/** How long `reset({ midRequest: true })` waits for a connection's next request before resetting it anyway. */
export const MID_REQUEST_WAIT_MS = 1500

/**
 * Starts a link on a free loopback port forwarding to `127.0.0.1:targetPort`.
 * @throws {Error} when it cannot listen
 */
export async function startFaultLink(targetPort: number): Promise<FaultLink> {
  let latencyMs = 0
  let silent = false
  let accepted = 0
  const pairs = new Set<Pair>()
  /** Delayed chunks per destination socket, in sending order, each with the epoch ms it is due. */
  const delayed = new Map<Socket, Array<{ dueMs: number; chunk: Buffer }>>()
  let timer: NodeJS.Timeout | undefined

  /** Writes every delayed chunk due by `untilMs` (all of them: Infinity), in order; re-arms the timer for the rest. */
  const deliverDue = (untilMs: number) => {
    clearTimeout(timer)
    timer = undefined
    let nextDueMs = Number.POSITIVE_INFINITY
    for (const [to, queue] of delayed) {
      while (queue.length > 0 && queue[0]!.dueMs <= untilMs) {
        const { chunk } = queue.shift()!
        if (!to.destroyed) to.write(chunk)
      }
      if (queue.length === 0 || to.destroyed) delayed.delete(to)
      else nextDueMs = Math.min(nextDueMs, queue[0]!.dueMs)
    }
    if (nextDueMs < Number.POSITIVE_INFINITY) timer = setTimeout(() => deliverDue(Date.now()), Math.max(0, nextDueMs - Date.now()))
  }

  const send = (to: Socket, chunk: Buffer) => {
    const queue = delayed.get(to)
    if (latencyMs === 0 && queue === undefined) {
      if (!to.destroyed) to.write(chunk)
      return
    }
    // Never before a chunk sent earlier on the same socket.
    const dueMs = Math.max(Date.now() + latencyMs, queue?.at(-1)?.dueMs ?? 0)
    if (queue) queue.push({ dueMs, chunk })
    else delayed.set(to, [{ dueMs, chunk }])
    if (timer === undefined) timer = setTimeout(() => deliverDue(Date.now()), Math.max(0, dueMs - Date.now()))
  }

  const drop = (pair: Pair) => {
    pair.client.destroy()
    pair.upstream?.destroy()
    pairs.delete(pair)
  }

  const resetPair = (pair: Pair) => {
    pair.client.resetAndDestroy()
    pair.upstream?.resetAndDestroy()
    pairs.delete(pair)
  }

  const connectUpstream = (pair: Pair) => {
    const upstream = connect(targetPort, '127.0.0.1')
    pair.upstream = upstream
    upstream.on('connect', () => {
      for (const chunk of pair.toUpstream.splice(0)) send(upstream, chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (pair.resetOnReply) resetPair(pair)
      else if (silent) pair.toClient.push(chunk)
      else send(pair.client, chunk)
    })
    upstream.on('error', () => {})
    upstream.on('close', () => {
      pair.upstreamClosed = true
      if (!silent) drop(pair)
    })
  }

  const server = createServer((client) => {
    accepted++
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [], clientClosed: false, upstreamClosed: false, resetOnReply: false }
    pairs.add(pair)
    client.on('data', (chunk: Buffer) => {
      if (silent || pair.upstream === null || pair.upstream.connecting) pair.toUpstream.push(chunk)
      else send(pair.upstream, chunk)
    })
    client.on('error', () => {})
    client.on('close', () => {
      pair.clientClosed = true
      if (!silent) drop(pair)
    })
    if (!silent) connectUpstream(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted
    },
    setLatencyMs(ms) {
      const lowered = ms < latencyMs
      latencyMs = Math.max(0, ms)
      if (lowered) deliverDue(Number.POSITIVE_INFINITY)
    },
    reset(options) {
      for (const pair of [...pairs]) {
        if (!options?.midRequest) {
          resetPair(pair)
          continue
        }
        pair.resetOnReply = true
        setTimeout(() => void (pairs.has(pair) && resetPair(pair)), MID_REQUEST_WAIT_MS).unref()
      }
    },
    silence() {
      silent = true
    },
    heal() {
      silent = false
      for (const pair of [...pairs]) {
        if (pair.clientClosed || pair.upstreamClosed) {
          drop(pair)
          continue
        }
        if (pair.upstream === null) {
          connectUpstream(pair)
        } else if (!pair.upstream.connecting) {
          for (const chunk of pair.toUpstream.splice(0)) send(pair.upstream, chunk)
        }
        for (const chunk of pair.toClient.splice(0)) send(pair.client, chunk)
      }
    },
    close() {
      clearTimeout(timer)
      delayed.clear()
      for (const pair of [...pairs]) drop(pair)
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
