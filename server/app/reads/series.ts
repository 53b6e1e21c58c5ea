/**
 * Reads request series: a service's time series (from the small per-bucket totals hashes), one route's time series
 * (HSCAN MATCH on the per-route hashes, so only that route's fields travel), and the endpoints table (every route,
 * totals over a window, sorted and filtered here so the client gets one page).
 *
 * Every bucket hash may hold a shared field and, while the bucket is open or an instance died before folding,
 * own fields (`<series>\t<instance tag>`): readers add them all up (docs/decisions/006).
 */
import type { RedisClient } from '../../sdk/redisTopology'
import { TOTAL_FIELD, parseSeriesField, seriesField, type KeySpace } from '../../../shared/keys'
import { bucketCoveredMs, errorRate, PERCENTILES, throughputRps } from '../../../shared/figures'
import type { SeriesPoint, SeriesStats } from '../../../shared/schemas'
import { readPacked, type PackedSeries } from '../../../shared/seriesCodec'
import { TIERS, TIER_10S, bucketStart, type Tier } from '../../../shared/timeBuckets'
import { SettledBucketCache } from './bucketCache'
import { emptyPacked, mergePackedInto, packedPercentiles } from './packedSeries'
import { reportInvalidValue } from './redisInput'
import { chartedBucketCount, MAX_POINTS, readEach, windowBuckets, type WindowBuckets } from './windowRead'

/** Decoded totals of settled buckets, shared by every request of this process (see bucketCache.ts). */
const settledTotals = new SettledBucketCache<BucketTotals>()

/** Figures of a merged packed value, given the window's covered span (ms) and first data time; see shared/figures.ts. */
export function statsOf(v: PackedSeries, covered: number, dataSinceMs: number | null): SeriesStats {
  const requests = v[1] ?? 0
  const errors = v[2] ?? 0
  const [p50Ms = null, p95Ms = null, p99Ms = null, p999Ms = null] = packedPercentiles(v, PERCENTILES)
  return {
    requests,
    errors,
    throughputRps: throughputRps(requests, covered),
    errorRate: errorRate(errors, requests),
    p50Ms,
    p95Ms,
    p99Ms,
    p999Ms,
    coveredMs: covered,
    dataSinceMs,
  }
}

/**
 * The packed value stored in `field` of hash `key`, or null when `readPacked` refuses it (Redis is an input: the
 * field is skipped, counted as `series_value` and logged once per key, docs/decisions/014). Bounded work and memory
 * whatever the bytes.
 */
function readField(key: string, field: string, bytes: Buffer): PackedSeries | null {
  const r = readPacked(bytes)
  if (r.ok) return r.value
  reportInvalidValue('series_value', key, `field ${JSON.stringify(field)}: ${r.error}`)
  return null
}

/** Adds the value of `field` of hash `key` into `into`; a corrupt field is skipped (see `readField`). */
function addBytes(into: PackedSeries, key: string, field: string, bytes: Buffer): void {
  const v = readField(key, field, bytes)
  if (v !== null) mergePackedInto(into, v)
}

/**
 * Decodes and adds every field of bucket hash `key` into one packed value (a closed totals bucket has one field:
 * its decoded array is used as is, no copy); corrupt fields are skipped (see `readField`). Null when no field could
 * be read (an empty hash, or only corrupt fields): the bucket is then a gap, not a covered bucket with no requests.
 */
export function foldAll(key: string, hash: Record<string, Buffer>): PackedSeries | null {
  const fields = Object.keys(hash)
  if (fields.length === 1) {
    const field = fields[0] as string
    return readField(key, field, hash[field] as Buffer)
  }
  let into: PackedSeries | null = null
  for (const field of fields) {
    const v = readField(key, field, hash[field] as Buffer)
    if (v !== null) mergePackedInto((into ??= emptyPacked()), v)
  }
  return into
}

/** Rounds to `digits` significant digits (response size: full doubles carry noise, not information). */
function sig(x: number | null, digits: number): number | null {
  return x === null || x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits))
}

/** Latencies rounded to 0.01 ms: 100× finer than the histogram's 1% relative accuracy above 1 ms. */
function ms(x: number | null): number | null {
  return x === null ? null : Math.round(x * 100) / 100
}

/** A time series: the tier used and one point per bucket, oldest first, plus the window's totals. */
export interface ServiceSeries extends WindowRead {
  points: SeriesPoint[]
  total: SeriesStats
}

/**
 * The window a read actually covered (echoed in every windowed response): the tier and its bucket width, the first
 * bucket's start and the window's end (`untilMs`; a past window ends at a bucket boundary, see `windowBuckets`), and
 * the server's read time `asOfMs`. Epoch ms.
 */
export interface WindowRead {
  tier: string
  bucketMs: number
  fromMs: number
  untilMs: number
  asOfMs: number
}

/** The `WindowRead` of buckets `w` read at `nowMs`. */
function windowRead(w: WindowBuckets, nowMs: number): WindowRead {
  return { tier: w.tier.name, bucketMs: w.tier.bucketMs, fromMs: w.starts[0] ?? w.endMs, untilMs: w.endMs, asOfMs: nowMs }
}

/**
 * The service totals of one bucket: its merged value (null where no instance flushed it — a gap), how much of it is
 * covered (ms, at `nowMs`) and where its coverage starts (epoch ms; null for a gap).
 */
interface BucketTotals {
  value: PackedSeries | null
  coveredMs: number
  firstMs: number | null
}

/** The service totals of every bucket of a window, oldest first. */
type WindowTotals = BucketTotals[]

/** Width of the sub-buckets a coarse bucket's coverage bitmap counts in (the 10 s tier). */
const SUB_MS = TIER_10S.bucketMs
/**
 * A 10 s sub-bucket's data reaches the coarse tiers this long after its start at most: it closes 2.5 s after its end
 * and is rolled up then, and the coarse bucket is written in the next flush (server/sdk/seriesWriter.ts). Its
 * coverage bit is set as soon as an instance is alive in it, so a younger bit is not counted yet.
 */
export const COARSE_DATA_LAG_MS = 15_000

/**
 * Coverage of bucket `start` of `tier` at `nowMs`. The 10 s tier: the whole bucket (its elapsed part while open)
 * when its totals exist. A coarse tier: each 10 s sub-bucket whose bit is set in the coverage bitmap (bit i, most
 * significant bit first as SETBIT numbers them, = the sub-bucket starting at `start + i·10 s`) once its data can
 * have arrived (`COARSE_DATA_LAG_MS`; the first set bit always counts, as the totals exist); a bucket written before
 * bitmaps existed counts whole.
 */
export function bucketCoverage(tier: Tier, start: number, present: boolean, bitmap: Buffer | null, nowMs: number): { coveredMs: number; firstMs: number | null } {
  if (!present) return { coveredMs: 0, firstMs: null }
  if (tier === TIER_10S || bitmap === null || bitmap.length === 0) return { coveredMs: bucketCoveredMs(start, tier.bucketMs, nowMs), firstMs: start }
  const subs = Math.min(tier.bucketMs / SUB_MS, bitmap.length * 8)
  let coveredMs = 0
  let firstMs: number | null = null
  for (let i = 0; i < subs; i++) {
    if (((bitmap[i >> 3] as number) & (0x80 >> (i & 7))) === 0) continue
    const sub = start + i * SUB_MS
    if (firstMs !== null && sub + COARSE_DATA_LAG_MS > nowMs) break
    coveredMs += bucketCoveredMs(sub, SUB_MS, nowMs)
    firstMs ??= sub
  }
  // Totals without a bit (a bitmap lost on its own): the bucket still has data; count it whole rather than not at all.
  return firstMs === null ? { coveredMs: bucketCoveredMs(start, tier.bucketMs, nowMs), firstMs: start } : { coveredMs, firstMs }
}

/** The point of bucket `t`: a gap when it has no totals, else its figures over its covered part. */
function point(t: number, v: PackedSeries, b: BucketTotals): SeriesPoint {
  if (b.value === null) return { t, noData: true, throughputRps: null, errorRate: null, p50Ms: null, p95Ms: null, p99Ms: null, p999Ms: null }
  const s = statsOf(v, b.coveredMs, b.firstMs)
  return {
    t,
    noData: false,
    throughputRps: sig(s.throughputRps, 4),
    errorRate: sig(s.errorRate, 4),
    p50Ms: ms(s.p50Ms),
    p95Ms: ms(s.p95Ms),
    p99Ms: ms(s.p99Ms),
    p999Ms: ms(s.p999Ms),
  }
}

/** Covered span (ms) and first data time of a window: the sums of its buckets' coverage. */
function coverage(totals: WindowTotals): { covered: number; dataSinceMs: number | null } {
  let covered = 0
  let dataSinceMs: number | null = null
  for (const b of totals) {
    covered += b.coveredMs
    if (b.firstMs !== null) dataSinceMs ??= b.firstMs
  }
  return { covered, dataSinceMs }
}

/**
 * The series of a window: one point per bucket (`values[i]` is bucket `starts[i]`'s merged value) but a young open
 * one (`chartedBucketCount`), and the totals over every bucket. Coverage (gaps, covered span) comes from the
 * service totals, so a route's figures divide by the same span as the service's.
 */
function seriesOf(w: WindowBuckets, values: PackedSeries[], totals: WindowTotals, nowMs: number): ServiceSeries {
  const total = emptyPacked()
  for (const v of values) mergePackedInto(total, v)
  const { covered, dataSinceMs } = coverage(totals)
  return {
    ...windowRead(w, nowMs),
    points: w.starts.slice(0, chartedBucketCount(w, nowMs)).map((t, i) => point(t, values[i] as PackedSeries, totals[i] as BucketTotals)),
    total: statsOf(total, covered, dataSinceMs),
  }
}

/**
 * Reads the service totals of every bucket of `w` — one small HGETALL per bucket, and for a coarse tier the GET of
 * its coverage bitmap (two pipelines, sent together); settled buckets come from the cache (their coverage no longer
 * changes).
 */
async function readTotals(redis: RedisClient, keys: KeySpace, service: string, w: WindowBuckets, nowMs: number): Promise<WindowTotals> {
  const keyOf = (t: number) => keys.requestTotals(service, w.tier.name, t)
  const coarse = w.tier !== TIER_10S
  const out: (BucketTotals | undefined)[] = w.starts.map((t) => settledTotals.get(keyOf(t), nowMs))
  const missing = w.starts.flatMap((t, i) => (out[i] === undefined ? [i] : []))
  const [hashes, bitmaps] = await Promise.all([
    readEach(redis, missing.map((i) => keyOf(w.starts[i] as number)), (p, key) => p.hgetallBuffer(key), {} as Record<string, Buffer>),
    coarse
      ? readEach(redis, missing.map((i) => keys.coverage(service, w.tier.name, w.starts[i] as number)), (p, key) => p.getBuffer(key), null as Buffer | null)
      : [],
  ])
  missing.forEach((i, j) => {
    const t = w.starts[i] as number
    const bitmap = bitmaps[j] ?? null
    const value = foldAll(keyOf(t), hashes[j] as Record<string, Buffer>)
    const b: BucketTotals = { value, ...bucketCoverage(w.tier, t, value !== null, bitmap, nowMs) }
    out[i] = b
    if (SettledBucketCache.isSettled(t, w.tier.bucketMs, nowMs)) settledTotals.set(keyOf(t), b, nowMs)
  })
  return out as WindowTotals
}

/** A window to read: its length and, for an absolute window, its end (epoch ms; default now). */
export interface WindowQuery {
  windowMs: number
  untilMs?: number
}

/**
 * A service's series over the window `[untilMs - windowMs, untilMs]` (tier from `windowBuckets`), read from the
 * totals hashes.
 */
export async function readServiceSeries(redis: RedisClient, keys: KeySpace, service: string, nowMs: number, q: WindowQuery): Promise<ServiceSeries> {
  const w = windowBuckets(nowMs, q.windowMs, MAX_POINTS, q.untilMs)
  const totals = await readTotals(redis, keys, service, w, nowMs)
  return seriesOf(w, totals.map((b) => b.value ?? emptyPacked()), totals, nowMs)
}

/** Escapes Redis glob specials (`* ? [ ] \`) so a route template matches itself in HSCAN MATCH. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => '\\' + c)
}

/**
 * One route's series (method + route template), from the per-route hashes: HSCAN MATCH `<field>` and
 * `<field>\t*` per bucket, so only that series' fields (shared and own) are transferred.
 */
export async function readRouteSeries(
  redis: RedisClient,
  keys: KeySpace,
  service: string,
  method: string,
  route: string,
  nowMs: number,
  q: WindowQuery,
): Promise<ServiceSeries> {
  const w = windowBuckets(nowMs, q.windowMs, MAX_POINTS, q.untilMs)
  const pattern = `${globEscape(seriesField(method, route))}*`
  // COUNT far above any bucket's field count: one HSCAN call walks the whole hash (server-side), cursor 0 back.
  const bucketKeys = w.starts.map((t) => keys.requestBucket(service, w.tier.name, t))
  const [totals, replies] = await Promise.all([
    readTotals(redis, keys, service, w, nowMs),
    readEach(
      redis,
      bucketKeys,
      (p, key) => p.hscanBuffer(key, 0, 'MATCH', pattern, 'COUNT', 100_000),
      [Buffer.from('0'), []] as [Buffer, Buffer[]],
    ),
  ])
  const values = replies.map(([, flat], i) => {
    const v = emptyPacked()
    for (let j = 0; j + 1 < flat.length; j += 2) {
      const field = (flat[j] as Buffer).toString()
      const parsed = parseSeriesField(field)
      if (parsed === null || parsed.method !== method || parsed.route !== route) continue // prefix of a longer route
      addBytes(v, bucketKeys[i] as string, field, flat[j + 1] as Buffer)
    }
    return v
  })
  return seriesOf(w, values, totals, nowMs)
}

/** One row of the endpoints table. */
export interface EndpointRow extends SeriesStats {
  method: string
  route: string
  /** Responses per status class, 1xx … 5xx. */
  statusCounts: [number, number, number, number, number]
}

/** Sortable columns of the endpoints table. */
export const ENDPOINT_SORT_KEYS = ['route', 'requests', 'throughputRps', 'errorRate', 'p50Ms', 'p95Ms', 'p99Ms', 'p999Ms'] as const
export type EndpointSortKey = (typeof ENDPOINT_SORT_KEYS)[number]

/** Query of the endpoints table (a window, see `WindowQuery`). `filter` matches route or method, case-insensitively. */
export interface EndpointQuery extends WindowQuery {
  service: string
  sortBy: EndpointSortKey
  descending: boolean
  filter?: string
  offset: number
  limit: number
}

/** A coarse bucket counts as complete this long after its end: its last 10 s part has been rolled up and written. */
const COARSE_COMPLETE_AFTER_MS = 30_000

/**
 * Which route hashes hold exactly the window's buckets, read cheaply: a run of the window's buckets that makes up a
 * whole bucket of the next coarser tier (6 × 10 s = 1 min, 60 × 1 min = 1 h), complete at `nowMs`, is read as that
 * one coarse bucket — the same requests, rolled up by the SDK — and the rest as they are. A 1 h table reads ~75
 * hashes instead of 361 (every route in each), and adds up to exactly the same figures.
 */
export function routeReadPlan(w: WindowBuckets, nowMs: number): [Tier, number][] {
  const coarser = TIERS[TIERS.indexOf(w.tier) + 1]
  if (coarser === undefined) return w.starts.map((t) => [w.tier, t])
  const per = coarser.bucketMs / w.tier.bucketMs
  const inWindow = new Set(w.starts)
  const out: [Tier, number][] = []
  for (let i = 0; i < w.starts.length; ) {
    const t = w.starts[i] as number
    const c = bucketStart(t, coarser.bucketMs)
    let whole = c === t && c + coarser.bucketMs + COARSE_COMPLETE_AFTER_MS <= nowMs
    for (let k = 1; whole && k < per; k++) whole = inWindow.has(c + k * w.tier.bucketMs)
    if (whole) {
      out.push([coarser, c])
      i += per
    } else {
      out.push([w.tier, t])
      i++
    }
  }
  return out
}

/**
 * The endpoints table: every (method, route) of a service with its totals over the window, filtered, sorted and
 * paged. Reads the same buckets as the service's own figures (`windowBuckets`) and divides by the same covered span,
 * so the rows add up to the service total (overflow included as its own row).
 */
export async function readEndpoints(
  redis: RedisClient,
  keys: KeySpace,
  q: EndpointQuery,
  nowMs: number,
): Promise<WindowRead & { total: number; rows: EndpointRow[]; coveredMs: number; dataSinceMs: number | null }> {
  const w = windowBuckets(nowMs, q.windowMs, MAX_POINTS, q.untilMs)
  const plan = routeReadPlan(w, nowMs)
  const bucketKeys = plan.map(([tier, t]) => keys.requestBucket(q.service, tier.name, t))
  const [totals, hashes] = await Promise.all([
    readTotals(redis, keys, q.service, w, nowMs),
    readEach(redis, bucketKeys, (p, key) => p.hgetallBuffer(key), {} as Record<string, Buffer>),
  ])
  const { covered, dataSinceMs } = coverage(totals)
  const bySeries = new Map<string, { method: string; route: string; value: PackedSeries }>()
  for (const [i, hash] of hashes.entries()) {
    for (const [name, bytes] of Object.entries(hash)) {
      const parsed = parseSeriesField(name)
      if (parsed === null || parsed.method === TOTAL_FIELD) continue
      const key = seriesField(parsed.method, parsed.route)
      let row = bySeries.get(key)
      if (row === undefined) bySeries.set(key, (row = { method: parsed.method, route: parsed.route, value: emptyPacked() }))
      addBytes(row.value, bucketKeys[i] as string, name, bytes)
    }
  }
  const needle = q.filter?.trim().toLowerCase()
  let rows: EndpointRow[] = []
  for (const r of bySeries.values()) {
    if (needle && !`${r.method} ${r.route}`.toLowerCase().includes(needle)) continue
    const v = r.value
    rows.push({ method: r.method, route: r.route, statusCounts: [v[4] ?? 0, v[5] ?? 0, v[6] ?? 0, v[7] ?? 0, v[8] ?? 0], ...statsOf(v, covered, dataSinceMs) })
  }
  const dir = q.descending ? -1 : 1
  rows.sort((a, b) => {
    if (q.sortBy === 'route') return dir * (a.route.localeCompare(b.route) || a.method.localeCompare(b.method))
    const x = a[q.sortBy] ?? -1
    const y = b[q.sortBy] ?? -1
    return dir * (x - y) || a.route.localeCompare(b.route)
  })
  const total = rows.length
  rows = rows.slice(q.offset, q.offset + q.limit)
  return { ...windowRead(w, nowMs), total, rows, coveredMs: covered, dataSinceMs }
}
