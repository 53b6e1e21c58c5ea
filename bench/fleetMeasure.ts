/**
 * Measuring helpers of the `fleet` benchmark (bench/fleet.ts): per-node `INFO` counters and their rates over a
 * window, the machine's CPU from /proc/stat, a process's CPU from /proc/<pid>/stat, bucket-key sizes by
 * `MEMORY USAGE`, and nearest-rank percentiles.
 */
import { readFile } from 'node:fs/promises'
import { Redis } from 'ioredis'

/** The INFO counters the fleet bench reads from one node at one instant. */
export interface NodeCounters {
  atMs: number
  /** `total_commands_processed` */
  commands: number
  /** `used_cpu_sys` + `used_cpu_user`, seconds of CPU */
  cpuS: number
  /** `total_net_input_bytes` / `total_net_output_bytes` */
  netIn: number
  netOut: number
  /** `used_memory`, bytes */
  usedMemory: number
  /** `connected_clients` */
  clients: number
  /** `cmdstat_<command>` calls */
  calls: Map<string, number>
  /** `total_forks` (AOF rewrites fork a child) and `aof_delayed_fsync` (writes that waited for a slow fsync) */
  forks: number
  delayedFsync: number
}

/** `INFO` text → field → value (lines `k:v`, comments and blanks skipped). */
export function parseInfoText(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1))
  }
  return m
}

/** Reads INFO (stats, cpu, memory, clients, commandstats) of one node. */
export async function readCounters(admin: Redis): Promise<NodeCounters> {
  const info = parseInfoText(await admin.info('everything'))
  const num = (k: string): number => Number(info.get(k) ?? Number.NaN)
  const calls = new Map<string, number>()
  for (const [k, v] of info) {
    const c = /calls=(\d+)/.exec(v)
    if (k.startsWith('cmdstat_') && c) calls.set(k.slice('cmdstat_'.length), Number(c[1]))
  }
  return {
    atMs: performance.now(),
    commands: num('total_commands_processed'),
    cpuS: num('used_cpu_sys') + num('used_cpu_user'),
    netIn: num('total_net_input_bytes'),
    netOut: num('total_net_output_bytes'),
    usedMemory: num('used_memory'),
    clients: num('connected_clients'),
    calls,
    forks: num('total_forks'),
    delayedFsync: num('aof_delayed_fsync'),
  }
}

/** Rates of one node between two snapshots (per wall second). */
export interface NodeRates {
  commandsPerS: number
  /** CPU of the redis-server process, % of one core */
  cpuPct: number
  netInBytesPerS: number
  netOutBytesPerS: number
  /** The commands of the window by calls, most first (without our own INFO). */
  top: [string, number][]
  /** Forks (AOF rewrites) and delayed fsyncs during the window. */
  forks: number
  delayedFsync: number
}

/** Rates between `a` and `b` (b later). The INFO calls of the measurement itself are left out of the commands. */
export function rates(a: NodeCounters, b: NodeCounters): NodeRates {
  const s = (b.atMs - a.atMs) / 1000
  const top: [string, number][] = []
  for (const [cmd, n] of b.calls) {
    const d = n - (a.calls.get(cmd) ?? 0)
    if (d > 0 && cmd !== 'info') top.push([cmd, d])
  }
  top.sort((x, y) => y[1] - x[1])
  const infoCalls = (b.calls.get('info') ?? 0) - (a.calls.get('info') ?? 0)
  return {
    commandsPerS: (b.commands - a.commands - infoCalls) / s,
    cpuPct: ((b.cpuS - a.cpuS) / s) * 100,
    netInBytesPerS: (b.netIn - a.netIn) / s,
    netOutBytesPerS: (b.netOut - a.netOut) / s,
    top,
    forks: b.forks - a.forks,
    delayedFsync: b.delayedFsync - a.delayedFsync,
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat `cpu` line); busy = total − idle − iowait. */
export async function machineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total }
}

/** CPU seconds (user + system) a process has used so far (/proc/<pid>/stat, 100 ticks per second); NaN if gone. */
export async function processCpuS(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may contain spaces) start after the last ')': state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** Nearest-rank percentile `p` (0–100) of `xs` (NaN when empty). */
export function percentileOf(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN
}

/** One time bucket of one service as stored: the bytes of its `req`, `tot` and `cov` keys and the `req` hash's fields. */
export interface BucketSize {
  service: string
  tier: string
  startMs: number
  bytes: number
  reqFields: number
}

const BUCKET_KEY = /^[^:]+:\{([^}]+)\}:(req|tot|cov):([^:]+):(\d+)$/

/**
 * Every request/totals/coverage bucket key of `prefix` on one node (SCAN of that node only), grouped by
 * (service, tier, bucket start): `MEMORY USAGE … SAMPLES 0` (every element counted) summed over its keys, and the
 * `req` hash's field count (one shared field per series once folded, plus one own field per instance while open).
 */
export async function bucketSizes(admin: Redis, prefix: string, services?: (s: string) => boolean): Promise<BucketSize[]> {
  const groups = new Map<string, BucketSize>()
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:{*}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const m = BUCKET_KEY.exec(key)
      if (!m || (services && !services(m[1]!))) continue
      const id = `${m[1]}|${m[3]}|${m[4]}`
      const g = groups.get(id) ?? { service: m[1]!, tier: m[3]!, startMs: Number(m[4]), bytes: 0, reqFields: 0 }
      g.bytes += Number((await admin.memory('USAGE', key, 'SAMPLES', '0')) ?? 0)
      if (m[2] === 'req') g.reqFields = await admin.hlen(key)
      groups.set(id, g)
    }
  } while (cursor !== '0')
  return [...groups.values()]
}

/** Mean of a list (NaN when empty). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length
}

/**
 * Starts Redis' latency monitor on one node (`CONFIG SET latency-monitor-threshold`, then `LATENCY RESET`): every
 * event of the main thread (command, fork, AOF write/fsync …) slower than `thresholdMs` is kept.
 */
export async function startLatencyMonitor(admin: Redis, thresholdMs: number): Promise<void> {
  await admin.config('SET', 'latency-monitor-threshold', String(thresholdMs))
  await admin.call('LATENCY', 'RESET')
}

/** `LATENCY LATEST` of one node as `event max ms (latest ms)` strings, slowest first. */
export async function latencyEvents(admin: Redis): Promise<string[]> {
  const rows = (await admin.call('LATENCY', 'LATEST')) as [string, number, number, number][]
  return rows.sort((a, b) => b[3] - a[3]).map(([event, , latest, max]) => `${event} max ${max} ms (latest ${latest})`)
}

/**
 * Round trips of a PING to each node every `everyMs` from its own connection until `stop()`: how long Redis (its
 * queue of other clients, and the machine) keeps a one-command client waiting while the fleet writes. Returns the
 * round trips (ms) per node, in the order given, each with where in its 10 s bucket it was sent (`Date.now() % 10,000`).
 */
export function pingProbe(ports: number[], everyMs: number): { stop: () => Promise<{ ms: number; phaseMs: number }[][]> } {
  const clients = ports.map((port) => new Redis({ host: '127.0.0.1', port, commandTimeout: 10_000 }))
  const samples = ports.map((): { ms: number; phaseMs: number }[] => [])
  let stopped = false
  const loops = clients.map(async (c, i) => {
    while (!stopped) {
      const t0 = performance.now()
      const phaseMs = Date.now() % 10_000
      try {
        await c.ping()
        samples[i]!.push({ ms: performance.now() - t0, phaseMs })
      } catch {
        // a failed ping is not a round trip; the bench's other figures show the failure
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })
  return {
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      for (const c of clients) c.disconnect()
      return samples
    },
  }
}

/**
 * The part of every 10 s bucket in which the fleet closes the previous bucket: the SDK closes a 10 s bucket 2.5 s
 * after its end (server/sdk/seriesWriter.ts `CLOSE_GRACE_MS`), then rolls it up into the 1 min and 1 h buckets, writes
 * its final values and folds them — every instance at the same wall-clock moment. [start, end) in ms of the bucket.
 */
export const CLOSE_WINDOW_MS = { start: 2000, end: 6000 } as const

/** Splits values by the phase they were taken at: inside CLOSE_WINDOW_MS of a 10 s bucket, or the rest. */
export function byPhase(values: readonly number[], phasesMs: readonly number[]): { closing: number[]; rest: number[] } {
  const closing: number[] = []
  const rest: number[] = []
  values.forEach((v, i) => {
    const p = phasesMs[i] ?? 0
    ;(p >= CLOSE_WINDOW_MS.start && p < CLOSE_WINDOW_MS.end ? closing : rest).push(v)
  })
  return { closing, rest }
}

/** p99 of the values taken in each second of the 10 s bucket (index 0–9; NaN where none). */
export function p99BySecond(values: readonly number[], phasesMs: readonly number[]): number[] {
  const bins: number[][] = Array.from({ length: 10 }, () => [])
  values.forEach((v, i) => bins[Math.min(9, Math.floor((phasesMs[i] ?? 0) / 1000))]!.push(v))
  return bins.map((b) => percentileOf(b, 99))
}
