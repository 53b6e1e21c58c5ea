/**
 * Acceptance "Durability" (issue #11): every acknowledged breaker command survives `kill -9` of Redis. A
 * redis-server of this test's own, started by the project's real launcher (server/bootstrap/redis.mjs: AOF on,
 * `appendfsync everysec`), takes breaker commands through the real issue function from 64 concurrent callers; once
 * 10,000 are acknowledged it is SIGKILLed while the next ones are still in flight, restarted on the same data folder, and every command that was
 * acknowledged must be there — desired state, command record and audit entry — and no command may be there
 * without its audit entry. AOF everysec covers a crash of the Redis process (the kernel holds what was written
 * before each reply), not a power loss or kernel crash (up to ~1 s of writes not yet fsynced); docs/RELIABILITY.md.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { ensureDebianBinary } from '../bootstrap/debian.mjs'
import { startEmbeddedRedis } from '../bootstrap/redis.mjs'
import { issueBreakerCommand, type IssuedCommand } from './breakerCommands'

/** SIGKILL once this many commands are acknowledged; the 64 callers keep issuing, so some are in flight then. */
const ACKNOWLEDGED = 10_000
const CONCURRENCY = 64
const SERVICES = ['storefront', 'checkout', 'search', 'catalog']
const BREAKERS = ['payments', 'inventory']

/** A client that never queues or resends: a command either gets its reply from this Redis or fails. */
async function strictClient(url: string): Promise<Redis> {
  const r = new Redis(url, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
  })
  r.on('error', () => {})
  await new Promise<void>((resolve) => r.once('ready', () => resolve()))
  return r
}

describe('durability of breaker commands', () => {
  it('after kill -9 of redis-server and a restart on the same AOF, every acknowledged command and its audit entry is there', async () => {
    const binary = ensureDebianBinary({ binary: 'redis-server', pkg: 'redis-server' })
    const dir = await mkdtemp(join(tmpdir(), 'fusebox-durability-'))
    const keys = createKeySpace('durable')
    const first = await startEmbeddedRedis({ dir, binary, quiet: true })
    let second: Awaited<ReturnType<typeof startEmbeddedRedis>> | undefined
    try {
      const config = await strictClient(first.url)
      expect(await config.config('GET', 'appendonly')).toEqual(['appendonly', 'yes'])
      expect(await config.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec'])
      for (const s of SERVICES) await config.sadd(keys.breakers(s), ...BREAKERS)
      config.disconnect()

      const client = await strictClient(first.url)
      const acked: (IssuedCommand & { service: string; breaker: string })[] = []
      let failed = 0
      let next = 0
      let killed = false
      let killedAtAcks = 0
      const startedMs = Date.now()
      const worker = async () => {
        while (!killed) {
          const i = next++
          const service = SERVICES[i % SERVICES.length] as string
          const breaker = BREAKERS[Math.floor(i / SERVICES.length) % BREAKERS.length] as string
          try {
            const r = await issueBreakerCommand(client, keys, { service, breaker, command: i % 2 ? 'forceOpen' : 'release', reason: `durability ${i}`, actor: 'load' }, Date.now())
            acked.push({ ...r, service, breaker })
          } catch {
            failed++
          }
          if (!killed && acked.length >= ACKNOWLEDGED) {
            killed = true
            killedAtAcks = acked.length
            process.kill(first.pid, 'SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const issueMs = Date.now() - startedMs
      client.disconnect()
      await first.process.exited
      expect(killed).toBe(true)
      expect(acked.length + failed).toBe(next)
      expect(acked.length).toBeGreaterThanOrEqual(ACKNOWLEDGED)

      second = await startEmbeddedRedis({ dir, binary, quiet: true })
      const redis = new Redis(second.url)
      try {
        // Every audit entry of every service, by command id.
        const audited = new Map<string, number>()
        for (const s of SERVICES) {
          for (const [, flat] of await redis.xrange(keys.audit(s), '-', '+')) {
            const f: Record<string, string> = {}
            for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string
            audited.set(f.commandId ?? '', Number(f.generation))
          }
        }
        const p = redis.pipeline()
        for (const c of acked) p.hget(keys.command(c.service, c.commandId), 'generation')
        const records = (await p.exec()) ?? []
        const missingRecord = acked.filter((c, i) => records[i]?.[1] !== String(c.generation))
        const missingAudit = acked.filter((c) => audited.get(c.commandId) !== c.generation)
        expect(missingRecord).toEqual([])
        expect(missingAudit).toEqual([])
        // The desired state of each breaker is at least its newest acknowledged generation.
        for (const s of SERVICES) {
          for (const b of BREAKERS) {
            const newest = Math.max(0, ...acked.filter((c) => c.service === s && c.breaker === b).map((c) => c.generation))
            expect(Number(await redis.hget(keys.breakerDesired(s, b), 'generation'))).toBeGreaterThanOrEqual(newest)
          }
        }
        // Nothing half-written: every command record that survived (acknowledged or not) has its audit entry.
        const recordKeys: string[] = []
        let cursor = '0'
        do {
          const [nextCursor, found] = await redis.scan(cursor, 'MATCH', `${keys.prefix}:*:command:*`, 'COUNT', 1000)
          cursor = nextCursor
          recordKeys.push(...found)
        } while (cursor !== '0')
        expect(recordKeys.length).toBeGreaterThanOrEqual(acked.length)
        expect(audited.size).toBe(recordKeys.length)
        console.log(
          `[durability] ${acked.length} acknowledged (kill -9 at ${killedAtAcks}), ${failed} failed, ${recordKeys.length} committed; ` +
            `issued in ${issueMs} ms (${Math.round((acked.length / issueMs) * 1000)}/s); all acknowledged present after restart`,
        )
      } finally {
        await redis.quit()
      }
    } finally {
      if (first.process.isRunning()) await first.stop()
      if (second) await second.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
