/**
 * Writes request series to Redis (docs/decisions/005): per tier, each instance keeps the cumulative value of every
 * series for the open bucket and overwrites its own field with it (one multi-field HSET per key — idempotent, so a
 * retried flush never double-counts); once a bucket has closed and its final value is confirmed written, the
 * instance folds its own fields into the shared ones with FOLD_SERIES_LUA, a bounded number per flush.
 *
 * Deltas go into the 10 s tier only; when a 10 s bucket closes, its final values are rolled up into the 1 min and
 * 1 h buckets (one merge per series per 10 s instead of two per flush), so the coarse tiers trail by ~12 s.
 * Writes per flush: the 10 s tier every flush; the 1 min tier a tenth of its series per flush and the 1 h tier a
 * sixtieth (staggered by a hash of the field), so flush cost stays flat. Memory: one packed array per series per
 * open tier bucket; buckets that cannot be written (Redis away) are capped, the oldest dropped and counted.
 */
import type { ChainableCommander } from 'ioredis'
import { TOTAL_FIELD, ownSeriesField, type KeySpace } from '../../shared/keys'
import {
  addDeltaToPacked,
  emptyPacked,
  encodePacked,
  encodePackedInto,
  maxEncodedLength,
  mergePackedInto,
  type PackedSeries,
} from '../../shared/seriesCodec'
import { TIERS, TIER_10S, bucketExpiresAt, bucketStart, type Tier } from '../../shared/timeBuckets'
import { FOLD_SERIES_LUA } from './mergeScript'
import type { RequestBatch } from './requestMetrics'

/**
 * A 10 s bucket closes this long after its end, so deltas still in flight (one flush interval) reach it first; a
 * coarse bucket closes later still, after its last 10 s bucket has been rolled up into it.
 */
const CLOSE_GRACE_MS = 2500
const COARSE_CLOSE_GRACE_MS = 6000
/** Own fields folded per flush at most (a fold costs Redis ~10–20 µs a field). */
const FOLDS_PER_FLUSH = 250
/**
 * Flushes over which a tier's series writes are spread. Coarse tiers change only when a 10 s bucket rolls up (every
 * 10 s), so writing each of their series once per 10 (1 min tier) or 60 (1 h tier) flushes loses nothing but
 * freshness of at most that many seconds, and keeps every flush's encoding work flat.
 */
const CADENCE: Record<string, number> = { '10s': 1, '1m': 10, '1h': 60 }

type BucketState = 'open' | 'closing' | 'folding'

interface TierBucket {
  tier: Tier
  start: number
  /** `req`: one field per series; `tot`: the service total (one field, TOTAL_FIELD). */
  kind: 'req' | 'tot'
  key: string
  state: BucketState
  /** Cumulative value of each series since this process started writing the bucket. */
  series: Map<string, PackedSeries>
  /** Series changed since their last confirmed write. */
  dirty: Set<string>
  /** Shared fields whose own field still has to be folded (state `folding`). */
  toFold: string[]
  /** Stagger slot of each field (coarse tiers), computed once. */
  slots: Map<string, number>
}

/** Options of the writer. */
export interface SeriesWriterOptions {
  keys: KeySpace
  service: string
  /** `<instance>#<boot id>`: names this process's own fields. */
  ownTag: string
  /** Buckets holding unwritten data kept per tier while Redis is away, the open one included (oldest dropped
   * beyond); default 60 (10 min of the 10 s tier). */
  maxClosedBuckets?: number
}

/** djb2 string hash, for staggering a tier's writes over flushes. */
function slotOf(field: string, cadence: number): number {
  let h = 5381
  for (let i = 0; i < field.length; i++) h = ((h << 5) + h + field.charCodeAt(i)) | 0
  return (h >>> 0) % cadence
}

/** See the module comment. Single-threaded use: absorb → plan → (exec) → commit, one flush at a time. */
export class SeriesWriter {
  private readonly buckets = new Map<string, TierBucket>()
  private readonly maxClosedBuckets: number
  /** Closed buckets dropped unwritten because Redis stayed away too long. */
  droppedBuckets = 0
  /** Requests that arrived for a bucket already being folded (clock skew); dropped. */
  droppedLateRequests = 0

  constructor(private readonly options: SeriesWriterOptions) {
    this.maxClosedBuckets = options.maxClosedBuckets ?? 60
  }

  /** Adds a drained batch of 10 s deltas into the cumulative values of the 10 s tier (per series and total). */
  absorb(batch: RequestBatch): void {
    for (const [start10s, series] of batch) {
      const b = this.bucketFor(TIER_10S, start10s, 'req')
      const total = this.bucketFor(TIER_10S, start10s, 'tot')
      if (b === null || total === null) {
        for (const agg of series.values()) this.droppedLateRequests += agg.count
        continue
      }
      let sum = total.series.get(TOTAL_FIELD)
      if (sum === undefined) {
        sum = emptyPacked()
        total.series.set(TOTAL_FIELD, sum)
      }
      for (const [field, agg] of series) {
        let packed = b.series.get(field)
        if (packed === undefined) {
          packed = emptyPacked()
          b.series.set(field, packed)
        }
        addDeltaToPacked(packed, agg)
        addDeltaToPacked(sum, agg)
        b.dirty.add(field)
      }
      total.dirty.add(TOTAL_FIELD)
    }
  }

  /** Adds the final values of a closed 10 s bucket into the coarse tiers' buckets. */
  private rollUp(b: TierBucket): void {
    for (const tier of TIERS) {
      if (tier === TIER_10S) continue
      const into = this.bucketFor(tier, bucketStart(b.start, tier.bucketMs), b.kind)
      if (into === null) {
        for (const packed of b.series.values()) this.droppedLateRequests += packed[1] ?? 0
        continue
      }
      for (const [field, packed] of b.series) {
        const current = into.series.get(field)
        if (current === undefined) into.series.set(field, mergePackedInto(emptyPacked(), packed))
        else mergePackedInto(current, packed)
        into.dirty.add(field)
      }
    }
  }

  /** Number of buckets held in memory (any state). */
  get bucketCount(): number {
    return this.buckets.size
  }

  /**
   * Adds this flush's writes and folds to pipeline `p`. Call the returned function with `true` once the pipeline
   * succeeded (writes confirmed, folds done) or `false` when it failed (everything is retried later; both writes and
   * folds are safe to repeat).
   * @param flushNo increasing flush counter (staggers coarse tiers)
   * @param final write and fold everything regardless of time (collector.close)
   */
  plan(p: ChainableCommander, nowMs: number, flushNo: number, final = false): (ok: boolean) => void {
    const written: [TierBucket, string[]][] = []
    const folds: [TierBucket, number][] = []
    let foldBudget = final ? Number.POSITIVE_INFINITY : FOLDS_PER_FLUSH
    for (const b of this.buckets.values()) {
      const grace = b.tier === TIER_10S ? CLOSE_GRACE_MS : COARSE_CLOSE_GRACE_MS
      if (b.state === 'open' && (final || nowMs >= b.start + b.tier.bucketMs + grace)) {
        b.state = 'closing'
        if (b.tier === TIER_10S) this.rollUp(b)
      }
      if (b.state === 'closing' && b.dirty.size === 0) {
        // The final value is confirmed in Redis: from now on only the fold remains.
        b.state = 'folding'
        b.toFold = [...b.series.keys()]
        b.series.clear()
      }
      const expireAt = String(bucketExpiresAt(b.start, b.tier))
      if (b.state === 'folding') {
        if (foldBudget <= 0) continue
        const n = Math.min(foldBudget, b.toFold.length)
        foldBudget -= n
        const args: string[] = [expireAt]
        for (let i = 0; i < n; i++) {
          const field = b.toFold[i] as string
          args.push(ownSeriesField(field, this.options.ownTag), field)
        }
        p.eval(FOLD_SERIES_LUA, 1, b.key, ...args)
        folds.push([b, n])
        continue
      }
      const cadence = b.state === 'closing' ? 1 : (CADENCE[b.tier.name] ?? 1)
      const slot = flushNo % cadence
      const fields: string[] = []
      let bound = 0
      for (const field of b.dirty) {
        if (cadence > 1) {
          let s = b.slots.get(field)
          if (s === undefined) {
            s = slotOf(field, cadence)
            b.slots.set(field, s)
          }
          if (s !== slot) continue
        }
        fields.push(field)
        bound += maxEncodedLength(b.series.get(field) as PackedSeries)
      }
      if (fields.length === 0) continue
      // Every value of this HSET packed into one buffer, passed as views: one allocation, not one per field.
      const buf = Buffer.allocUnsafe(bound)
      const args: (string | Buffer)[] = []
      let offset = 0
      for (const field of fields) {
        const packed = b.series.get(field) as PackedSeries
        const end = encodePackedInto(packed, buf, offset)
        const value = end < 0 ? Buffer.from(encodePacked(packed)) : buf.subarray(offset, end)
        if (end >= 0) offset = end
        args.push(ownSeriesField(field, this.options.ownTag), value)
      }
      p.hset(b.key, ...(args as [string, Buffer]))
      p.pexpireat(b.key, expireAt)
      written.push([b, fields])
    }
    return (ok) => {
      if (!ok) return
      for (const [b, fields] of written) for (const f of fields) b.dirty.delete(f)
      for (const [b, n] of folds) {
        b.toFold.splice(0, n)
        if (b.toFold.length === 0) this.buckets.delete(b.key)
      }
    }
  }

  private bucketFor(tier: Tier, start: number, kind: 'req' | 'tot'): TierBucket | null {
    const { keys, service } = this.options
    const key = kind === 'req' ? keys.requestBucket(service, tier.name, start) : keys.requestTotals(service, tier.name, start)
    const existing = this.buckets.get(key)
    if (existing !== undefined) return existing.state === 'folding' ? null : existing
    const b: TierBucket = { tier, start, kind, key, state: 'open', series: new Map(), dirty: new Set(), toFold: [], slots: new Map() }
    this.buckets.set(key, b)
    this.enforceCap(tier, kind)
    return b
  }

  /** Keeps at most maxClosedBuckets unwritten closed buckets of a tier (Redis away), dropping the oldest. */
  private enforceCap(tier: Tier, kind: 'req' | 'tot'): void {
    // Buckets of the tier still holding data in memory (the open one included): at most maxClosedBuckets.
    const closedUnwritten = [...this.buckets.values()].filter((b) => b.tier === tier && b.kind === kind && b.state !== 'folding')
    const excess = closedUnwritten.length - this.maxClosedBuckets
    if (excess <= 0) return
    closedUnwritten.sort((a, b) => a.start - b.start)
    for (const b of closedUnwritten.slice(0, excess)) {
      this.buckets.delete(b.key)
      if (kind === 'req') this.droppedBuckets++
    }
  }
}
