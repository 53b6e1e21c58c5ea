/**
 * Topic 3 — percentile accuracy on 1,000,000 samples: Fusebox's log-bucketed histogram (shared/histogram.ts) vs
 * prom-client with its DEFAULT buckets, read the way Prometheus' `histogram_quantile` reads them (linear
 * interpolation inside the cumulative bucket that holds the rank), vs hdr-histogram-js at 2 significant digits.
 * "Exact" is the rank-floor(q·(n−1)) value of the sorted sample, the definition shared/histogram.ts documents.
 */
import * as hdr from 'hdr-histogram-js'
import { Histogram as PromHistogram, Registry } from 'prom-client'
import { createHistogram, percentile, recordValue } from '../shared/histogram'
import { bimodalSamples, lognormalSamples } from './samples'
import { fmt, relErrorPct } from './stats'
import { verdict, type Table } from './table'

const N = 1_000_000
const PERCENTILES = [50, 95, 99, 99.9] as const

/** Prometheus' histogram_quantile over cumulative buckets `[le, cumulativeCount]` sorted by le, +Inf last. */
export function histogramQuantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number {
  const total = buckets.at(-1)?.[1] ?? 0
  if (total === 0) return Number.NaN
  const rank = q * total
  let i = buckets.findIndex(([, cum]) => cum >= rank)
  if (i < 0) i = buckets.length - 1
  const [le, cum] = buckets[i]!
  // Rank in the +Inf bucket: Prometheus answers the highest finite upper bound.
  if (le === Number.POSITIVE_INFINITY) return buckets[buckets.length - 2]?.[0] ?? Number.NaN
  const start = i === 0 ? 0 : buckets[i - 1]![0]
  const before = i === 0 ? 0 : buckets[i - 1]![1]
  const inBucket = cum - before
  return inBucket === 0 ? le : start + (le - start) * ((rank - before) / inBucket)
}

async function promPercentilesMs(samples: Float64Array): Promise<number[]> {
  const registry = new Registry()
  const h = new PromHistogram({ name: 'latency_seconds', help: 'latency', registers: [registry] }) // default buckets
  for (let i = 0; i < samples.length; i++) h.observe(samples[i]! / 1000)
  const metric = await h.get()
  const buckets = metric.values
    .filter((v) => v.metricName === 'latency_seconds_bucket')
    .map((v) => [v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value] as const)
    .sort((a, b) => a[0] - b[0])
  return PERCENTILES.map((p) => histogramQuantile(p / 100, buckets) * 1000)
}

function fuseboxPercentilesMs(samples: Float64Array): number[] {
  const h = createHistogram()
  for (let i = 0; i < samples.length; i++) recordValue(h, samples[i]!)
  return PERCENTILES.map((p) => percentile(h, p) ?? Number.NaN)
}

function hdrPercentilesMs(samples: Float64Array): number[] {
  const h = hdr.build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 })
  for (let i = 0; i < samples.length; i++) h.recordValue(Math.round(samples[i]! * 1000))
  const out = PERCENTILES.map((p) => h.getValueAtPercentile(p) / 1000)
  h.destroy()
  return out
}

function exactPercentilesMs(samples: Float64Array): number[] {
  const sorted = Float64Array.from(samples).sort()
  return PERCENTILES.map((p) => sorted[Math.floor((p / 100) * (sorted.length - 1))] ?? Number.NaN)
}

/** Relative error of each method at p50/p95/p99/p99.9 on lognormal and bimodal samples, and the max per method. */
export async function benchPercentiles(): Promise<Table> {
  const rows: string[][] = []
  let maxFusebox = 0
  let maxProm = 0
  let maxHdr = 0
  for (const [name, samples] of [
    ['lognormal (median 20 ms, σ 0.8)', lognormalSamples(N)],
    ['bimodal (90% ~3 ms, 10% ~250 ms)', bimodalSamples(N)],
  ] as const) {
    const exact = exactPercentilesMs(samples)
    const fusebox = fuseboxPercentilesMs(samples)
    const prom = await promPercentilesMs(samples)
    const hdrMs = hdrPercentilesMs(samples)
    PERCENTILES.forEach((p, i) => {
      const e = exact[i]!
      const ef = relErrorPct(fusebox[i]!, e)
      const ep = relErrorPct(prom[i]!, e)
      const eh = relErrorPct(hdrMs[i]!, e)
      maxFusebox = Math.max(maxFusebox, ef)
      maxProm = Math.max(maxProm, ep)
      maxHdr = Math.max(maxHdr, eh)
      rows.push([name, `p${p}`, fmt(e, 2), `${fmt(fusebox[i]!, 2)} (${fmt(ef, 2)}%)`, `${fmt(prom[i]!, 2)} (${fmt(ep, 1)}%)`, `${fmt(hdrMs[i]!, 2)} (${fmt(eh, 2)}%)`])
    })
  }
  rows.push(['max relative error', '', '', `${fmt(maxFusebox, 2)}% — target ≤ 2%: ${verdict(maxFusebox <= 2)}`, `${fmt(maxProm, 1)}%`, `${fmt(maxHdr, 2)}%`])
  rows.push(['Fusebox ÷ prom-client (max error)', '', '', fmt(maxFusebox / maxProm, 3), '1.00', ''])
  return {
    title: '3. Percentile error on 1,000,000 samples (ms; relative error vs exact in parentheses)',
    header: ['distribution', 'pct', 'exact', 'Fusebox histogram', 'prom-client default buckets', 'hdr-histogram-js (2 digits)'],
    rows,
  }
}
