import { Queue, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { TIERS, bucketStart } from '../../shared/timeBuckets'
import { scanKeys, singleNodeUrl } from '../testing/redis'
import { collector, connected, freshPrefix, until, useTestRedis } from './collectorTesting.test-helpers'
import type { RedisClient } from './redisTopology'
import { issueQueueCommand, readQueueCommand } from '../app/queueCommands'
import { QUEUE_STATES, type WatchableQueue } from './queueWatch'

let redis: RedisClient
useTestRedis((r) => (redis = r))

/** BullMQ lives on the standalone node whatever the topology Fusebox writes to (it is the host's Redis, not ours). */
const bullConnection = () => new Redis(singleNodeUrl(), { maxRetriesPerRequest: null })
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

/** The latest bucket hash of `queue` in every tier. */
async function buckets(prefix: string, queue: string, atMs = Date.now()): Promise<Record<string, string>[]> {
  const keys = createKeySpace(prefix)
  return Promise.all(TIERS.map((t) => redis.hgetall(keys.queueBucket('shop', queue, t.name, bucketStart(atMs, t.bucketMs)))))
}

describe('collector.watchQueue (a real BullMQ 6 queue and worker)', () => {
  it('samples job counts by state and the oldest waiting job’s age into every tier, exactly as BullMQ counts them', async () => {
    const prefix = freshPrefix()
    const connection = bullConnection()
    const queue = new Queue(`emails-${prefix}`, { connection })
    closers.push(() => connection.quit(), () => queue.close())
    const oldestAt = Date.now()
    await queue.add('welcome', { to: 'a@example.com' })
    for (let i = 0; i < 11; i++) await queue.add('receipt', { i })
    await queue.add('later', {}, { delay: 3_600_000 })
    await queue.add('later', {}, { delay: 3_600_000 })
    const c = collector(prefix, 'a')
    await connected(c)
    const w = c.watchQueue(queue, { name: 'emails' })
    await w.sample()
    const expected = await (queue as WatchableQueue).getJobCounts(...QUEUE_STATES)
    expect(expected).toMatchObject({ waiting: 12, delayed: 2, active: 0 })
    for (const b of await buckets(prefix, 'emails')) {
      for (const s of QUEUE_STATES) expect(Number(b[`s:${s}`]), s).toBe(expected[s])
      expect(Number(b.oldestWaitingAgeMs)).toBeGreaterThanOrEqual(0)
      expect(Number(b.oldestWaitingAgeMs)).toBeLessThanOrEqual(Date.now() - oldestAt + 50)
    }
    expect(await redis.smembers(createKeySpace(prefix).queues('shop'))).toEqual(['emails'])
    const ttl = await redis.pttl(createKeySpace(prefix).queueBucket('shop', 'emails', '10s', bucketStart(Date.now(), 10_000)))
    expect(ttl).toBeGreaterThan(60 * 60_000)
    expect(ttl).toBeLessThanOrEqual(66 * 60_000)
  })

  it('counts the jobs this instance’s worker completed and failed, and writes what is left on close', async () => {
    const prefix = freshPrefix()
    const connection = bullConnection()
    const workerConnection = bullConnection()
    const name = `orders-${prefix}`
    const queue = new Queue(name, { connection })
    const worker = new Worker(
      name,
      async (job: Job<{ fail: boolean }>) => {
        if (job.data.fail) throw new Error('smtp down')
        return 'sent'
      },
      { connection: workerConnection, concurrency: 4 },
    )
    closers.push(() => connection.quit(), () => workerConnection.quit(), () => queue.close(), () => worker.close())
    const c = collector(prefix, 'a')
    await connected(c)
    const w = c.watchQueue(queue, { name: 'orders', worker })
    for (let i = 0; i < 20; i++) await queue.add('send', { fail: i % 4 === 0 })
    await until(async () => {
      const n = await queue.getJobCounts('completed', 'failed')
      return n.completed === 15 && n.failed === 5
    }, 15_000)
    await w.sample() // some of the events may already be written here, the rest by close()
    await new Promise((r) => setTimeout(r, 200)) // the worker emits 'completed' / 'failed' just after moving the job
    await c.close()
    const sum = (field: string) => Promise.all(TIERS.map(async (t) => {
      const keys = await scanKeys(redis, `${prefix}:{shop}:queue:orders:${t.name}:*`)
      let n = 0
      for (const k of keys) n += Number((await redis.hget(k, field)) ?? 0)
      return n
    }))
    expect(await sum('completed')).toEqual([15, 15, 15])
    expect(await sum('failed')).toEqual([5, 5, 5])
    expect(c.stats.queueSampleErrors).toBe(0)
  })

  it('retry failed (issued by an operator, audited) moves the failed jobs back to waiting; clean removes old completed ones', async () => {
    const prefix = freshPrefix()
    const keys = createKeySpace(prefix)
    const connection = bullConnection()
    const workerConnection = bullConnection()
    const name = `refunds-${prefix}`
    const queue = new Queue(name, { connection })
    let failing = true
    const worker = new Worker(name, async () => {
      if (failing) throw new Error('gateway down')
    }, { connection: workerConnection })
    closers.push(() => connection.quit(), () => workerConnection.quit(), () => queue.close(), () => worker.close())
    for (let i = 0; i < 6; i++) await queue.add('refund', { i })
    await until(async () => (await queue.getJobCounts('failed')).failed === 6, 10_000)
    await worker.pause()
    const c = collector(prefix, 'a')
    await connected(c)
    const w = c.watchQueue(queue, { name: 'refunds', worker })
    const { commandId } = await issueQueueCommand(redis, keys, { service: 'shop', queue: 'refunds', action: 'retryFailed', olderThanS: 0, reason: 'gateway is back', actor: 'alice' }, Date.now())
    await w.sample()
    expect(await readQueueCommand(redis, keys, 'shop', commandId)).toMatchObject({ state: 'done', affected: 6, claimedBy: 'a', error: null })
    expect(await queue.getJobCounts('failed', 'waiting')).toEqual({ failed: 0, waiting: 6 })
    const audit = await redis.xrange(keys.audit('shop'), '-', '+')
    const fields = audit.map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))))
    expect(fields).toMatchObject([{ actor: 'alice', command: 'queue.retryFailed', reason: 'gateway is back', outcome: 'issued', commandId }])
    // A second instance sampling afterwards finds nothing left to run: the command ran once.
    const c2 = collector(prefix, 'b')
    await connected(c2)
    await c2.watchQueue(queue, { name: 'refunds' }).sample()
    expect(await readQueueCommand(redis, keys, 'shop', commandId)).toMatchObject({ claimedBy: 'a', affected: 6 })

    failing = false
    worker.resume()
    await until(async () => (await queue.getJobCounts('completed')).completed === 6, 10_000)
    const clean = await issueQueueCommand(redis, keys, { service: 'shop', queue: 'refunds', action: 'cleanCompleted', olderThanS: 0, reason: 'tidy up', actor: 'alice' }, Date.now())
    await w.sample()
    expect(await readQueueCommand(redis, keys, 'shop', clean.commandId)).toMatchObject({ state: 'done', affected: 6 })
    expect((await queue.getJobCounts('completed')).completed).toBe(0)
  })

  it('refuses what is not a queue, a bad name or a second watch of the same queue, at set-up', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'a')
    await connected(c)
    expect(() => c.watchQueue({} as never)).toThrow(TypeError)
    const fake = { name: 'bad name!', getJobCounts: async () => ({}), getJobs: async () => [] }
    expect(() => c.watchQueue(fake)).toThrow(/A-Z a-z 0-9/)
    c.watchQueue({ ...fake, name: 'ok' })
    expect(() => c.watchQueue({ ...fake, name: 'ok' })).toThrow(/watched already/)
  })

  it('counts a queue that fails to answer, and never throws into the host', async () => {
    const prefix = freshPrefix()
    const errors: string[] = []
    const c = collector(prefix, 'a', { onError: (e, where) => errors.push(`${where}: ${e.message}`) })
    await connected(c)
    const broken = { name: 'broken', getJobCounts: async () => Promise.reject(new Error('Connection is closed.')), getJobs: async () => [] }
    const w = c.watchQueue(broken)
    await w.sample()
    expect(c.stats.queueSampleErrors).toBeGreaterThanOrEqual(1)
    expect(errors.some((e) => e.startsWith('queue broken: Connection is closed.'))).toBe(true)
    // Malformed counts from a look-alike are stored as 0, not as garbage.
    const odd = { name: 'odd', getJobCounts: async () => ({ waiting: -3, active: 1.5, delayed: 'x' as unknown as number, failed: 2 }), getJobs: async () => [{ timestamp: Number.NaN }] }
    await c.watchQueue(odd).sample()
    const [b] = await buckets(prefix, 'odd')
    expect(b).toMatchObject({ 's:waiting': '0', 's:active': '0', 's:delayed': '0', 's:failed': '2', oldestWaitingAgeMs: '0' })
  })
})
