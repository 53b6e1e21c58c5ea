/**
 * Topic 1 — cost of recording one request: Fusebox `collector.recordRequest` vs prom-client `Histogram.observe`
 * (labels method, route, status_code) vs hdr-histogram-js `recordValue` (one histogram per series, found in a Map,
 * so it does the same label → series lookup the other two do). Same pre-generated samples for all three.
 */
import * as hdr from 'hdr-histogram-js'
import { Histogram as PromHistogram, Registry } from 'prom-client'
import { findFreePort } from '../server/bootstrap/redis.mjs'
import { createCollector } from '../server/sdk/index'
import { requestSamples } from './samples'
import { fmt, median, timeNs } from './stats'
import { verdict, type Table } from './table'

const SAMPLES = 200_000
const ROUTES = 200
const ROUNDS = 7

/** Median ns per recorded request for each contender (rounds interleaved so drift hits all alike). */
export async function benchRecord(): Promise<Table> {
  const samples = requestSamples(SAMPLES, ROUTES)
  // Nothing listens on this port and the flush interval is the longest allowed: only the in-memory path runs.
  const collector = createCollector({
    redis: `redis://127.0.0.1:${await findFreePort()}`,
    service: 'bench',
    instance: 'record',
    flushIntervalMs: 60_000,
  })
  const registry = new Registry()
  const prom = new PromHistogram({
    name: 'http_request_duration_seconds',
    help: 'request duration',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  })
  const hdrBySeries = new Map<string, hdr.Histogram>()

  const contenders: Array<{ name: string; run: () => void }> = [
    {
      name: 'Fusebox recordRequest',
      run: () => {
        for (let i = 0; i < samples.length; i++) collector.recordRequest(samples[i]!)
      },
    },
    {
      name: 'prom-client Histogram.observe',
      run: () => {
        for (let i = 0; i < samples.length; i++) {
          const s = samples[i]!
          prom.observe({ method: s.method, route: s.route, status_code: s.status }, s.durationMs / 1000)
        }
      },
    },
    {
      name: 'hdr-histogram-js recordValue',
      run: () => {
        for (let i = 0; i < samples.length; i++) {
          const s = samples[i]!
          const key = s.method + ' ' + s.status + ' ' + s.route
          let h = hdrBySeries.get(key)
          if (h === undefined) {
            // JS implementation, 2 significant digits (≈1% like Fusebox's layout), values in µs up to 1 h.
            h = hdr.build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 })
            hdrBySeries.set(key, h)
          }
          h.recordValue(Math.round(s.durationMs * 1000))
        }
      },
    },
  ]

  try {
    for (const c of contenders) c.run() // warm-up: JIT and every series created
    const nsPerOp = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contenders) nsPerOp.get(c.name)!.push(timeNs(c.run) / SAMPLES)
    }
    const med = (name: string) => median(nsPerOp.get(name) ?? [])
    const fusebox = med('Fusebox recordRequest')
    const promNs = med('prom-client Histogram.observe')
    const hdrNs = med('hdr-histogram-js recordValue')
    return {
      title: '1. ns per recorded request (median of 7 rounds × 200,000 requests, 200 routes)',
      header: ['contender', 'ns/op', 'Fusebox ÷ this', 'target', 'result'],
      rows: [
        ['Fusebox collector.recordRequest', fmt(fusebox), '1.00', '', ''],
        ['prom-client Histogram.observe', fmt(promNs), fmt(fusebox / promNs, 2), 'Fusebox ≤ 0.5 × prom-client', verdict(fusebox <= 0.5 * promNs)],
        ['hdr-histogram-js recordValue (per series)', fmt(hdrNs), fmt(fusebox / hdrNs, 2), '(reference)', ''],
      ],
      notes: [
        `rounds (ns/op): ${contenders.map((c) => `${c.name} ${(nsPerOp.get(c.name) ?? []).map((n) => fmt(n)).join('/')}`).join('; ')}`,
      ],
    }
  } finally {
    await collector.close()
    hdrBySeries.forEach((h) => h.destroy())
  }
}
