/**
 * Process health of the host, sampled once per flush into the heartbeat (shared/heartbeat.ts): CPU since the last
 * sample, event-loop delay p99 since the last sample, memory, uptime. The loop-delay monitor is Node's own
 * (`monitorEventLoopDelay`, 20 ms resolution); it holds no handle that keeps the host alive, and `stop()` turns it off.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks'
import type { Heartbeat } from '../../shared/heartbeat'

/** What the collector hands the health sampler. */
export interface ProcessHealthDeps {
  /** Version string reported in the heartbeat. */
  version: string
  /** When the collector started, epoch ms (from the collector's clock). */
  startedAtMs: number
  /** The collector's flush interval (ms): the server counts missed heartbeats in these. */
  heartbeatIntervalMs: number
}

/** See the module comment. Starts monitoring the event loop when constructed. */
export class ProcessHealth {
  private readonly loopDelay: IntervalHistogram
  private lastCpu = process.cpuUsage()
  /** When CPU was last sampled, on the monotonic clock: CPU % is over real elapsed time, whatever the wall clock. */
  private lastCpuAtPerfMs = performance.now()

  constructor(private readonly deps: ProcessHealthDeps) {
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 })
    this.loopDelay.enable()
  }

  /**
   * The heartbeat as of `nowMs` (epoch ms, the collector's clock: `lastSeenMs`): CPU in % of one core and loop
   * delay p99 in ms, both over the real time since the previous sample (which this call starts anew).
   */
  sample(nowMs: number): Heartbeat {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    const perfMs = performance.now()
    const wallMs = Math.max(1, perfMs - this.lastCpuAtPerfMs)
    const cpuPercent = ((cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000 / wallMs) * 100
    this.lastCpu = cpu
    this.lastCpuAtPerfMs = perfMs
    const eventLoopDelayP99Ms = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0
    this.loopDelay.reset()
    return {
      pid: process.pid,
      version: this.deps.version,
      startedAtMs: this.deps.startedAtMs,
      lastSeenMs: nowMs,
      heartbeatIntervalMs: this.deps.heartbeatIntervalMs,
      heapUsedBytes: mem.heapUsed,
      rssBytes: mem.rss,
      cpuPercent,
      eventLoopDelayP99Ms,
      uptimeS: Math.round(process.uptime()),
    }
  }

  /** Stops the event-loop monitor (collector close). */
  stop(): void {
    this.loopDelay.disable()
  }
}
