/**
 * The heartbeat hash (`instanceInfo` key): process health one instance writes with every flush and the server
 * reads back. One writer and one validating parser, so the field names and their formats are written once.
 * Pure: no imports, no I/O.
 */

/** What an instance reports about its process. Times epoch ms, memory in bytes, CPU in % of one core. */
export interface Heartbeat {
  pid: number
  version: string
  startedAtMs: number
  lastSeenMs: number
  /** The instance's flush interval: the server counts missed heartbeats in these. */
  heartbeatIntervalMs: number
  heapUsedBytes: number
  rssBytes: number
  cpuPercent: number
  eventLoopDelayP99Ms: number
  uptimeS: number
}

/** Longest version string kept; a longer one reads as `unknown`. */
const MAX_VERSION_CHARS = 128

/** The hash fields of a heartbeat, as HSET takes them (CPU to 0.1 %, loop delay to 0.01 ms). */
export function heartbeatFields(h: Heartbeat): Record<keyof Heartbeat, string> {
  return {
    pid: String(h.pid),
    version: h.version,
    startedAtMs: String(h.startedAtMs),
    lastSeenMs: String(h.lastSeenMs),
    heartbeatIntervalMs: String(h.heartbeatIntervalMs),
    heapUsedBytes: String(h.heapUsedBytes),
    rssBytes: String(h.rssBytes),
    cpuPercent: h.cpuPercent.toFixed(1),
    eventLoopDelayP99Ms: h.eventLoopDelayP99Ms.toFixed(2),
    uptimeS: String(h.uptimeS),
  }
}

const NUMERIC_FIELDS = [
  'pid', 'startedAtMs', 'lastSeenMs', 'heartbeatIntervalMs', 'heapUsedBytes', 'rssBytes', 'cpuPercent', 'eventLoopDelayP99Ms', 'uptimeS',
] as const

/** A heartbeat read back: every field, with the names of those that were present but malformed. */
export interface ParsedHeartbeat {
  heartbeat: Heartbeat
  /** Fields present but not a finite number ≥ 0 (or an oversized version); each read as its default. */
  invalidFields: string[]
}

/**
 * Parses a heartbeat hash. A missing field (the hash expired, or an older SDK) reads as 0, the version as
 * `unknown`, and the interval as 1000 ms (the SDK's default); a malformed one likewise, and is named in
 * `invalidFields`. Never throws.
 */
export function parseHeartbeat(raw: Readonly<Record<string, string>>): ParsedHeartbeat {
  const invalidFields: string[] = []
  const out: Record<string, number> = {}
  for (const f of NUMERIC_FIELDS) {
    const s = raw[f]
    const n = s === undefined ? 0 : Number(s)
    if (s !== undefined && (s === '' || !Number.isFinite(n) || n < 0)) {
      invalidFields.push(f)
      out[f] = 0
    } else out[f] = n
  }
  let version = raw.version ?? 'unknown'
  if (version.length > MAX_VERSION_CHARS) {
    invalidFields.push('version')
    version = 'unknown'
  }
  const h = out as Record<(typeof NUMERIC_FIELDS)[number], number>
  return {
    heartbeat: { ...h, version, heartbeatIntervalMs: h.heartbeatIntervalMs > 0 ? h.heartbeatIntervalMs : 1000 },
    invalidFields,
  }
}
