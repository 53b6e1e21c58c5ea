/**
 * Coverage bitmaps of the coarse tiers (shared/keys.ts `coverage`): bit i of a 1 min or 1 h bucket's bitmap says
 * some instance was alive in the 10 s sub-bucket starting at bucketStart + i · 10 s, so the server can tell the
 * covered part of a coarse bucket at 10 s resolution (a fleet started 5 minutes ago is not divided by the hour).
 *
 * The writer marks each 10 s bucket it covers once (seriesWriter.ts `cover`); each mark becomes one SETBIT per
 * coarse tier, with a PEXPIREAT of the coarse bucket's expiry, in the flush pipeline of the series writes. SETBIT is
 * idempotent, so marks stay pending — like series writes — until the SETBIT carrying them is answered without an
 * error (each mark by its own answer: one refused SETBIT keeps only its mark pending); a flush with
 * nothing newly covered sends nothing. Pending marks are bounded (Redis away for long): beyond the cap the oldest
 * are dropped and counted (`collector.stats.droppedCoverageMarks`).
 */
import type { ChainableCommander } from 'ioredis'
import type { KeySpace } from '../../shared/keys'
import { TIERS, TIER_10S, bucketExpiresAt, bucketStart } from '../../shared/timeBuckets'
import { answered, type PipelineResults } from './flushEffects'

/** Coverage marks (one bit of one coarse bitmap each) kept at most while unconfirmed; 2 per 10 s bucket covered. */
export const MAX_PENDING_COVERAGE_MARKS = 10_000

/** One bit to set: bitmap key, bit offset, and the bitmap's expiry (epoch ms). */
interface Mark {
  key: string
  offset: number
  expireAt: number
}

/** Does nothing: the commit of a flush that carried no mark. */
function nothingToCommit(): void {}

/** The pending coverage marks of one writer (see the module comment). One flush at a time: plan → (exec) → commit. */
export class CoverageMarks {
  /** `<key> <offset>` → mark, oldest first (Map insertion order). */
  private readonly pending = new Map<string, Mark>()
  /** Marks dropped unwritten beyond the cap (`collector.stats.droppedCoverageMarks`). */
  dropped = 0

  /**
   * @param keys key builder (shared/keys.ts)
   * @param service service name, already validated
   * @param maxPending marks kept at most while unconfirmed (default MAX_PENDING_COVERAGE_MARKS)
   */
  constructor(
    private readonly keys: KeySpace,
    private readonly service: string,
    private readonly maxPending = MAX_PENDING_COVERAGE_MARKS,
  ) {}

  /** Marks the 10 s bucket starting at `start10` (epoch ms) covered in every coarse tier's bitmap. */
  mark(start10: number): void {
    for (const tier of TIERS) {
      if (tier === TIER_10S) continue
      const coarse = bucketStart(start10, tier.bucketMs)
      const key = this.keys.coverage(this.service, tier.name, coarse)
      const offset = (start10 - coarse) / TIER_10S.bucketMs
      const id = `${key} ${offset}`
      if (this.pending.has(id)) continue
      this.pending.set(id, { key, offset, expireAt: bucketExpiresAt(coarse, tier) })
      if (this.pending.size > this.maxPending) {
        const oldest = this.pending.keys().next().value as string
        this.pending.delete(oldest)
        this.dropped++
      }
    }
  }

  /** Marks waiting for a confirmed flush. */
  get pendingCount(): number {
    return this.pending.size
  }

  /**
   * Adds a SETBIT for every pending mark (and one PEXPIREAT per bitmap) to pipeline `p`; marks of bitmaps already
   * expired at `nowMs` are let go. Call the returned function with the pipeline's answers (each mark whose SETBIT
   * was answered without an error is done), or null when it failed or timed out (they all stay pending); `true` /
   * `false` stand for "every command answered without an error" / "failed".
   */
  plan(p: ChainableCommander, nowMs: number): (results: PipelineResults | boolean) => void {
    if (this.pending.size === 0) return nothingToCommit
    const carried: [string, Mark, number][] = []
    const expiries = new Map<string, number>()
    for (const [id, m] of this.pending) {
      if (m.expireAt <= nowMs) {
        this.pending.delete(id)
        continue
      }
      carried.push([id, m, p.length])
      p.setbit(m.key, m.offset, 1)
      expiries.set(m.key, m.expireAt)
    }
    for (const [key, at] of expiries) p.pexpireat(key, at)
    return (results) => {
      if (results === false) return
      for (const [id, m, at] of carried) {
        if ((results === true || answered(results, at)) && this.pending.get(id) === m) this.pending.delete(id)
      }
    }
  }
}
