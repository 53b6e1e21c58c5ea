/**
 * Reads request series: a service's time series (from the small per-bucket totals hashes), one route's time series
 * (HSCAN MATCH on the per-route hashes, so only that route's fields travel), and the endpoints table (every route,
 * totals over a window, sorted and filtered here so the client gets one page).
 *
 * Every bucket hash may hold a shared field and, while the bucket is open or an instance died before folding,
 * own fields (`<series>\t<instance tag>`): readers add them all up (docs/decisions/006).
 */
import type { Redis } from 'ioredis'
import { TOTAL_FIELD, parseSeriesField, seriesField, type KeySpace } from '../../../shared/keys'
import type { SeriesPoint, SeriesStats } from '../../../shared/schemas'
import { decodePacked, type PackedSeries } from '../../../shared/seriesCodec'
import type { Tier } from '../../../shared/timeBuckets'
import { SettledBucketCache } from './bucketCache'
import { emptyPacked, mergePackedInto, packedPercentiles } from './packedSeries'
import { chartedBucketCount, readEach, windowBuckets, type WindowBuckets } from './windowRead'

/** Decoded totals of settled buckets, shared by every request of this process (see bucketCache.ts). */
const settledTotals = new SettledBucketCache()

const PS = [50, 95, 99] as const

/**
 * Stats of a merged packed value over a duration (s): the same `SeriesStats` the overview shows. Percentiles in one
 * pass over the packed bucket run.
 */
export function statsOf(v: PackedSeries, seconds: number): SeriesStats {
  const count = v[1] ?? 0
  const [p50Ms = null, p95Ms = null, p99Ms = null] = packedPercentiles(v, PS)
  return {
    requests: count,
    throughputRps: count / Math.max(seconds, 1e-3),
    errorRate: count > 0 ? (v[2] ?? 0) / count : 0,
    p50Ms,
    p95Ms,
    p99Ms,
  }
}

/** Adds one stored value into `into`; a corrupt field is skipped, not fatal. */
function addBytes(into: PackedSeries, bytes: Buffer): void {
  try {
    mergePackedInto(into, decodePacked(bytes))
  } catch {
    // skip a corrupt or foreign field
  }
}

/** Decodes and adds every field of a bucket hash into one packed value (a closed totals bucket has one field:
 * its decoded array is used as is, no copy). */
export function foldAll(hash: Record<string, Buffer>): PackedSeries {
  const values = Object.values(hash)
  if (values.length === 1) {
    try {
      return decodePacked(values[0] as Buffer)
    } catch {
      return emptyPacked()
    }
  }
  const into = emptyPacked()
  for (const value of values) addBytes(into, value)
  return into
}

/** Rounds to `digits` significant digits (response size: full doubles carry noise, not information). */
function sig(x: number, digits: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(digits))
}

/** Latencies rounded to 0.01 ms: 100× finer than the histogram's 1% relative accuracy above 1 ms. */
function ms(x: number | null): number | null {
  return x === null ? null : Math.round(x * 100) / 100
}

/** A time series: the tier used and one point per bucket, oldest first, plus the window's totals. */
export interface ServiceSeries {
  tier: string
  bucketMs: number
  points: SeriesPoint[]
  total: SeriesStats
}

function point(t: number, v: PackedSeries, tier: Tier, nowMs: number): SeriesPoint {
  const seconds = Math.max(1, Math.min(tier.bucketMs, nowMs - t)) / 1000
  const s = statsOf(v, seconds)
  return { t, throughputRps: sig(s.throughputRps, 4), errorRate: sig(s.errorRate, 4), p50Ms: ms(s.p50Ms), p95Ms: ms(s.p95Ms), p99Ms: ms(s.p99Ms) }
}

/** Totals of a window: rates over the part of the window that has data (a service that started 10 s ago is not
 * diluted over the whole window). */
function windowTotal(values: PackedSeries[], starts: number[], nowMs: number): SeriesStats {
  const total = emptyPacked()
  for (const v of values) mergePackedInto(total, v)
  const first = values.findIndex((v) => (v[1] ?? 0) > 0)
  const coveredS = Math.max(1, nowMs - (starts[Math.max(0, first)] ?? nowMs)) / 1000
  return statsOf(total, coveredS)
}

/**
 * The series of a window: one point per bucket (`values[i]` is bucket `starts[i]`'s merged value) but a young open
 * one (`chartedBucketCount`), and the totals over every bucket.
 */
function seriesOf(w: WindowBuckets, values: PackedSeries[], nowMs: number): ServiceSeries {
  const { tier, starts } = w
  return {
    tier: tier.name,
    bucketMs: tier.bucketMs,
    points: starts.slice(0, chartedBucketCount(w, nowMs)).map((t, i) => point(t, values[i] as PackedSeries, tier, nowMs)),
    total: windowTotal(values, starts, nowMs),
  }
}

/**
 * A service's series over `[nowMs - windowMs, nowMs]` in the finest tier giving ≤ `maxPoints` buckets, read from
 * the totals hashes (one small HGETALL per bucket, one pipeline).
 */
export async function readServiceSeries(
  redis: Redis,
  keys: KeySpace,
  service: string,
  nowMs: number,
  windowMs: number,
  maxPoints = 1000,
): Promise<ServiceSeries> {
  const w = windowBuckets(nowMs, windowMs, maxPoints)
  const keyOf = (t: number) => keys.requestTotals(service, w.tier.name, t)
  // Settled buckets come from the cache; only the others (the last minute or so, or cache misses) are read.
  const values: (PackedSeries | undefined)[] = w.starts.map((t) => settledTotals.get(keyOf(t), nowMs))
  const missing = w.starts.flatMap((t, i) => (values[i] === undefined ? [i] : []))
  const hashes = await readEach(redis, missing, (p, i) => p.hgetallBuffer(keyOf(w.starts[i] as number)), {} as Record<string, Buffer>)
  missing.forEach((i, j) => {
    const t = w.starts[i] as number
    const v = foldAll(hashes[j] as Record<string, Buffer>)
    values[i] = v
    if (SettledBucketCache.isSettled(t, w.tier.bucketMs, nowMs)) settledTotals.set(keyOf(t), v, nowMs)
  })
  return seriesOf(w, values as PackedSeries[], nowMs)
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
  redis: Redis,
  keys: KeySpace,
  service: string,
  method: string,
  route: string,
  nowMs: number,
  windowMs: number,
  maxPoints = 1000,
): Promise<ServiceSeries> {
  const w = windowBuckets(nowMs, windowMs, maxPoints)
  const pattern = `${globEscape(seriesField(method, route))}*`
  // COUNT far above any bucket's field count: one HSCAN call walks the whole hash (server-side), cursor 0 back.
  const replies = await readEach(
    redis,
    w.starts,
    (p, t) => p.hscanBuffer(keys.requestBucket(service, w.tier.name, t), 0, 'MATCH', pattern, 'COUNT', 100_000),
    [Buffer.from('0'), []] as [Buffer, Buffer[]],
  )
  const values = replies.map(([, flat]) => {
    const v = emptyPacked()
    for (let j = 0; j + 1 < flat.length; j += 2) {
      const parsed = parseSeriesField((flat[j] as Buffer).toString())
      if (parsed === null || parsed.method !== method || parsed.route !== route) continue // prefix of a longer route
      addBytes(v, flat[j + 1] as Buffer)
    }
    return v
  })
  return seriesOf(w, values, nowMs)
}

/** One row of the endpoints table. */
export interface EndpointRow extends SeriesStats {
  method: string
  route: string
  /** Responses per status class, 1xx … 5xx. */
  statusCounts: [number, number, number, number, number]
}

/** Sortable columns of the endpoints table. */
export const ENDPOINT_SORT_KEYS = ['route', 'requests', 'throughputRps', 'errorRate', 'p50Ms', 'p95Ms', 'p99Ms'] as const
export type EndpointSortKey = (typeof ENDPOINT_SORT_KEYS)[number]

/** Query of the endpoints table. `filter` matches route or method, case-insensitively. */
export interface EndpointQuery {
  service: string
  windowMs: number
  sortBy: EndpointSortKey
  descending: boolean
  filter?: string
  offset: number
  limit: number
}

/**
 * The endpoints table: every (method, route) of a service with its totals over the window, filtered, sorted and
 * paged. Reads the tier giving ≤ 60 buckets for the window (totals need no time resolution).
 */
export async function readEndpoints(
  redis: Redis,
  keys: KeySpace,
  q: EndpointQuery,
  nowMs: number,
): Promise<{ tier: string; total: number; rows: EndpointRow[] }> {
  const { tier, starts } = windowBuckets(nowMs, q.windowMs, 60)
  const hashes = await readEach(redis, starts, (p, t) => p.hgetallBuffer(keys.requestBucket(q.service, tier.name, t)), {} as Record<string, Buffer>)
  const bySeries = new Map<string, { method: string; route: string; value: PackedSeries; first: number }>()
  hashes.forEach((hash, i) => {
    for (const [name, bytes] of Object.entries(hash)) {
      const parsed = parseSeriesField(name)
      if (parsed === null || parsed.method === TOTAL_FIELD) continue
      const key = seriesField(parsed.method, parsed.route)
      let row = bySeries.get(key)
      if (row === undefined) bySeries.set(key, (row = { method: parsed.method, route: parsed.route, value: emptyPacked(), first: i }))
      addBytes(row.value, bytes)
    }
  })
  const needle = q.filter?.trim().toLowerCase()
  let rows: EndpointRow[] = []
  for (const r of bySeries.values()) {
    if (needle && !`${r.method} ${r.route}`.toLowerCase().includes(needle)) continue
    const coveredS = Math.max(1, nowMs - (starts[r.first] ?? nowMs)) / 1000
    const v = r.value
    rows.push({ method: r.method, route: r.route, statusCounts: [v[4] ?? 0, v[5] ?? 0, v[6] ?? 0, v[7] ?? 0, v[8] ?? 0], ...statsOf(v, coveredS) })
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
  return { tier: tier.name, total, rows }
}
