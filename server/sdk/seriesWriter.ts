/**
 * Writes request series to Redis (docs/decisions/006, amended by 009): per tier, each instance keeps the cumulative value of every
 * series for the open bucket and overwrites its own field with it (one multi-field HSET per key — idempotent, so a
 * retried flush never double-counts); once a bucket has closed and its final value is confirmed written, the
 * instance folds its own fields into the shared ones with FOLD_SERIES_LUA, a bounded number per flush.
 *
 * The open 10 s buckets' values are the recorder's own cumulative aggregates (requestMetrics.ts), encoded as they
 * are; a series is written when its count changed since its last confirmed write. When a 10 s bucket closes, its
 * values are copied into compact accumulators, released from the recorder, and rolled up into the 1 min and 1 h
 * buckets (one merge per series per 10 s instead of two per flush), so the coarse tiers trail by ~12 s.
 * Writes per flush: the 10 s tier every flush; the 1 min tier a tenth of its series per flush and the 1 h tier a
 * sixtieth (staggered by a hash of the field), so flush cost stays flat. Memory: one packed array per series per
 * open tier bucket; buckets that cannot be written (Redis away) are capped, the oldest dropped and counted.
 */
import { Command, type ChainableCommander, type Pipeline } from 'ioredis'
import { TOTAL_FIELD, ownSeriesField, type KeySpace } from '../../shared/keys'
import { TIERS, TIER_10S, bucketExpiresAt, bucketStart, type Tier } from '../../shared/timeBuckets'
import { FOLD_SERIES_LUA } from './mergeScript'
import type { RequestMetrics, SeriesAggregate } from './requestMetrics'
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
 * Flushes over which a tier's series writes are spread. Coarse tiers change only when a 10 s bucket rolls up (every
 * 10 s), so writing each of their series once per 10 (1 min tier) or 60 (1 h tier) flushes loses nothing but
 * freshness of at most that many seconds, and keeps every flush's encoding work flat.
 */
const CADENCE: Record<string, number> = { '10s': 1, '1m': 10, '1h': 60 }

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
  /** Shared fields whose own field still has to be folded (state `folding`). */
  toFold: string[]
  /** Stagger slot of each field (coarse tiers), computed once. */
  slots: Map<string, number>
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
  /** Buckets holding unwritten data kept per tier while Redis is away, the open one included (oldest dropped
   * beyond); default 60 (10 min of the 10 s tier). */
  maxBufferedBuckets?: number
  /**
   * Send each HSET as one RESP frame built here (default true): the values are encoded straight into the frame and
   * ioredis writes it as is, instead of converting 2,000 arguments. Must be false when the client has a
   * `keyPrefix` (ioredis would not apply it to a prebuilt frame).
   */
  prebuiltFrames?: boolean
}

/**
 * A command whose RESP frame was built by the caller; ioredis queues and answers it like any other (its one
 * argument, the key, serves slot and key lookups), but writes `frame` as is (ioredis `Command.toWritable`).
 */
class PrebuiltCommand extends Command {
  constructor(name: string, key: string, private readonly frame: Buffer) {
    super(name, [key])
  }

  override toWritable(): Buffer {
    return this.frame
  }
}

const CRLF_0 = 0x0d
const CRLF_1 = 0x0a
/** Longest `$<len>\r\n` of a packed value: values stay under 100,000 bytes (`maxEncodedLength` ≤ ~10 KB). */
const VALUE_HEADER_MAX = 8

/** Writes a RESP header (`*<n>\r\n` or `$<n>\r\n`) at `o`; returns the end offset. */
function writeRespHeader(out: Buffer, o: number, type: 0x2a | 0x24, n: number): number {
  out[o++] = type
  o += out.write(String(n), o, 'latin1')
  out[o++] = CRLF_0
  out[o++] = CRLF_1
  return o
}


/** True when every value's last confirmed write has its current count. */
function allWritten(series: Map<string, Value>): boolean {
  for (const v of series.values()) if (v.count !== v.writtenCount) return false
  return true
}

/** djb2 string hash, for staggering a tier's writes over flushes. */
function slotOf(field: string, cadence: number): number {
  let h = 5381
  for (let i = 0; i < field.length; i++) h = ((h << 5) + h + field.charCodeAt(i)) | 0
  return (h >>> 0) % cadence
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

  private readonly prebuiltFrames: boolean
  private readonly fieldHeads = new Map<string, Buffer>()
  /** Where HSET frames are built (see `reserve`), and the bytes of it used by the flush being planned. */
  private arena = Buffer.allocUnsafe(64 * 1024)
  private arenaUsed = 0

  constructor(private readonly options: SeriesWriterOptions) {
    this.maxBufferedBuckets = options.maxBufferedBuckets ?? 60
    this.prebuiltFrames = options.prebuiltFrames ?? true
  }

  /**
   * Adopts the recorder's new 10 s buckets and closes those whose time has passed (all of them when `final`): their
   * values are copied into accumulators, rolled up into the coarse tiers and released from the recorder. Runs every
   * flush, connected or not, so the recorder only ever holds the open buckets.
   */
  sync(nowMs: number, final = false): void {
    const recorder = this.options.recorder
    for (const rb of [...recorder.buckets()]) {
      const b = this.buckets.get(this.options.keys.requestBucket(this.options.service, TIER_10S.name, rb.start))
      if (b === undefined) {
        const req = this.bucketFor(TIER_10S, rb.start, 'req')
        const tot = this.bucketFor(TIER_10S, rb.start, 'tot')
        if (req === null || tot === null || !this.buckets.has(req.key) || !this.buckets.has(tot.key)) {
          // Older than every bucket the cap keeps (or already folding): dropped.
          this.droppedLateRequests += rb.total.count
          recorder.release(rb.start)
          continue
        }
        req.series = rb.series
        req.live = true
        tot.series = new Map<string, Value>([[TOTAL_FIELD, rb.total]])
        tot.live = true
      } else if (!b.live || b.series !== rb.series) {
        // Requests for a bucket already closed here (the clock went back): dropped.
        this.droppedLateRequests += rb.total.count
        recorder.release(rb.start)
      }
    }
    for (const b of [...this.buckets.values()]) {
      if (!b.live || !(final || nowMs >= b.start + b.tier.bucketMs + CLOSE_GRACE_MS)) continue
      const copy = new Map<string, Value>()
      for (const [field, v] of b.series) {
        const acc = new SeriesAccumulator().addDelta(v as SeriesAggregate)
        acc.writtenCount = v.writtenCount
        copy.set(field, acc)
      }
      b.series = copy
      b.live = false
      b.state = 'closing'
      this.rollUp(b)
      if (b.kind === 'req') recorder.release(b.start)
    }
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
      for (const [field, v] of b.series) {
        let current = into.series.get(field) as SeriesAccumulator | undefined
        if (current === undefined) into.series.set(field, (current = new SeriesAccumulator()))
        current.addAccumulator(v as SeriesAccumulator)
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
    /** Values written by this flush and the count each had when it was encoded. */
    const written: [Value[], number[]][] = []
    const folds: [TierBucket, number][] = []
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
      const values: Value[] = []
      let bound = 0
      for (const [field, v] of b.series) {
        if (v.count === v.writtenCount) continue
        if (cadence > 1) {
          let s = b.slots.get(field)
          if (s === undefined) {
            s = slotOf(field, cadence)
            b.slots.set(field, s)
          }
          if (s !== slot) continue
        }
        fields.push(field)
        values.push(v)
        bound += v.maxEncodedLength()
      }
      if (fields.length === 0) continue
      // Counts as encoded now: a live value may grow while the pipeline is in flight.
      written.push([values, values.map((v) => v.count)])
      if (this.prebuiltFrames) (p as unknown as Pipeline).sendCommand(this.hsetFrame(b.key, fields, values))
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
    return (ok) => {
      if (!ok) {
        // Frames of this flush may still sit in the socket's buffer: never write over them.
        if (this.arenaUsed > 0) this.arena = Buffer.allocUnsafe(this.arena.length)
        this.arenaUsed = 0
        return
      }
      this.arenaUsed = 0
      for (const [values, counts] of written) for (let i = 0; i < values.length; i++) (values[i] as Value).writtenCount = counts[i] as number
      for (const [b, n] of folds) {
        b.toFold.splice(0, n)
        if (b.toFold.length === 0) this.buckets.delete(b.key)
      }
    }
  }

  /**
   * `HSET <key> <own field> <value> …` for `fields` of bucket `b` as one RESP frame, written into the arena (values
   * encoded in place, no per-value allocation).
   */
  private hsetFrame(key: string, fields: string[], values: Value[]): PrebuiltCommand {
    const keyLen = Buffer.byteLength(key)
    let start = this.reserve(0, 0, 32 + keyLen)
    let o = writeRespHeader(this.arena, start, 0x2a, 2 + 2 * fields.length)
    o += this.arena.write('$4\r\nHSET\r\n', o, 'latin1')
    o = writeRespHeader(this.arena, o, 0x24, keyLen)
    o += this.arena.write(key, o, 'utf8')
    this.arena[o++] = CRLF_0
    this.arena[o++] = CRLF_1
    for (let i = 0; i < fields.length; i++) {
      const head = this.fieldHead(fields[i] as string)
      const acc = values[i] as Value
      const need = head.length + VALUE_HEADER_MAX + acc.maxEncodedLength() + 2
      if (this.arena.length - o < need) {
        const moved = this.reserve(start, o, need)
        o = moved + (o - start)
        start = moved
      }
      const arena = this.arena
      o += head.copy(arena, o)
      // Encode after room for the longest header, then close the gap once the length is known.
      const at = o + VALUE_HEADER_MAX
      let end = acc.encodeInto(arena, at)
      if (end < 0) {
        const bytes = encodePacked(acc.toPacked())
        arena.set(bytes, at)
        end = at + bytes.length
      }
      const len = end - at
      o = writeRespHeader(arena, o, 0x24, len)
      if (o !== at) arena.copyWithin(o, at, end)
      o += len
      arena[o++] = CRLF_0
      arena[o++] = CRLF_1
    }
    this.arenaUsed = o
    return new PrebuiltCommand('hset', key, this.arena.subarray(start, o))
  }

  /**
   * Makes room for `need` more bytes after the frame being built at `[start, end)` of the arena and returns the
   * frame's (possibly new) start. The arena is reused from flush to flush once the previous flush was answered
   * (so every frame written from it has left the process); otherwise, or when it is too small, a new one is taken
   * and the partial frame copied over.
   */
  private reserve(start: number, end: number, need: number): number {
    if (end === 0 && start === 0) {
      // A new frame: starts where the previous frame of this flush ended.
      if (this.arena.length - this.arenaUsed >= need) return this.arenaUsed
      this.arena = Buffer.allocUnsafe(Math.max(need, this.arena.length * 2))
      this.arenaUsed = 0
      return 0
    }
    const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, end - start + need))
    this.arena.copy(next, 0, start, end)
    this.arena = next
    return 0
  }

  /** `$<len>\r\n<own field>\r\n` of a series (cached; the cache is dropped when it outgrows 4× a normal size). */
  private fieldHead(field: string): Buffer {
    let head = this.fieldHeads.get(field)
    if (head === undefined) {
      if (this.fieldHeads.size >= 20_000) this.fieldHeads.clear()
      const name = Buffer.from(ownSeriesField(field, this.options.ownTag), 'utf8')
      head = Buffer.concat([Buffer.from(`$${name.length}\r\n`, 'latin1'), name, Buffer.from('\r\n', 'latin1')])
      this.fieldHeads.set(field, head)
    }
    return head
  }

  private bucketFor(tier: Tier, start: number, kind: 'req' | 'tot'): TierBucket | null {
    const { keys, service } = this.options
    const key = kind === 'req' ? keys.requestBucket(service, tier.name, start) : keys.requestTotals(service, tier.name, start)
    const existing = this.buckets.get(key)
    if (existing !== undefined) return existing.state === 'folding' ? null : existing
    const b: TierBucket = { tier, start, kind, key, state: 'open', series: new Map(), live: false, toFold: [], slots: new Map() }
    this.buckets.set(key, b)
    this.enforceCap(tier, kind)
    return b
  }

  /** Keeps at most maxBufferedBuckets unwritten closed buckets of a tier (Redis away), dropping the oldest. */
  private enforceCap(tier: Tier, kind: 'req' | 'tot'): void {
    // Buckets of the tier still holding data in memory (the open one included): at most maxBufferedBuckets.
    const closedUnwritten = [...this.buckets.values()].filter((b) => b.tier === tier && b.kind === kind && b.state !== 'folding')
    const excess = closedUnwritten.length - this.maxBufferedBuckets
    if (excess <= 0) return
    closedUnwritten.sort((a, b) => a.start - b.start)
    for (const b of closedUnwritten.slice(0, excess)) {
      this.buckets.delete(b.key)
      if (kind === 'req') this.droppedBuckets++
      if (b.live && kind === 'req') this.options.recorder.release(b.start)
    }
  }
}
