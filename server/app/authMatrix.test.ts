/**
 * Authorization matrix (issue #4), generated from the router itself so a new procedure is covered automatically:
 * every mutation is 401 without a session, 403 for a viewer and 2xx for an operator — but the public `auth.login`
 * and `auth.logout` / `auth.logoutEverywhere` (any session may end itself and its token's others); every query and subscription is 401 without a session and readable
 * by a viewer. Over real HTTP, real Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listProcedures, prepareSample, PUBLIC_PROCEDURES, sampleCoverage, SESSION_MUTATIONS } from './testing/procedureSamples'
import { call, effectiveStatus, startTestServer, type CallResult, type TestServer } from './testing/testServer'

const procedures = listProcedures()
const mutations = procedures.filter((p) => p.type === 'mutation')
const reads = procedures.filter((p) => p.type !== 'mutation')

let srv: TestServer
beforeAll(async () => {
  srv = await startTestServer()
})
afterAll(async () => {
  await srv?.close()
})

async function callAs(path: string, type: 'query' | 'mutation' | 'subscription', role: 'anonymous' | 'viewer' | 'operator'): Promise<CallResult> {
  const input = await prepareSample(path, { redis: srv.redis, keys: srv.keys })
  const cookie = role === 'anonymous' ? undefined : await srv.login(role)
  return call(srv.base, path, type, input, cookie)
}

/** 2xx and, for a subscription, a first data event (not only `connected`). */
function expectData(res: CallResult, type: string): void {
  expect(effectiveStatus(res), res.text).toBeGreaterThanOrEqual(200)
  expect(effectiveStatus(res), res.text).toBeLessThan(300)
  if (type === 'subscription') {
    const events = res.text.split(/\r?\n\r?\n/)
    expect(events.some((e) => /^data: /m.test(e) && !/^event: /m.test(e)), res.text).toBe(true)
  }
}

describe('authorization matrix (from appRouter._def.procedures)', () => {
  it('finds the procedures of the router', () => {
    expect(procedures.length).toBeGreaterThan(0)
    expect(mutations.map((p) => p.path)).toContain('breakers.command')
  })

  it('has a sample for every procedure (procedureSamples.ts)', () => {
    const { missing, stale } = sampleCoverage()
    expect(missing, missing.map((p) => `add a sample for ${p} in server/app/testing/procedureSamples.ts`).join('\n')).toEqual([])
    expect(stale, `samples for procedures that no longer exist: ${stale.join(', ')}`).toEqual([])
  })

  it('has auth.login as its only public procedure, and it is a mutation', () => {
    expect([...PUBLIC_PROCEDURES]).toEqual(['auth.login'])
    expect(procedures.find((p) => p.path === 'auth.login')?.type).toBe('mutation')
  })

  it('has auth.logout and auth.logoutEverywhere (own sessions) as its only mutations open to a viewer', () => {
    expect([...SESSION_MUTATIONS]).toEqual(['auth.logout', 'auth.logoutEverywhere'])
    for (const path of SESSION_MUTATIONS) expect(procedures.find((p) => p.path === path)?.type).toBe('mutation')
  })

  it('lets anyone exchange a valid token at auth.login for a session cookie', async () => {
    const res = await callAs('auth.login', 'mutation', 'anonymous')
    expect(res.status, res.text).toBe(200)
    expect(res.headers.get('set-cookie') ?? '').toMatch(/HttpOnly/i)
  })

  describe.each(mutations.filter((p) => !PUBLIC_PROCEDURES.has(p.path)).map((p) => [p.path, p] as const))('mutation %s', (path, p) => {
    it('is 401 without a session', async () => {
      const res = await callAs(path, p.type, 'anonymous')
      expect(res.status, res.text).toBe(401)
    })
    if (SESSION_MUTATIONS.has(path)) {
      it('is 2xx for a viewer (own session)', async () => {
        const res = await callAs(path, p.type, 'viewer')
        expect(res.status, res.text).toBeLessThan(300)
      })
    } else {
      it('is 403 for a viewer', async () => {
        const res = await callAs(path, p.type, 'viewer')
        expect(res.status, res.text).toBe(403)
      })
    }
    it('is 2xx for an operator', async () => {
      const res = await callAs(path, p.type, 'operator')
      expect(res.status, res.text).toBeLessThan(300)
      expect(res.status, res.text).toBeGreaterThanOrEqual(200)
    })
    it('is refused over GET (405), whatever the role', async () => {
      const input = await prepareSample(path, { redis: srv.redis, keys: srv.keys })
      const res = await call(srv.base, path, 'query', input, await srv.login('operator'))
      expect(res.status, res.text).toBe(405)
    })
  })

  describe.each(reads.map((p) => [`${p.type} ${p.path}`, p] as const))('%s', (_name, p) => {
    it('is 401 without a session (nothing is readable anonymously)', async () => {
      const res = await callAs(p.path, p.type, 'anonymous')
      expect(effectiveStatus(res), res.text).toBe(401)
      expect(res.text).not.toMatch(/^data: \{"(services|asOfMs)/m)
    })
    it('is readable by a viewer', async () => {
      const res = await callAs(p.path, p.type, 'viewer')
      expect([401, 403], res.text).not.toContain(effectiveStatus(res))
      expectData(res, p.type)
    })
    it('is readable by an operator', async () => {
      const res = await callAs(p.path, p.type, 'operator')
      expectData(res, p.type)
    })
  })
})
