/**
 * One process of the `fleet` benchmark (bench/fleet.ts): a slice of the simulated fleet — `instances` real collectors
 * (the SDK, each with its own connections, as separate host processes would have), each recording steady traffic on
 * ROUTES routes and flushing once a second at its own phase. Started by the parent with an IPC channel
 * (`node --import tsx bench/fleetChild.ts`), it speaks the `FleetChild*` messages below:
 *
 * parent → child: `start` (the collectors to run, the Redis target) · `measure` (forget what was timed so far) ·
 *   `stop` (report, close every collector, exit)
 * child → parent: `ready` (every collector has had a flush answered) · `report` (what was timed since `measure`) ·
 *   `error` (start-up failed; the child exits 1)
 *
 * What is timed, per flush: the wall time of `await collector.flush()` in this process, from the call to its
 * resolution (the SDK's pipeline round trip plus any wait for this process's event loop), and beside it the SDK's
 * own `stats.lastFlushDurationMs` read right after (doFlush start → answer). A flush still running when its next
 * second comes is not doubled: that tick is counted as an overrun.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createCollector, type Collector } from '../server/sdk/index'
import { redisOption, type FleetChildReport, type FleetChildStart } from './fleetProtocol'
import { lognormalMs, seededRandom } from './samples'

type ParentMessage = FleetChildStart | { type: 'measure' } | { type: 'stop' }

const collectors: Collector[] = []
const timers: NodeJS.Timeout[] = []
let flushMs: number[] = []
let sdkFlushMs: number[] = []
let flushPhaseMs: number[] = []
let overruns = 0
let requests = 0
let cpuAtMeasure = process.cpuUsage()
let baseline = { flushErrors: 0, failedFlushCommands: 0, skippedFlushes: 0 }
const errorSamples: string[] = []
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
loopDelay.enable()

function send(m: FleetChildReport | { type: 'ready' } | { type: 'error'; message: string }): void {
  process.send?.(m)
}

function totals(): typeof baseline {
  const t = { flushErrors: 0, failedFlushCommands: 0, skippedFlushes: 0 }
  for (const c of collectors) {
    t.flushErrors += c.stats.flushErrors
    t.failedFlushCommands += c.stats.failedFlushCommands
    t.skippedFlushes += c.stats.skippedFlushes
  }
  return t
}

async function start(m: FleetChildStart): Promise<void> {
  const random = seededRandom(m.seed)
  for (const { service, instance } of m.collectors) {
    collectors.push(
      createCollector({
        redis: redisOption(m.target),
        service,
        instance,
        prefix: m.prefix,
        // This process drives the flushes (timed); the SDK's own timer then fires once a minute and joins the
        // flush in flight or adds one untimed flush a minute.
        flushIntervalMs: 60_000,
        onError: (e, where) => {
          if (errorSamples.length < 5) errorSamples.push(`${service}/${instance} ${where}: ${e.message}`)
        },
      }),
    )
  }
  // Connected: every collector has had one flush answered.
  const deadline = Date.now() + 60_000
  for (;;) {
    await Promise.all(collectors.map((c) => (c.stats.flushes === 0 ? c.flush() : undefined)))
    if (collectors.every((c) => c.stats.flushes > 0)) break
    if (Date.now() > deadline) throw new Error(`${collectors.filter((c) => c.stats.flushes === 0).length} collectors had no flush answered within 60 s: ${errorSamples.join(' | ')}`)
    await new Promise((r) => setTimeout(r, 200))
  }

  // Traffic: every 100 ms each collector records what is due since the last tick by the wall clock (a late tick on a
  // busy machine records its backlog), so each route gets `requestsPerRoutePer10s` per 10 s on every instance.
  const perMs = (m.routes * m.requestsPerRoutePer10s) / 10_000
  const routes = Array.from({ length: m.routes }, (_, r) => `/api/v1/r${r}/:id`)
  const trafficStart = performance.now()
  let cursor = 0
  let recorded = 0
  timers.push(
    setInterval(() => {
      const n = Math.floor((performance.now() - trafficStart) * perMs) - recorded
      recorded += n
      for (const [i, c] of collectors.entries()) {
        for (let k = 0; k < n; k++) {
          const r = (cursor + k) % routes.length
          const x = random()
          c.recordRequest({ method: r % 5 === 0 ? 'POST' : 'GET', route: routes[r]!, status: x < 0.96 ? 200 : x < 0.99 ? 404 : 503, durationMs: lognormalMs(random, 15 + (i % 7), 0.8) })
        }
      }
      requests += n * collectors.length
      cursor = (cursor + n) % routes.length
    }, 100),
  )

  // Flushes: collector i at phase i/N of the second, each timed; a flush still running skips its tick.
  for (const [i, c] of collectors.entries()) {
    let busy = false
    const tick = (): void => {
      if (busy) {
        overruns++
        return
      }
      busy = true
      const t0 = performance.now()
      const phase = Date.now() % 10_000
      void c.flush().then(() => {
        flushMs.push(performance.now() - t0)
        flushPhaseMs.push(phase)
        sdkFlushMs.push(c.stats.lastFlushDurationMs)
        busy = false
      })
    }
    const phase = Math.round((i / collectors.length) * m.flushEveryMs)
    timers.push(
      setTimeout(() => {
        tick()
        timers.push(setInterval(tick, m.flushEveryMs))
      }, phase),
    )
  }
  send({ type: 'ready' })
}

function measure(): void {
  flushMs = []
  sdkFlushMs = []
  flushPhaseMs = []
  overruns = 0
  requests = 0
  errorSamples.length = 0
  baseline = totals()
  cpuAtMeasure = process.cpuUsage()
  loopDelay.reset()
}

async function stop(): Promise<void> {
  const now = totals()
  const cpu = process.cpuUsage(cpuAtMeasure)
  send({
    type: 'report',
    flushMs,
    sdkFlushMs,
    flushPhaseMs,
    overruns,
    flushErrors: now.flushErrors - baseline.flushErrors,
    failedFlushCommands: now.failedFlushCommands - baseline.failedFlushCommands,
    skippedFlushes: now.skippedFlushes - baseline.skippedFlushes,
    requests,
    errorSamples: [...errorSamples],
    cpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopP99Ms: loopDelay.percentile(99) / 1e6,
    eventLoopMaxMs: loopDelay.max / 1e6,
  })
  for (const t of timers) clearInterval(t)
  await Promise.all(collectors.map((c) => c.close().catch(() => undefined)))
  process.exit(0)
}

process.on('message', (m: ParentMessage) => {
  if (m.type === 'start') {
    start(m).catch((e: unknown) => {
      send({ type: 'error', message: e instanceof Error ? e.message : String(e) })
      process.exit(1)
    })
  } else if (m.type === 'measure') measure()
  else if (m.type === 'stop') void stop()
})
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0))
