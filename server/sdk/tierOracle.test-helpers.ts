/**
 * An exact oracle of what the SDK must leave in Redis for every tier: each recorded request is added to its route
 * series and to the service total of its 10 s, 1 min and 1 h bucket, the way the recorder aggregates it (same
 * histogram index, duration sum in whole µs). Plus the reader that merges a stored bucket hash (own and shared
 * fields) back into values to compare with. Tests only.
 */
import type { RedisClient } from './redisTopology'
import { recordValue } from '../../shared/histogram'
import { TOTAL_FIELD, createKeySpace, seriesField } from '../../shared/keys'
import { TIERS, bucketStart, type Tier } from '../../shared/timeBuckets'
import { statusClassIndex } from './requestMetrics'
import { decodeSeries, emptySeries, mergeSeriesInto, type SeriesValue } from './seriesOracle.test-helpers'

/** `req` (route series) or `tot` (service total) hashes. */
export type BucketKind = 'req' | 'tot'

/** A series value as plain data, for `toEqual`: the histogram as its dense count array. */
export interface ComparableSeries {
  count: number
  errors: number
  sumUs: number
  statusCounts: number[]
  histogram: number[]
}

/** `v` as plain data (absent: an empty value). */
export function comparable(v: SeriesValue | undefined): ComparableSeries {
  const s = v ?? emptySeries()
  return { count: s.count, errors: s.errors, sumUs: s.sumUs, statusCounts: [...s.statusCounts], histogram: Array.from(s.histogram.counts) }
}

/** Every request a test recorded, per tier, bucket start and series (`<METHOD> <route>`, or TOTAL_FIELD). */
export class TierOracle {
  /** `<tier>:<start>` → series field → value. */
  private readonly buckets = new Map<string, Map<string, SeriesValue>>()
  /** Requests recorded. */
  requests = 0

  /** Adds one request, ending at `atMs` (epoch ms), as `collector.recordRequest` would record it. */
  record(atMs: number, method: string, route: string, status: number, durationMs: number, isError = status >= 500): void {
    this.requests++
    for (const tier of TIERS) {
      const key = `${tier.name}:${bucketStart(atMs, tier.bucketMs)}`
      let bucket = this.buckets.get(key)
      if (bucket === undefined) this.buckets.set(key, (bucket = new Map()))
      for (const field of [seriesField(method, route), TOTAL_FIELD]) {
        let v = bucket.get(field)
        if (v === undefined) bucket.set(field, (v = emptySeries()))
        v.count++
        if (isError) v.errors++
        v.sumUs += durationMs > 0 ? Math.round(durationMs * 1000) : 0
        v.statusCounts[statusClassIndex(status)]++
        recordValue(v.histogram, durationMs)
      }
    }
  }

  /** The route series (`req`) or the total (`tot`, one field) expected in a bucket; empty when nothing was recorded. */
  expected(kind: BucketKind, tier: Tier, start: number): Record<string, ComparableSeries> {
    const out: Record<string, ComparableSeries> = {}
    for (const [field, v] of this.buckets.get(`${tier.name}:${start}`) ?? []) {
      if ((field === TOTAL_FIELD) === (kind === 'tot')) out[field] = comparable(v)
    }
    return out
  }

  /** Starts of the buckets of `tier` that hold recorded requests, ascending. */
  starts(tier: Tier): number[] {
    const prefix = `${tier.name}:`
    return [...this.buckets.keys()].filter((k) => k.startsWith(prefix)).map((k) => Number(k.slice(prefix.length))).sort((a, b) => a - b)
  }
}

/** One stored bucket hash: its raw field names, and its values merged per series (own and shared fields added). */
export interface StoredBucket {
  exists: boolean
  fields: string[]
  series: Record<string, ComparableSeries>
}

/** Reads the `req` or `tot` hash of service `shop` for (tier, start) under `prefix`. */
export async function readBucket(redis: RedisClient, prefix: string, kind: BucketKind, tier: Tier, start: number): Promise<StoredBucket> {
  const keys = createKeySpace(prefix)
  const key = kind === 'req' ? keys.requestBucket('shop', tier.name, start) : keys.requestTotals('shop', tier.name, start)
  const hash = await redis.hgetallBuffer(key)
  const merged = new Map<string, SeriesValue>()
  for (const [field, bytes] of Object.entries(hash)) {
    const series = field.split('\t')[0] as string
    merged.set(series, mergeSeriesInto(merged.get(series) ?? emptySeries(), decodeSeries(bytes)))
  }
  return {
    exists: (await redis.exists(key)) === 1,
    fields: Object.keys(hash).sort(),
    series: Object.fromEntries([...merged].map(([f, v]) => [f, comparable(v)])),
  }
}

/** The sum of every route series of a stored `req` bucket, as a total. */
export function sumOfRoutes(b: StoredBucket): ComparableSeries {
  const sum = comparable(undefined)
  for (const v of Object.values(b.series)) {
    sum.count += v.count
    sum.errors += v.errors
    sum.sumUs += v.sumUs
    v.statusCounts.forEach((n, i) => (sum.statusCounts[i] = (sum.statusCounts[i] ?? 0) + n))
    v.histogram.forEach((n, i) => (sum.histogram[i] = (sum.histogram[i] ?? 0) + n))
  }
  return sum
}
