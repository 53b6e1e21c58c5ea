/**
 * Bench-only preload for the server child (`node --import tsx --import ./bench/eventLoopProbe.ts server/app/main.ts`):
 * measures the process's event-loop delay with `perf_hooks.monitorEventLoopDelay` (10 ms sampling) and answers over
 * the IPC channel. Parent → child: `{ type: 'eventLoopDelay', reset?: boolean }`; child → parent:
 * `{ type: 'eventLoopDelay', p50Ms, p99Ms, maxMs, meanMs, samples, cpuMs }` for the period since the last reset, then
 * resets when asked. Adds nothing to the product: the server itself does not import it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

/** The event-loop delay report (ms; `samples`: how many 10 ms ticks were measured). */
export interface EventLoopDelayReport {
  type: 'eventLoopDelay'
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  samples: number
  /** CPU time of the server process (user + system) since the last reset, ms. */
  cpuMs: number
}

/**
 * Sampling interval of the delay histogram, in ms. Node's histogram records the time between two samples
 * (src/histogram.cc `Histogram::RecordDelta`), so an idle loop reads ≈ this value (measured: p50 10.10 ms, min
 * 10.08 ms at 10 ms): the delay proper is the figure minus it.
 */
export const SAMPLING_MS = 10

const histogram = monitorEventLoopDelay({ resolution: SAMPLING_MS })
histogram.enable()
let cpuAtReset = process.cpuUsage()
process.on('message', (m: { type?: string; reset?: boolean }) => {
  if (m?.type !== 'eventLoopDelay') return
  const report: EventLoopDelayReport = {
    type: 'eventLoopDelay',
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    maxMs: histogram.max / 1e6,
    meanMs: histogram.mean / 1e6,
    samples: histogram.count,
    cpuMs: ((u) => (u.user + u.system) / 1000)(process.cpuUsage(cpuAtReset)),
  }
  process.send?.(report)
  if (m.reset) {
    histogram.reset()
    cpuAtReset = process.cpuUsage()
  }
})
// Never keep the process alive for the probe's sake (main.ts's own IPC handling decides that).
process.channel?.unref()
