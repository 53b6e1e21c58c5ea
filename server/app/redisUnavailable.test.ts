import { TRPCError } from '@trpc/server'
import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { asRedisUnavailable, isRedisUnavailable, REDIS_UNAVAILABLE_MESSAGE } from './redisUnavailable'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })
const named = (name: string, message: string) => Object.assign(new Error(message), { name })

describe('isRedisUnavailable', () => {
  it('recognises lost connections, timeouts, refused queues and not-serving replies', () => {
    for (const err of [
      named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 2).'),
      new Error('Connection is closed.'),
      new Error('Command timed out'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      new ReplyError('LOADING Redis is loading the dataset in memory'),
      new ReplyError('BUSY Redis is busy running a script.'),
    ]) {
      expect(isRedisUnavailable(err), err.message).toBe(true)
    }
  })

  it('leaves command errors, bugs and non-errors alone', () => {
    for (const err of [
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      new ReplyError('ERR unknown command'),
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      new Error('Connection is closed. Or is it?'),
      'Connection is closed.',
      null,
    ]) {
      expect(isRedisUnavailable(err), String(err)).toBe(false)
    }
  })
})

describe('isRedisUnavailable on a Redis Cluster', () => {
  it('recognises what ioredis Cluster and the cluster say while resharding or failing over, and a MOVED that reaches the caller', () => {
    const execAbort = (...previousErrors: Error[]) =>
      Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.'), { previousErrors })
    for (const err of [
      new Error('None of startup nodes is available'),
      new Error('Failed to refresh slots cache.'),
      new Error("Cluster isn't ready and enableOfflineQueue options is false"),
      new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down'),
      new Error('Cluster is ended.'),
      new ReplyError('CLUSTERDOWN The cluster is down'),
      new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'),
      new ReplyError('MOVED 8928 127.0.0.1:33175'),
      new ReplyError('ASK 8928 127.0.0.1:33175'),
      execAbort(new ReplyError('MOVED 8928 127.0.0.1:33175'), new ReplyError('MOVED 8928 127.0.0.1:33175')),
    ]) {
      expect(isRedisUnavailable(err), err.message).toBe(true)
    }
  })

  it('leaves a cross-slot call (a bug) and an aborted transaction of command errors alone', () => {
    for (const err of [
      new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"),
      Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.'), {
        previousErrors: [new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
      }),
      new Error('MOVED somewhere'),
    ]) {
      expect(isRedisUnavailable(err), err.message).toBe(false)
    }
  })
})

describe('asRedisUnavailable', () => {
  it('turns an unavailable Redis, bare or wrapped by tRPC, into a 503 with the plain message and the cause kept', () => {
    const cause = new Error('Command timed out')
    for (const err of [cause, new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause })]) {
      const mapped = asRedisUnavailable(err)
      expect(mapped).toBeInstanceOf(TRPCError)
      expect(mapped).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: REDIS_UNAVAILABLE_MESSAGE, cause })
    }
  })

  it('returns anything else unchanged', () => {
    const bug = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: new TypeError('x is undefined') })
    const notFound = new TRPCError({ code: 'NOT_FOUND', message: 'no such breaker' })
    expect(asRedisUnavailable(bug)).toBe(bug)
    expect(asRedisUnavailable(notFound)).toBe(notFound)
  })
})
