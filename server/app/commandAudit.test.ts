/**
 * Issue #11 finding 9: a breaker command and its audit entry are one atomic step, and the audit is kept by time.
 * Before, the desired state was committed by one script and the nudge, command record, event and audit entry by a
 * pipeline whose errors were ignored: a failure between them left an applied, unaudited command. Real Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeySpace, type KeySpace } from '../../shared/keys'
import { auditFields } from '../../shared/streamEntries'
import { STREAM_CAPS } from '../../shared/vocabulary'
import { openTestRedis, scanKeys } from '../testing/redis'
import type { RedisClient } from '../sdk/redisTopology'
import { auditRecord, DEFAULT_AUDIT_RETENTION_MS, recordAudit } from './audit'
import { issueBreakerCommand } from './breakerCommands'
import { testCaller } from './commandTestCaller.test-helpers'
import { startTestServer } from './testing/testServer'

const DAY_MS = 86_400_000
let redis: RedisClient

beforeAll(() => {
  redis = openTestRedis()
})
afterAll(async () => {
  await redis.quit()
})

/** A fresh namespace where service `shop` has breaker `payments` registered (as a collector's flush would). */
async function freshShop(services: string[] = ['shop']): Promise<KeySpace> {
  const keys = createKeySpace(`a${randomBytes(4).toString('hex')}`)
  for (const s of services) await redis.sadd(keys.breakers(s), 'payments')
  await redis.sadd(keys.services(), ...services)
  return keys
}

/** Everything a command writes for `shop/payments`, to compare before and after a failed one. */
async function commandState(keys: KeySpace) {
  return {
    desired: await redis.hgetall(keys.breakerDesired('shop', 'payments')),
    generation: await redis.get(keys.breakerGeneration('shop', 'payments')),
    events: await redis.xlen(keys.events('shop')),
    commands: (await scanKeys(redis, `${keys.prefix}:{shop}:command:*`)).length,
  }
}

describe('a breaker command is one atomic step with its audit entry', () => {
  it('when the audit stream cannot be written, nothing is applied: the operator gets a clear error and the desired state is unchanged', async () => {
    const keys = await freshShop()
    const api = testCaller(redis, keys, 'alice')
    const first = await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'incident' })
    const before = await commandState(keys)
    expect(before.desired).toMatchObject({ mode: 'FORCED_OPEN', generation: String(first.generation) })

    // The audit key holds a string: a write to it fails inside the step.
    await redis.del(keys.audit('shop'))
    await redis.set(keys.audit('shop'), 'not a stream')
    await expect(api.breakers.command({ service: 'shop', breaker: 'payments', command: 'release', reason: 'over' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: expect.stringMatching(/Command not applied, nothing was changed: .*audit holds a string, not a stream/),
    })
    expect(await commandState(keys)).toEqual(before)
  })

  it('when the events stream cannot be written, nothing is applied either (no desired state, no audit entry)', async () => {
    const keys = await freshShop()
    const api = testCaller(redis, keys, 'alice')
    await redis.hset(keys.events('shop'), 'x', '1')
    await expect(api.breakers.command({ service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'incident' })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    })
    expect(await redis.exists(keys.breakerDesired('shop', 'payments'))).toBe(0)
    expect(await redis.exists(keys.breakerGeneration('shop', 'payments'))).toBe(0)
    expect(await redis.exists(keys.audit('shop'))).toBe(0)
  })

  it('a successful command leaves its desired state, command record, event and audit entry, all in the service\'s slot', async () => {
    const keys = await freshShop()
    const api = testCaller(redis, keys, 'alice')
    const issued = await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'forceClosed', reason: 'keep serving' })
    expect(await redis.hgetall(keys.command('shop', issued.commandId))).toMatchObject({ generation: String(issued.generation), targets: '[]' })
    const [event] = await redis.xrange(keys.events('shop'), '-', '+')
    expect(event?.[1]).toEqual(expect.arrayContaining(['type', 'commandIssued', 'generation', String(issued.generation)]))
    const audit = await api.audit.list({ service: 'shop' })
    expect(audit.entries).toEqual([
      expect.objectContaining({ actor: 'alice', action: 'forceClosed', commandId: issued.commandId, generation: issued.generation, outcome: 'issued' }),
    ])
    // Every key the step wrote carries the {shop} hash tag (one Redis Cluster slot).
    expect(keys.audit('shop')).toContain('{shop}')
    expect(await redis.exists(keys.audit())).toBe(0)
  })
})

describe('a resent command', () => {
  it('issued again with the same command id (a retry after a lost reply) is applied and audited once', async () => {
    const keys = await freshShop()
    const req = { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'retry', actor: 'alice' } as const
    const commandId = randomUUID()
    const first = await issueBreakerCommand(redis, keys, req, Date.now(), { commandId })
    const again = await issueBreakerCommand(redis, keys, req, Date.now(), { commandId })
    expect(again).toEqual(first)
    expect(await redis.get(keys.breakerGeneration('shop', 'payments'))).toBe(String(first.generation))
    expect(await redis.xlen(keys.audit('shop'))).toBe(1)
    expect(await redis.xlen(keys.events('shop'))).toBe(1)
  })
})

describe('the audit is kept by time and by count', () => {
  it('entries older than the retention (default 90 days) are trimmed when the stream is written; younger ones stay', async () => {
    const keys = await freshShop()
    const t0 = Date.now()
    let now = t0
    const api = testCaller(redis, keys, 'alice', { now: () => now })
    expect(DEFAULT_AUDIT_RETENTION_MS).toBe(90 * DAY_MS)
    await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'day 0' })
    now = t0 + 30 * DAY_MS
    await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'release', reason: 'day 30' })
    now = t0 + 89 * DAY_MS
    await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'reset', reason: 'day 89' })
    expect((await api.audit.list({ service: 'shop' })).entries.map((e) => e.reason)).toEqual(['day 89', 'day 30', 'day 0'])
    now = t0 + 91 * DAY_MS
    await api.breakers.command({ service: 'shop', breaker: 'payments', command: 'reset', reason: 'day 91' })
    expect((await api.audit.list({ service: 'shop' })).entries.map((e) => e.reason)).toEqual(['day 91', 'day 89', 'day 30'])
    expect(await redis.xlen(keys.audit('shop'))).toBe(3)
  })

  it('the retention is configurable, and cache invalidation audits are trimmed the same way', async () => {
    const keys = await freshShop()
    const t0 = Date.now()
    const retention = { retentionMs: 7 * DAY_MS, maxEntries: STREAM_CAPS.audit }
    const entry = (atMs: number, reason: string) =>
      recordAudit(redis, keys, { atMs, actor: 'bob', service: 'shop', action: 'invalidateTag', targetDescription: 'catalog tag x', reason, outcome: 'removed 1 key' }, retention)
    await entry(t0, 'first')
    await entry(t0 + 6 * DAY_MS, 'day 6')
    await entry(t0 + 8 * DAY_MS, 'day 8')
    const api = testCaller(redis, keys, 'bob', { role: 'viewer' })
    expect((await api.audit.list({ service: 'shop' })).entries.map((e) => e.reason)).toEqual(['day 8', 'day 6'])
  })

  it('the count cap still bounds a stream written faster than the retention trims it', async () => {
    const keys = await freshShop()
    const t0 = Date.now()
    const retention = { retentionMs: 90 * DAY_MS, maxEntries: 50 }
    for (let i = 0; i < 400; i++) {
      await recordAudit(redis, keys, { atMs: t0 + i, actor: 'bob', service: 'shop', action: 'invalidateTag', reason: `n${i}`, outcome: 'removed 0 keys' }, retention)
    }
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): at most cap + one node.
    const len = await redis.xlen(keys.audit('shop'))
    expect(len).toBeGreaterThanOrEqual(50)
    expect(len).toBeLessThanOrEqual(150)
  })
})

describe('reading and exporting the per-service audit streams', () => {
  it('audit.list merges every service\'s stream and the global one newest first; pages never skip or repeat an entry, equal ids included', async () => {
    const keys = await freshShop(['shop', 'cart'])
    const t0 = Date.now()
    let now = t0
    const api = testCaller(redis, keys, 'alice', { now: () => now })
    const expected: string[] = []
    for (let i = 0; i < 7; i++) {
      now = t0 + i * 1000
      // Both services at the same ms: equal stream ids in two streams.
      for (const service of ['shop', 'cart']) {
        await api.breakers.command({ service, breaker: 'payments', command: 'reset', reason: `${service} ${i}` })
        expected.unshift(`${service} ${i}`)
      }
    }
    // A service-less entry in the global stream (and one a reader must skip: malformed time).
    await recordAudit(redis, keys, { atMs: t0 + 3500, actor: 'ops', service: '', action: 'note', reason: 'global', outcome: 'ok' })
    await redis.xadd(keys.audit('shop'), '*', ...auditFields({ ...auditRecord({ atMs: 1, actor: 'x', service: 'shop', action: 'reset', reason: 'bad', outcome: 'issued' }) }).map((v) => (v === '1' ? 'NaN' : v)))
    const all = await api.audit.list({ limit: 500 })
    expect(all.nextCursor).toBeNull()
    const reasons = all.entries.map((e) => e.reason)
    expect(reasons).toHaveLength(15)
    expect(reasons).not.toContain('bad')
    expect(reasons.filter((r) => r !== 'global').sort()).toEqual([...expected].sort())
    expect(all.entries.map((e) => e.atMs)).toEqual([...all.entries.map((e) => e.atMs)].sort((a, b) => b - a))

    for (const limit of [1, 2, 3, 4]) {
      const paged: string[] = []
      let cursor: string | null = null
      for (let page = 0; page < 40; page++) {
        const p = await api.audit.list({ limit, cursor })
        paged.push(...p.entries.map((e) => e.reason))
        cursor = p.nextCursor
        if (cursor === null) break
      }
      expect(paged).toEqual(reasons)
      expect(new Set(paged).size).toBe(15)
    }
    expect((await api.audit.list({ service: 'cart' })).entries.map((e) => e.reason)).toEqual(expected.filter((r) => r.startsWith('cart')))
  })

  it('GET /api/audit.jsonl streams the entries oldest first as JSON lines within fromMs/untilMs, for a signed-in session only', async () => {
    const server = await startTestServer()
    try {
      const { redis: r, keys } = server
      await r.sadd(keys.breakers('shop'), 'payments')
      await r.sadd(keys.services(), 'shop')
      const t0 = Date.now() - 10_000
      for (let i = 0; i < 5; i++) {
        await recordAudit(r, keys, { atMs: t0 + i * 1000, actor: 'alice', service: 'shop', action: 'invalidateTag', targetDescription: 'c tag t', reason: `r${i}`, outcome: 'removed 1 key' })
      }
      const url = `${server.base}/api/audit.jsonl?fromMs=${t0 + 1000}&untilMs=${t0 + 3000}`
      expect((await fetch(url)).status).toBe(401)
      const cookie = await server.login('viewer')
      const res = await fetch(url, { headers: { cookie } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain('application/jsonl')
      expect(res.headers.get('content-disposition')).toContain('attachment')
      const lines = (await res.text()).split('\n')
      expect(lines.pop()).toBe('')
      const rows = lines.map((l) => JSON.parse(l) as { reason: string; atMs: number; id: string; service: string })
      expect(rows.map((x) => x.reason)).toEqual(['r1', 'r2', 'r3'])
      expect(rows[0]).toMatchObject({ service: 'shop', actor: 'alice', action: 'invalidateTag', atMs: t0 + 1000, id: `${t0 + 1000}-0` })
      const bad = await fetch(`${server.base}/api/audit.jsonl?fromMs=soon`, { headers: { cookie } })
      expect(bad.status).toBe(400)
      expect(await bad.json()).toMatchObject({ error: { message: expect.stringContaining('fromMs') } })
    } finally {
      await server.close()
    }
  })
})
