/**
 * The fault link does on the wire what the fault scenarios say it does (server/testing/faultLink.ts), against the
 * real test Redis: a scenario's verdict is only as good as its fault.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { testRedisUrl } from './redis'
import { startFaultLink, type FaultLink } from './faultLink'

const opened: Array<{ close: () => Promise<void> | void }> = []
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close()
})

async function link(): Promise<FaultLink> {
  const l = await startFaultLink(Number(new URL(testRedisUrl()).port))
  opened.push(l)
  return l
}

/** A client through the link: no retries, no offline queue, no resend — what happens on the wire shows as it is. */
async function clientThrough(l: FaultLink): Promise<Redis> {
  const c = new Redis({ port: l.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, retryStrategy: () => null })
  c.on('error', () => {})
  opened.push({ close: () => void c.disconnect() })
  await c.connect()
  return c
}

function direct(): Redis {
  const c = new Redis(testRedisUrl())
  opened.push({ close: () => void c.disconnect() })
  return c
}

const key = () => `faultlink:${randomBytes(4).toString('hex')}`

describe('fault link', () => {
  it('With latency set, a round trip takes twice the one-way delay, in order; lowering it delivers what waits at once', async () => {
    const l = await link()
    const c = await clientThrough(l)
    l.setLatencyMs(300)
    const started = performance.now()
    const replies = await Promise.all([c.echo('a'), c.echo('b')])
    const roundTripMs = performance.now() - started
    expect(replies).toEqual(['a', 'b'])
    expect(roundTripMs).toBeGreaterThanOrEqual(590)

    l.setLatencyMs(5000)
    const slow = c.echo('c')
    await sleep(100)
    const healedAt = performance.now()
    l.setLatencyMs(0)
    expect(await slow).toBe('c')
    expect(performance.now() - healedAt).toBeLessThan(200)
  })

  it('A mid-request reset lets Redis execute the command and replaces its reply with a reset', async () => {
    const l = await link()
    const c = await clientThrough(l)
    const k = key()
    l.reset({ midRequest: true })
    await expect(c.incr(k)).rejects.toThrow()
    expect(await direct().get(k)).toBe('1')
    // New connections are accepted as usual afterwards.
    const again = await clientThrough(l)
    expect(await again.incr(k)).toBe(2)
  })

  it('While silent nothing crosses either way; on healing what a connected side sent is delivered', async () => {
    const l = await link()
    const c = await clientThrough(l)
    const k = key()
    l.silence()
    const pending = c.incr(k)
    await sleep(300)
    expect(await direct().get(k)).toBeNull()
    l.heal()
    expect(await pending).toBe(1)
  })

  it('A side that closed during the silence has its peer closed on healing, and its unsent bytes are dropped', async () => {
    const l = await link()
    const c = await clientThrough(l)
    const name = `faultlink-${randomBytes(4).toString('hex')}`
    await c.client('SETNAME', name)
    const k = key()
    const peer = direct()
    l.silence()
    void c.incr(k).catch(() => {})
    await sleep(100)
    c.disconnect()
    await sleep(200)
    // Redis has not heard of the close: the connection is still in its client list.
    expect(String(await peer.call('CLIENT', 'LIST'))).toContain(`name=${name} `)
    l.heal()
    const deadline = Date.now() + 2000
    while (String(await peer.call('CLIENT', 'LIST')).includes(`name=${name} `) && Date.now() < deadline) await sleep(50)
    expect(String(await peer.call('CLIENT', 'LIST'))).not.toContain(`name=${name} `)
    expect(await peer.get(k)).toBeNull()
  })
})
