/**
 * A flush is confirmed only once a replica holds it (docs/decisions/029). Redis replication is asynchronous: a master
 * answers a write before any replica has it, so on a Redis Cluster a flush part the master confirmed can vanish when
 * that master dies and its replica is promoted. Everything the collector keeps pending until confirmation — its own
 * cumulative series fields, coverage marks, folds of closed buckets, guarded effect batches (docs/decisions/015) — is
 * safe to send again, so the fix is to confirm later, not to write differently: each flush pipeline ends with
 *
 *   ROLE                      the master's connected replicas, as of this flush (keyless: ioredis sends it, inside
 *                             the pipeline, to the master of the pipeline's slot — Pipeline.exec picks one node for
 *                             the whole pipeline from the keyed commands)
 *   WAIT 1 <REPLICA_ACK_TIMEOUT_MS>   only while the master is known (or, before the first ROLE, assumed) to have a
 *                             replica: the number of replicas that acknowledged every write this connection made
 *
 * and the flush's answers count as confirmed when WAIT says ≥ 1. When it says 0:
 *   - the master has no replica connected (ROLE, same pipeline): nothing better exists — a fresh master after a
 *     failover, a cluster run without replicas — so the master's answer is accepted (counted as unreplicated);
 *   - a replica is connected but did not acknowledge in time (lagging, or dead and not yet detected): the answers are
 *     ignored, as if the flush had timed out — every part stays pending and the next flush sends it again, with no
 *     double effect; after `REPLICA_ACK_GRACE_MS` of that in a row the master's answer is accepted again (counted,
 *     reported once), so a replica that never catches up costs durability, never data (the buffers stay far below
 *     `maxBufferedBuckets`).
 * A ROLE or WAIT Redis refuses (an ACL) leaves the master's answer as the confirmation (what it was before), and is
 * not a failed flush command; a WAIT whose connection closed before it answered (the master died while it waited —
 * the writes before it were answered, and may be on no replica) leaves the flush pending. Only on a Cluster client: a standalone Redis keeps the master's answer (see 029).
 *
 * WAIT blocks the connection to that master for up to REPLICA_ACK_TIMEOUT_MS only while a replica lags; a healthy
 * replica on loopback acknowledges in well under 1 ms.
 */
import type { ChainableCommander } from 'ioredis'
import { answered, isReplyError, type PipelineResults } from './flushEffects'

/** How long one flush's WAIT waits for a replica (ms): far above a healthy replica's acknowledgement, far below a flush interval. */
export const REPLICA_ACK_TIMEOUT_MS = 100
/** A connected replica silent this long in a row (ms) no longer holds flushes back: the master's answer is accepted. */
export const REPLICA_ACK_GRACE_MS = 30_000

/** What became of one flush's answers. */
export type ReplicaVerdict =
  /** A replica acknowledged every write of the flush. */
  | 'replicated'
  /** Accepted on the master's answer alone: it has no replica, WAIT/ROLE were refused, or the grace ran out. */
  | 'unreplicated'
  /** Not confirmed: a replica is connected and did not acknowledge; everything stays pending and is resent. */
  | 'pending'

/** See the module comment. One flush at a time: plan → (exec) → settle. */
export class ReplicaAcks {
  /** Replicas the flush's master had connected at the last ROLE answer; null before the first. */
  private replicas: number | null = null
  /** When the current run of unacknowledged flushes began (epoch ms); null when the last flush was acknowledged. */
  private unacknowledgedSinceMs: number | null = null
  private graceReported = false
  /** Flushes accepted on the master's answer alone (see `ReplicaVerdict`). */
  unreplicatedFlushes = 0
  /** Flushes held back because a connected replica did not acknowledge them (their parts were resent). */
  unacknowledgedFlushes = 0

  /** @param reportError receives one Error when the grace runs out (where `flush`); must not throw */
  constructor(private readonly reportError: (error: Error, where: string) => void) {}

  /**
   * Appends ROLE and (while a replica is known or assumed) WAIT to `p`, after the flush's writes. Returns `settle`:
   * given the pipeline's answers (null: failed or timed out) and the flush's time (epoch ms), it says whether the
   * answers count (`replicated`, `unreplicated`) or must be ignored (`pending`, and always for null). `settle` may be
   * called again with a late answer of the same pipeline.
   * @returns also `commands`: the positions of the two commands in `p`, which are not flush writes (their error
   *   replies are not failed flush commands)
   */
  plan(p: ChainableCommander): { commands: number[]; settle: (results: PipelineResults, nowMs: number) => ReplicaVerdict } {
    const roleAt = p.length
    p.call('ROLE')
    const waitAt = this.replicas === 0 ? -1 : p.length
    if (waitAt >= 0) p.call('WAIT', '1', String(REPLICA_ACK_TIMEOUT_MS))
    const commands = waitAt >= 0 ? [roleAt, waitAt] : [roleAt]
    return {
      commands,
      settle: (results, nowMs) => {
        if (results === null) return 'pending'
        const role = answered(results, roleAt) ? results[roleAt]?.[1] : undefined
        const connected = Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : null
        if (connected !== null) this.replicas = connected
        if (waitAt < 0) return this.accepted()
        const [waitError, acknowledged] = results[waitAt] ?? [new Error('no answer'), null]
        if (waitError !== null) {
          // Refused by Redis (an ACL, a replica): the master's answer is all there is. Lost with the connection (the
          // master died while WAIT was blocked): the writes before it may be on no replica — resend them.
          return isReplyError(waitError) ? this.accepted() : 'pending'
        }
        if (Number(acknowledged) >= 1) {
          this.unacknowledgedSinceMs = null
          this.graceReported = false
          return 'replicated'
        }
        // WAIT said 0: either there is no replica to wait for, or one is connected and did not keep up.
        if (connected === 0 || connected === null) return this.accepted()
        this.unacknowledgedSinceMs ??= nowMs
        if (nowMs - this.unacknowledgedSinceMs >= REPLICA_ACK_GRACE_MS) {
          if (!this.graceReported) {
            this.graceReported = true
            this.reportError(
              new Error(`no replica acknowledged a flush for ${REPLICA_ACK_GRACE_MS} ms although ${connected} is connected: flushes are confirmed by the master alone until one does`),
              'flush',
            )
          }
          return this.accepted()
        }
        this.unacknowledgedFlushes++
        return 'pending'
      },
    }
  }

  private accepted(): ReplicaVerdict {
    this.unreplicatedFlushes++
    return 'unreplicated'
  }
}
