/**
 * ReplicaAcks (docs/decisions/029): which answers of a flush count, given what ROLE and WAIT said. Pure: a recording
 * stand-in for the pipeline and hand-made answers (the real cluster behaviour is server/sdk/clusterFailover.test.ts).
 */
import type { ChainableCommander } from 'ioredis'
import { describe, expect, it } from 'vitest'
import type { PipelineResults } from './flushEffects'
import { REPLICA_ACK_GRACE_MS, REPLICA_ACK_TIMEOUT_MS, ReplicaAcks } from './replicaAcks'

/** A pipeline that only records `call`s (what ReplicaAcks uses), after `writes` commands of the flush. */
function recordingPipeline(writes = 3): { p: ChainableCommander; commands: string[][] } {
  const commands: string[][] = Array.from({ length: writes }, () => ['HSET'])
  const p = {
    get length() {
      return commands.length
    },
    call(...args: string[]) {
      commands.push(args)
      return p
    },
  }
  return { p: p as unknown as ChainableCommander, commands }
}

const ROLE_WITH = (replicas: number) => ['master', 1234, Array.from({ length: replicas }, (_, i) => ['127.0.0.1', String(7000 + i), '1234'])]
const replyError = () => Object.assign(new Error('NOPERM'), { name: 'ReplyError' })

/** Answers for `writes` OK writes, then ROLE, then (when sent) WAIT. */
function answers(writes: number, role: unknown, wait?: unknown): PipelineResults {
  const out: [Error | null, unknown][] = Array.from({ length: writes }, () => [null, 1])
  out.push(role instanceof Error ? [role, null] : [null, role])
  if (wait !== undefined) out.push(wait instanceof Error ? [wait, null] : [null, wait])
  return out
}

describe('ReplicaAcks', () => {
  it('Before the first ROLE answer it assumes a replica: ROLE then WAIT 1 <timeout> follow the flush writes, and a WAIT of 1 counts as replicated', () => {
    const acks = new ReplicaAcks(() => {})
    const { p, commands } = recordingPipeline(3)
    const { commands: positions, settle } = acks.plan(p)
    expect(commands.slice(3)).toEqual([['ROLE'], ['WAIT', '1', String(REPLICA_ACK_TIMEOUT_MS)]])
    expect(positions).toEqual([3, 4])
    expect(settle(answers(3, ROLE_WITH(1), 1), 0)).toBe('replicated')
    expect(acks.unreplicatedFlushes).toBe(0)
  })

  it('When a connected replica does not acknowledge, the answers are ignored (pending) until the grace runs out, then accepted and reported once', () => {
    const errors: string[] = []
    const acks = new ReplicaAcks((e) => errors.push(e.message))
    const flush = (nowMs: number) => acks.plan(recordingPipeline(2).p).settle(answers(2, ROLE_WITH(1), 0), nowMs)
    expect(flush(1000)).toBe('pending')
    expect(flush(2000)).toBe('pending')
    expect(flush(1000 + REPLICA_ACK_GRACE_MS - 1)).toBe('pending')
    expect(flush(1000 + REPLICA_ACK_GRACE_MS)).toBe('unreplicated')
    expect(flush(1000 + REPLICA_ACK_GRACE_MS + 1000)).toBe('unreplicated')
    expect(acks.unacknowledgedFlushes).toBe(3)
    expect(acks.unreplicatedFlushes).toBe(2)
    expect(errors).toHaveLength(1)
    // Acknowledged again: the next lag starts a fresh grace.
    expect(acks.plan(recordingPipeline(2).p).settle(answers(2, ROLE_WITH(1), 1), 60_000)).toBe('replicated')
    expect(flush(61_000)).toBe('pending')
  })

  it('When the master has no replica (a fresh master after a failover), a WAIT of 0 is accepted on the master’s answer, and later flushes send no WAIT', () => {
    const acks = new ReplicaAcks(() => {})
    expect(acks.plan(recordingPipeline(2).p).settle(answers(2, ROLE_WITH(0), 0), 0)).toBe('unreplicated')
    const { p, commands } = recordingPipeline(2)
    const { commands: positions, settle } = acks.plan(p)
    expect(commands.slice(2)).toEqual([['ROLE']])
    expect(positions).toEqual([2])
    expect(settle(answers(2, ROLE_WITH(0)), 1000)).toBe('unreplicated')
    // A replica joins: ROLE says so, and the next flush waits for it again.
    expect(acks.plan(recordingPipeline(2).p).settle(answers(2, ROLE_WITH(1)), 2000)).toBe('unreplicated')
    const next = recordingPipeline(2)
    acks.plan(next.p)
    expect(next.commands.slice(2)).toEqual([['ROLE'], ['WAIT', '1', String(REPLICA_ACK_TIMEOUT_MS)]])
  })

  it('A flush that failed or timed out (null) is pending; a refused WAIT or ROLE leaves the master’s answer as the confirmation', () => {
    const acks = new ReplicaAcks(() => {})
    expect(acks.plan(recordingPipeline(1).p).settle(null, 0)).toBe('pending')
    expect(acks.plan(recordingPipeline(1).p).settle(answers(1, ROLE_WITH(1), replyError()), 0)).toBe('unreplicated')
    expect(acks.plan(recordingPipeline(1).p).settle(answers(1, replyError(), 0), 0)).toBe('unreplicated')
  })

  it('When the connection closes while WAIT waits (the master died after answering the writes), the flush is pending, not confirmed', () => {
    const acks = new ReplicaAcks(() => {})
    expect(acks.plan(recordingPipeline(2).p).settle(answers(2, ROLE_WITH(1), new Error('Connection is closed.')), 0)).toBe('pending')
  })
})
