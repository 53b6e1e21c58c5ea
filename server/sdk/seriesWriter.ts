/**
 * Writes request series to Redis (docs/decisions/006, amended by 009): per tier, each instance keeps the cumulative value of every
 * series for the open bucket and overwrites its own field with it (one multi-field HSET per key — idempotent, so a
 * retried flush never double-counts); once a bucket has closed and its final value is confirmed written, the
 * instance folds its own fields into the shared ones with FOLD_SERIES_LUA, a bounded number per flush.
 *
 * The open 10 s buckets' values are the recorder's own cumulative aggregates (requestMetrics.ts), encoded as they
 * are; a series is written when its count changed since its last confirmed write. When a 10 s bucket closes, its
 * values are copied into compact accumulators, released from the recorder, and rolled up into the 1 min and 1 h
 * buckets (one merge per series per 10 s instead of two per flush), so the coarse tiers trail by ~12 s. The service
 * totals (`tot`, one field) take exactly the same path as the route series (`req`) in every tier: a closing bucket's
 * values are all copied before the recorder releases it, and they wait in memory for a confirmed write like any other.
 *
 * No data ≠ zero: each instance makes sure its total exists in every 10 s bucket it was alive in, even with no
 * request (an empty value, written once), and rolls it up like any total, so a `tot` key present means "covered" and
 * an absent one a gap in every tier. An idle instance therefore writes one empty value per 10 s bucket and one per
 * coarse bucket, nothing per flush. Which 10 s parts of a coarse bucket were covered goes into its coverage bitmap
 * (coverageMarks.ts), one bit per 10 s bucket covered, in the same pipeline.
 *
 * Series cap: a coarse bucket holds at most the recorder's `maxSeries` route series, like a 10 s bucket; a route new
 * to a full coarse bucket rolls up into its method's `(overflow)` series, counted in `stats.overflowedRequests1m` /
 * `…1h`. The totals are not capped (one field), so the service total stays exact whatever the routes do.
 *
 * Writes per flush: every series whose value changed, in every tier. The coarse tiers' values change only when a
 * closed 10 s bucket rolls up (every 10 s), so the flush after the one whose sync rolled it up writes all of a coarse
 * bucket's changed series at once — routes and total in the same pipeline, so they always add up — and the flushes
 * in between write nothing of them (the roll-up's work and these writes fall on two flushes, not one). Memory: one
 * packed array per series per open tier bucket; buckets that cannot be written (Redis away) are capped, the oldest
 * dropped and counted. HSETs go out as prebuilt RESP frames (hsetFrames.ts).
 *
 * Redis Cluster: every key written here (series and totals buckets, coverage bitmaps) and the one key of each fold
 * carry the service's hash tag, so whatever the writer adds to the flush pipeline stays in the service's slot
 * (docs/decisions/027; checked on a real cluster by server/sdk/cluster.test.ts).
 */
import type { ChainableCommander, Pipeline } from 'ioredis'
import { TOTAL_FIELD, ownSeriesField, type KeySpace } from '../../shared/keys'
import { TIERS, TIER_10S, TIER_1H, TIER_1M, bucketExpiresAt, bucketStart, type Tier } from '../../shared/timeBuckets'
import type { CollectorStats } from './collectorStats'
import { CoverageMarks } from './coverageMarks'
import { allAnswered, answered, type PipelineResults } from './flushEffects'
import { HsetFrames } from './hsetFrames'
import { FOLD_SERIES_LUA } from './mergeScript'
import { OVERFLOW_ROUTE, type RecordedBucket, type RequestMetrics, type SeriesAggregate } from './requestMetrics'
import { SeriesAccumulator } from './seriesAccumulator'
import { encodePacked } from './seriesEncoder'

/**
 * A 10 s bucket closes this long after its end (more than one flush interval, for late timers and small clock steps),
 * so every request recorded for it is in the value it closes with; a coarse bucket closes later still, after its
 * last 10 s bucket has been rolled up into it.
 */
const CLOSE_GRACE_MS = 2500
const COARSE_CLOSE_GRACE_MS = 6000
/** Own fields folded per flush at most (a fold costs Redis ~10–20 µs a field). */
const FOLDS_PER_FLUSH = 250
/**
 * The work a bucket close causes is spread over about this long, in flushes (this ÷ the flush cadence, 1 to 10):
 * every instance of a fleet closes a 10 s bucket in the same second (its end + CLOSE_GRACE_MS), and doing all of
 * it in the next flush — the Lua folds of the closed bucket, the HSETs of the 1 min and 1 h values it was rolled up
 * into — made Redis stall for the whole fleet in that second: 200 instances × 200 routes, PING p99 858 ms inside it
 * vs 6.6 ms outside (docs/BENCHMARKS.md topic 9; docs/decisions/033). So a folding bucket folds 1/n of its fields
 * per flush, and each instance writes its coarse values k flushes later than the roll-up, k in [0, n) fixed per
 * process (a hash of its own-field tag). Neither changes a figure: readers add unfolded own fields like folded ones
 * (docs/decisions/006), and a coarse value is one bucket's worth of 10 s buckets, trailing a few seconds more.
 */
export const CLOSE_SPREAD_MS = 5000
/** The most flushes the close's work is spread over (a fast cadence spreads no longer than CLOSE_SPREAD_MS allows). */
const MAX_SPREAD_FLUSHES = 10
/** Fewest own fields a folding bucket folds per flush (a small bucket is not spread thinner than that). */
const MIN_FOLDS_PER_BUCKET = 20
/**
 * Syncs closer together than this (flushes driven by hand, a test's clock standing still) say nothing of the cadence:
 * the configured flush interval stands for it then, and with the 60 s interval of such uses nothing is spread.
 */
const MIN_CADENCE_MS = 250
/** `writtenCount` of a value never written: an empty total (count 0) still gets its one write (presence). */
const NEVER_WRITTEN = -1
/**
 * Fold attempts Redis may refuse (a corrupt or wrong-type key) before the writer lets the bucket go: its own fields
 * stay in Redis unfolded, where readers add them like any other (docs/decisions/006), until the bucket expires.
 */
const MAX_FOLD_ATTEMPTS = 3

type BucketState = 'open' | 'closing' | 'folding'

/** A series value held by the writer: a live recorder aggregate (open 10 s bucket) or an accumulator. */
type Value = SeriesAggregate | SeriesAccumulator

interface TierBucket {
  tier: Tier
  start: number
  /** `req`: one field per series; `tot`: the service total (one field, TOTAL_FIELD). */
  kind: 'req' | 'tot'
  key: string
  state: BucketState
  /**
   * Cumulative value of each series since this process started writing the bucket; a series needs writing when its
   * `count` differs from its `writtenCount`. For an open 10 s bucket this is the recorder's own map (`live`).
   */
  series: Map<string, Value>
  live: boolean
  /**
   * Flushes the writes of a coarse bucket still wait after a 10 s bucket was rolled up into it (0: none): at least
   * the rest of the running flush, so the roll-up's work and the writes it causes fall on two flushes, plus this
   * process's offset (CLOSE_SPREAD_MS). Routes and total alike: they roll up together and wait the same.
   */
  writeIn: number
  /** Shared fields whose own field still has to be folded (state `folding`). */
  toFold: string[]
  /** Own fields this bucket folds per flush at most, set when it starts folding (CLOSE_SPREAD_MS). */
  foldQuota: number
}

/** Options of the writer. */
export interface SeriesWriterOptions {
  /** Key builder (shared/keys.ts). */
  keys: KeySpace
  /** The recorder whose 10 s buckets this writer writes (and releases once they are closed and copied). */
  recorder: RequestMetrics
  /** Service name, already validated. */
  service: string
  /** `<instance>#<boot id>`: names this process's own fields. */
  ownTag: string
  /** Bucket starts holding unwritten data kept per tier while Redis is away, the open one included (oldest dropped
   * beyond, their routes and total together); default 60 (10 min of the 10 s tier). */
  maxBufferedBuckets?: number
  /**
   * The collector's flush cadence in ms; default 1000. Two syncs at most twice this far apart mean the instance was
   * alive in between, so every 10 s bucket between them gets its (possibly empty) total; after a longer pause (a
   * stalled process, a clock jump) only the current bucket does.
   */
  flushIntervalMs?: number
  /**
   * Send each HSET as one RESP frame built here (default true): the values are encoded straight into the frame and
   * ioredis writes it as is, instead of converting 2,000 arguments. Must be false when the client has a
   * `keyPrefix` (ioredis would not apply it to a prebuilt frame; a Cluster's lives in its options or its
   * redisOptions). On a Cluster a frame is routed like any HSET: its command carries the key as its argument, from
   * which ioredis computes the slot — the service's, like every other key of the flush pipeline.
   */
  prebuiltFrames?: boolean
  /** Where coarse-tier overflow is counted (`overflowedRequests1m`, `overflowedRequests1h`); not counted when absent. */
  stats?: Pick<CollectorStats, 'overflowedRequests1m' | 'overflowedRequests1h'>
}

/** True when every value's last confirmed write has its current count. */
function allWritten(series: Map<string, Value>): boolean {
  for (const v of series.values()) if (v.count !== v.writtenCount) return false
  return true
}

/** See the module comment. Single-threaded use: sync → plan → (exec) → commit, one flush at a time. */
export class SeriesWriter {
  private readonly buckets = new Map<string, TierBucket>()
  private readonly maxBufferedBuckets: number
  /** Closed buckets dropped unwritten because Redis stayed away too long (`collector.stats.droppedBuckets`). */
  droppedBuckets = 0
  /**
   * Requests dropped because their bucket was already closed or folding here (the clock went back), or older than
   * every bucket the cap keeps (`collector.stats.droppedLateRequests`).
   */
  droppedLateRequests = 0

  private readonly flushIntervalMs: number
  /** Recorder buckets to release at the end of the running sync (their values are copied, or dropped). */
  private readonly releasing = new Set<number>()
  /** Latest 10 s bucket start whose total presence is ensured, and the time of the last (non-final) sync. */
  private coveredUpTo = Number.NEGATIVE_INFINITY
  private lastSyncMs: number | null = null
  /** Flushes a close's work is spread over, from the cadence of the last two syncs (CLOSE_SPREAD_MS). */
  private spreadFlushes = 1
  /** This process's place in the spread: a hash of its own-field tag (FNV-1a, 32 bits). */
  private readonly spreadHash: number

  private readonly prebuiltFrames: boolean
  /** Series per coarse bucket at most (the recorder's `maxSeries`); beyond, new routes roll up into `(overflow)`. */
  private readonly maxSeries: number
  private readonly frames: HsetFrames
  private readonly coverage: CoverageMarks
  /** Folds Redis refused so far, per folding bucket (see MAX_FOLD_ATTEMPTS). */
  private readonly foldFailures = new Map<TierBucket, number>()

  constructor(private readonly options: SeriesWriterOptions) {
    this.maxBufferedBuckets = options.maxBufferedBuckets ?? 60
    this.prebuiltFrames = options.prebuiltFrames ?? true
    this.frames = new HsetFrames(options.ownTag)
    this.flushIntervalMs = options.flushIntervalMs ?? 1000
    this.coverage = new CoverageMarks(options.keys, options.service)
    this.maxSeries = options.recorder.maxSeries
    this.spreadHash = fnv1a(options.ownTag)
  }

  /** Coverage marks dropped unwritten beyond their cap (`collector.stats.droppedCoverageMarks`). */
  get droppedCoverageMarks(): number {
    return this.coverage.dropped
  }

  /**
   * Adopts the recorder's new 10 s buckets, makes sure this instance's total exists in the 10 s buckets it has been
   * alive in (not when `final`), and closes the 10 s buckets whose time has passed (all of them when `final`): their
   * values are copied into accumulators and rolled up into the coarse tiers — routes and total alike — and only then
   * are the recorder's buckets released (zeroed for reuse). Runs every flush, connected or not, so the recorder only
   * ever holds the open buckets.
   */
  sync(nowMs: number, final = false): void {
    const recorder = this.options.recorder
    if (!final) {
      const since = this.lastSyncMs === null ? 0 : nowMs - this.lastSyncMs
      const cadenceMs = since >= MIN_CADENCE_MS ? since : this.flushIntervalMs
      this.spreadFlushes = Math.min(MAX_SPREAD_FLUSHES, Math.max(1, Math.floor(CLOSE_SPREAD_MS / cadenceMs)))
    }
    for (const rb of [...recorder.buckets()]) this.adopt(rb)
    if (!final) this.cover(nowMs)
    for (const b of [...this.buckets.values()]) {
      if (b.tier !== TIER_10S || b.state !== 'open' || !(final || nowMs >= b.start + b.tier.bucketMs + CLOSE_GRACE_MS)) continue
      if (b.live) {
        const copy = new Map<string, Value>()
        for (const [field, v] of b.series) {
          const acc = new SeriesAccumulator().addDelta(v as SeriesAggregate)
          acc.writtenCount = v.writtenCount
          copy.set(field, acc)
        }
        b.series = copy
        b.live = false
        // Not released yet: the recorder's bucket holds this start's routes *and* its total, which another
        // bucket of this loop may still have to copy.
        this.releasing.add(b.start)
      }
      b.state = 'closing'
      this.rollUp(b)
    }
    for (const start of this.releasing) recorder.release(start)
    this.releasing.clear()
  }

  /**
   * Takes a recorder bucket's live values as the open 10 s `req` and `tot` buckets of its start, once. Requests for a
   * start already closed here (the clock went back), or older than every start the cap keeps, are dropped.
   */
  private adopt(rb: RecordedBucket): void {
    if (this.releasing.has(rb.start)) return
    const { keys, service } = this.options
    const req = this.buckets.get(keys.requestBucket(service, TIER_10S.name, rb.start))
    if (req !== undefined && req.live && req.series === rb.series) return
    const tot = this.buckets.get(keys.requestTotals(service, TIER_10S.name, rb.start))
    // Absent, or only this instance's empty total (presence) so far: adopt.
    if (req === undefined && (tot === undefined || (tot.state === 'open' && !tot.live))) {
      const r = this.bucketFor(TIER_10S, rb.start, 'req')
      const t = r === null ? null : this.bucketFor(TIER_10S, rb.start, 'tot')
      if (r !== null && t !== null) {
        r.series = rb.series
        r.live = true
        t.series = new Map<string, Value>([[TOTAL_FIELD, rb.total]])
        t.live = true
        return
      }
    }
    this.droppedLateRequests += rb.total.count
    this.releasing.add(rb.start)
  }

  /**
   * Presence: an empty total (written once) in every 10 s bucket since the last sync — the current one, and those in
   * between when the two syncs were at most two flush intervals apart; nothing is claimed across a longer pause.
   * Each such bucket is marked once in the coarse tiers' coverage bitmaps.
   */
  private cover(nowMs: number): void {
    const step = TIER_10S.bucketMs
    const current = bucketStart(nowMs, step)
    const last = this.lastSyncMs
    const onTime = last !== null && nowMs >= last && nowMs - last <= 2 * this.flushIntervalMs
    for (let start = Math.max(onTime ? bucketStart(last, step) : current, this.coveredUpTo + step); start <= current; start += step) {
      const b = this.bucketFor(TIER_10S, start, 'tot')
      if (b === null) continue
      if (b.state === 'open' && b.series.size === 0) b.series.set(TOTAL_FIELD, emptyTotal())
      this.coverage.mark(start)
    }
    this.coveredUpTo = Math.max(this.coveredUpTo, current)
    this.lastSyncMs = nowMs
  }

  /** Adds the final values of a closed 10 s bucket into the coarse tiers' buckets. */
  private rollUp(b: TierBucket): void {
    for (const tier of TIERS) {
      if (tier === TIER_10S) continue
      const into = this.bucketFor(tier, bucketStart(b.start, tier.bucketMs), b.kind)
      if (into === null) {
        if (b.kind === 'req') for (const v of b.series.values()) this.droppedLateRequests += v.count
        continue
      }
      for (const [rolled, v] of b.series) {
        let field = rolled
        let current = into.series.get(field) as SeriesAccumulator | undefined
        if (current === undefined && b.kind === 'req' && into.series.size >= this.maxSeries) {
          // The coarse bucket is full (maxSeries): like the 10 s tier, a new route goes to its method's overflow.
          field = overflowField(rolled)
          current = into.series.get(field) as SeriesAccumulator | undefined
        }
        if (current === undefined) into.series.set(field, (current = b.kind === 'tot' ? emptyTotal() : new SeriesAccumulator()))
        current.addAccumulator(v as SeriesAccumulator)
        if (b.kind === 'req' && isOverflowField(field)) this.countOverflow(tier, v.count)
      }
      into.writeIn = 1 + (this.spreadHash % this.spreadFlushes)
    }
  }

  /** Counts `n` requests held under `(overflow)` in a coarse tier (`stats.overflowedRequests1m` / `…1h`). */
  private countOverflow(tier: Tier, n: number): void {
    const stats = this.options.stats
    if (stats === undefined) return
    if (tier === TIER_1M) stats.overflowedRequests1m += n
    else if (tier === TIER_1H) stats.overflowedRequests1h += n
  }

  /** Number of buckets held in memory (any state). */
  get bucketCount(): number {
    return this.buckets.size
  }

  /**
   * Adds this flush's writes, folds and coverage marks to pipeline `p`. Call the returned function with the
   * pipeline's answers, or null when it failed or timed out. Each write, fold and mark is confirmed by its own
   * answer: one Redis refused (WRONGTYPE, OOM …) is retried by a later flush without un-confirming the others
   * (writes, folds and marks are all safe to repeat); a fold refused MAX_FOLD_ATTEMPTS times is let go.
   * @param final write and fold everything regardless of time (collector.close)
   */
  plan(p: ChainableCommander, nowMs: number, final = false): (results: PipelineResults) => void {
    /** Values written by this flush, the count each had when it was encoded, and the HSET's place in `p`. */
    const written: [Value[], number[], number][] = []
    const folds: [TierBucket, number, number][] = []
    let foldBudget = final ? Number.POSITIVE_INFINITY : FOLDS_PER_FLUSH
    for (const b of this.buckets.values()) {
      // 10 s buckets are closed by sync(); coarse ones here, once their last 10 s bucket has been rolled up.
      if (b.state === 'open' && b.tier !== TIER_10S && (final || nowMs >= b.start + b.tier.bucketMs + COARSE_CLOSE_GRACE_MS)) {
        b.state = 'closing'
      }
      if (b.state === 'closing' && allWritten(b.series)) {
        // The final value is confirmed in Redis: from now on only the fold remains.
        b.state = 'folding'
        b.toFold = [...b.series.keys()]
        b.foldQuota = Math.max(MIN_FOLDS_PER_BUCKET, Math.ceil(b.toFold.length / this.spreadFlushes))
        b.series.clear()
      }
      const expireAt = String(bucketExpiresAt(b.start, b.tier))
      if (b.state === 'folding') {
        if (foldBudget <= 0) continue
        const n = Math.min(foldBudget, final ? b.toFold.length : b.foldQuota, b.toFold.length)
        foldBudget -= n
        const args: string[] = [expireAt]
        for (let i = 0; i < n; i++) {
          const field = b.toFold[i] as string
          args.push(ownSeriesField(field, this.options.ownTag), field)
        }
        folds.push([b, n, p.length])
        p.eval(FOLD_SERIES_LUA, 1, b.key, ...args)
        continue
      }
      if (b.writeIn > 0) {
        b.writeIn--
        if (!final) continue
      }
      // Every changed series of the bucket, in this flush: no part of a bucket waits for a later one.
      const fields: string[] = []
      const values: Value[] = []
      let bound = 0
      for (const [field, v] of b.series) {
        if (v.count === v.writtenCount) continue
        fields.push(field)
        values.push(v)
        bound += v.maxEncodedLength()
      }
      if (fields.length === 0) continue
      // Counts as encoded now: a live value may grow while the pipeline is in flight.
      written.push([values, values.map((v) => v.count), p.length])
      if (this.prebuiltFrames) (p as unknown as Pipeline).sendCommand(this.frames.hset(b.key, fields, values))
      else {
        // Every value of this HSET packed into one buffer, passed as views: one allocation, not one per field.
        const buf = Buffer.allocUnsafe(bound)
        const args: (string | Buffer)[] = []
        let offset = 0
        for (let i = 0; i < fields.length; i++) {
          const v = values[i] as Value
          const end = v.encodeInto(buf, offset)
          const value = end < 0 ? Buffer.from(encodePacked(v.toPacked())) : buf.subarray(offset, end)
          if (end >= 0) offset = end
          args.push(ownSeriesField(fields[i] as string, this.options.ownTag), value)
        }
        p.hset(b.key, ...(args as [string, Buffer]))
      }
      p.pexpireat(b.key, expireAt)
    }
    const commitCoverage = this.coverage.plan(p, nowMs)
    return (results) => {
      // Answered by Redis (even with some error replies): every frame has left the process, so the arena can be reused.
      this.frames.settled(allAnswered(results))
      commitCoverage(results)
      if (results === null) return
      for (const [values, counts, at] of written) {
        if (!answered(results, at)) continue
        for (let i = 0; i < values.length; i++) (values[i] as Value).writtenCount = counts[i] as number
      }
      for (const [b, n, at] of folds) {
        if (!answered(results, at)) {
          const attempts = (this.foldFailures.get(b) ?? 0) + 1
          this.foldFailures.set(b, attempts)
          if (attempts >= MAX_FOLD_ATTEMPTS && this.buckets.get(b.key) === b) {
            this.buckets.delete(b.key)
            this.foldFailures.delete(b)
          }
          continue
        }
        b.toFold.splice(0, n)
        if (b.toFold.length === 0) {
          this.buckets.delete(b.key)
          this.foldFailures.delete(b)
        }
      }
    }
  }

  /**
   * The not-yet-folding bucket of (tier, start, kind), created when absent; null when it is folding (its final value
   * is in Redis) or was dropped at once by the cap (older than every start it keeps).
   */
  private bucketFor(tier: Tier, start: number, kind: 'req' | 'tot'): TierBucket | null {
    const { keys, service } = this.options
    const key = kind === 'req' ? keys.requestBucket(service, tier.name, start) : keys.requestTotals(service, tier.name, start)
    const existing = this.buckets.get(key)
    if (existing !== undefined) return existing.state === 'folding' ? null : existing
    const b: TierBucket = { tier, start, kind, key, state: 'open', series: new Map(), live: false, writeIn: 0, toFold: [], foldQuota: 0 }
    this.buckets.set(key, b)
    this.enforceCap(tier)
    return this.buckets.get(key) === b ? b : null
  }

  /**
   * Keeps the buckets of at most maxBufferedBuckets starts of a tier holding data in memory (Redis away), dropping
   * the oldest starts — routes and total together, so they stay in step. A dropped start whose routes held requests
   * counts in `droppedBuckets`; a live one is released from the recorder at the end of the sync.
   */
  private enforceCap(tier: Tier): void {
    const starts = new Set<number>()
    for (const b of this.buckets.values()) if (b.tier === tier && b.state !== 'folding') starts.add(b.start)
    const excess = starts.size - this.maxBufferedBuckets
    if (excess <= 0) return
    const { keys, service } = this.options
    for (const start of [...starts].sort((a, b) => a - b).slice(0, excess)) {
      for (const key of [keys.requestBucket(service, tier.name, start), keys.requestTotals(service, tier.name, start)]) {
        const b = this.buckets.get(key)
        if (b === undefined || b.state === 'folding') continue
        this.buckets.delete(key)
        if (b.kind === 'req' && b.series.size > 0) this.droppedBuckets++
        if (b.live) this.releasing.add(start)
      }
    }
  }
}

/** ` (overflow)`: how the field of a method's overflow series ends (`<METHOD> (overflow)`, as in the 10 s tier). */
const OVERFLOW_SUFFIX = ' ' + OVERFLOW_ROUTE

/** The overflow field of a series field's method (`GET /a` → `GET (overflow)`; the method never holds a space). */
function overflowField(field: string): string {
  const space = field.indexOf(' ')
  return (space < 0 ? field : field.slice(0, space)) + OVERFLOW_SUFFIX
}

/** True for a method's overflow field (`GET (overflow)`), whether the 10 s tier or a coarse one put it there. */
function isOverflowField(field: string): boolean {
  return field.endsWith(OVERFLOW_SUFFIX) && field.indexOf(' ') === field.length - OVERFLOW_SUFFIX.length
}

/** An empty service total that still needs its one write (presence, see the module comment). */
function emptyTotal(): SeriesAccumulator {
  const acc = new SeriesAccumulator()
  acc.writtenCount = NEVER_WRITTEN
  return acc
}

/** FNV-1a (32 bits) of `text`'s UTF-16 code units: a cheap, stable spread of process tags over [0, 2^32). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}
