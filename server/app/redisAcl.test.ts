/**
 * The Redis ACLs docs/PRODUCTION.md recommends, checked against a real redis-server. The server's user: every key
 * and channel under the prefix, no dangerous command. The collectors' least-privilege user: a collector under that user does all of its work (series, totals, coverage, cache, breakers, the
 * request log, events, heartbeats, nudges and reconciles) without one NOPERM, while the same user can neither read
 * sessions nor write the audit, command records or desired states — so a compromised service cannot sign in as an
 * operator, forge the audit or command other services' breakers.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createKeySpace } from '../../shared/keys'
import { createCollector } from '../sdk/index'
import { until } from '../sdk/collectorTesting.test-helpers'
import { testRedisUrl } from '../testing/redis'
import { Auth } from './auth'
import { issueBreakerCommand } from './breakerCommands'
import { Janitor } from './janitor'
import { readOverview } from './readModel'
import { readAuditPage } from './reads/audit'
import { readCommandStatus } from './reads/breakers'

/**
 * The collector's ACL rules for key prefix `prefix`, as docs/PRODUCTION.md prints them (Redis ≥ 7: `%R~` is a
 * read-only key pattern). Every key kind a collector writes is listed by its suffix (shared/keys.ts), so the audit
 * (`…:audit`), command records (`…:command:*`), desired states (read only) and sessions stay out of reach.
 */
export function collectorAclRules(prefix: string): string[] {
  // Keep in step with docs/PRODUCTION.md "Redis users".
  const svc = `${prefix}:{*}`
  return [
    'on',
    'resetkeys',
    'resetchannels',
    `~${prefix}:services`,
    ...['req:*', 'tot:*', 'cov:*', 'requests', 'events', 'caches', 'cachestats:*', 'cache:*', 'instances', 'instance:*', 'breakers', 'breaker:*:state', 'flushseq:*', 'counters'].map(
      (k) => `~${svc}:${k}`,
    ),
    `%R~${svc}:breaker:*:desired`,
    `%R~${svc}:breaker:*:desired:*`,
    `&${svc}:control`,
    '-@all',
    '+@read',
    '+@write',
    '+@scripting',
    '+@transaction',
    '+@connection',
    '+@pubsub',
    '-@dangerous',
    '+info',
  ]
}

/** The server's ACL rules for key prefix `prefix` (docs/PRODUCTION.md "Redis users"). */
export function serverAclRules(prefix: string): string[] {
  return ['on', 'resetkeys', 'resetchannels', `~${prefix}:*`, `&${prefix}:*`, '+@all', '-@dangerous', '+info']
}

/** A URL of the test Redis signed in as `user`. */
function urlAs(user: string, password: string): string {
  const url = new URL(testRedisUrl())
  url.username = user
  url.password = password
  return url.toString()
}

describe('the Redis users of docs/PRODUCTION.md', () => {
  const admin = new Redis(testRedisUrl())
  const user = `collector-${randomBytes(4).toString('hex')}`
  const serverUser = `server-${randomBytes(4).toString('hex')}`
  const password = randomBytes(16).toString('hex')
  afterAll(async () => {
    await admin.call('ACL', 'DELUSER', user, serverUser)
    await admin.quit()
  })

  it('the server user signs in, reads the overview, issues a command with its audit, reads both back and prunes, without one NOPERM', async () => {
    const prefix = `acls${randomBytes(3).toString('hex')}`
    const keys = createKeySpace(prefix)
    await admin.call('ACL', 'SETUSER', serverUser, `>${password}`, ...serverAclRules(prefix))
    const redis = new Redis(urlAs(serverUser, password), { maxRetriesPerRequest: 0 })
    try {
      const now = Date.now()
      await admin.sadd(keys.services(), 'shop')
      await admin.sadd(keys.breakers('shop'), 'payments')
      await admin.zadd(keys.instances('shop'), now, 'i1')
      const auth = new Auth(redis, keys, [{ name: 'alice', token: 'acl-test-operator-token-0123' }], [], 3600)
      const grant = auth.check('acl-test-operator-token-0123')
      expect(grant).not.toBeNull()
      const session = await auth.createSession(grant!, now)
      expect((await auth.getSession(session.id))?.actor).toBe('alice')
      const issued = await issueBreakerCommand(redis, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'acl', actor: 'alice' }, now)
      expect(await readCommandStatus(redis, keys, 'shop', issued.commandId, now)).not.toBeNull()
      const audit = await readAuditPage(redis, keys, { limit: 10 })
      expect(JSON.stringify(audit)).toContain('alice')
      const overview = await readOverview(redis, keys, now, 300_000)
      expect(overview.services.map((s) => s.service)).toEqual(['shop'])
      await new Janitor({ redis, keys, clock: () => now }).run()
      await expect(redis.keys('*')).rejects.toThrow(/NOPERM/) // -@dangerous holds
      await expect(redis.get('otherapp:secret')).rejects.toThrow(/NOPERM/) // outside the prefix
    } finally {
      redis.disconnect()
    }
  })

  it('the collector user flushes, caches, reports breakers and applies commands without one NOPERM, and cannot touch sessions, audit, commands or desired states', { timeout: 30_000 }, async () => {
    const prefix = `acl${randomBytes(3).toString('hex')}`
    const keys = createKeySpace(prefix)
    await admin.call('ACL', 'SETUSER', user, `>${password}`, ...collectorAclRules(prefix))
    const url = urlAs(user, password)

    const errors: string[] = []
    const c = createCollector({
      redis: url,
      service: 'shop',
      instance: 'i1',
      prefix,
      flushIntervalMs: 100,
      onError: (e, where) => errors.push(`${where}: ${e instanceof Error ? e.message : String(e)}`),
    })
    try {
      const breaker = c.breaker('payments', async () => 'ok')
      const cache = c.cache<string>('catalog', { ttlSeconds: 60 })
      for (let i = 0; i < 20; i++) {
        c.recordRequest({ method: 'GET', route: '/products/:id', status: i % 5 === 0 ? 503 : 200, durationMs: 5 + i })
        await breaker.fire()
        await cache.getOrSet(`p${i % 4}`, async () => `v${i}`, { tags: ['products'] })
      }
      await cache.invalidateTag('products')
      await c.flush()
      await until(async () => (await admin.exists(keys.breakerState('shop', 'payments'))) === 1)

      // A command issued by the server (its own, unrestricted user) reaches the restricted collector.
      await issueBreakerCommand(admin, keys, { service: 'shop', breaker: 'payments', command: 'forceOpen', reason: 'acl test', actor: 'test' }, Date.now())
      await until(() => breaker.state === 'FORCED_OPEN')
      await c.flush()

      const totals = await admin.keys(`${prefix}:{shop}:tot:*`)
      expect(totals.length).toBeGreaterThan(0)
      expect(await admin.zscore(keys.instances('shop'), 'i1')).not.toBeNull()
      expect(await admin.xlen(keys.events('shop'))).toBeGreaterThan(0)
      expect(await admin.xlen(keys.requestLog('shop'))).toBeGreaterThan(0)
      expect(await admin.smembers(keys.caches('shop'))).toEqual(['catalog'])
      expect(errors.filter((e) => /NOPERM|no permissions/i.test(e))).toEqual([])
      expect(c.stats.flushErrors).toBe(0)
      expect(c.stats.failedFlushCommands).toBe(0) // a refused command inside a flush is counted, not thrown
      expect(c.stats.droppedEvents).toBe(0)
    } finally {
      await c.close()
    }

    // What the same credentials must not do.
    const restricted = new Redis(url, { maxRetriesPerRequest: 0 })
    try {
      const denied = async (p: Promise<unknown>) => expect(p).rejects.toThrow(/NOPERM/)
      await denied(restricted.get(keys.session('someone')))
      await denied(restricted.keys('*'))
      await denied(restricted.xadd(keys.audit('shop'), '*', 'actor', 'forged'))
      await denied(restricted.xadd(keys.audit(), '*', 'actor', 'forged'))
      await denied(restricted.hset(keys.breakerDesired('shop', 'payments'), 'mode', 'FORCED_CLOSED'))
      await denied(restricted.hset(keys.breakerDesired('shop', 'payments', 'i1'), 'mode', 'FORCED_CLOSED'))
      await denied(restricted.hset(keys.command('shop', 'x'), 'actor', 'forged'))
      await denied(restricted.set(keys.breakerGeneration('shop', 'payments'), '1'))
      await denied(restricted.publish(`${prefix}:other`, 'x'))
      await denied(restricted.flushdb())
      // Reading its own desired state is allowed (that is how commands reach it).
      expect(await restricted.hget(keys.breakerDesired('shop', 'payments'), 'mode')).toBe('FORCED_OPEN')
    } finally {
      restricted.disconnect()
    }
  })
})
