import { describe, expect, it } from 'vitest'
import { heartbeatFields, parseHeartbeat, type Heartbeat } from './heartbeat'

const beat: Heartbeat = {
  pid: 4242, version: '1.2.3', startedAtMs: 1_700_000_000_000, lastSeenMs: 1_700_000_100_000, heartbeatIntervalMs: 1000,
  heapUsedBytes: 12_345_678, rssBytes: 45_678_901, cpuPercent: 12.3, eventLoopDelayP99Ms: 1.25, uptimeS: 100,
}

describe('heartbeat hash', () => {
  it('reads back what its writer wrote, with no invalid field', () => {
    expect(parseHeartbeat(heartbeatFields(beat))).toEqual({ heartbeat: beat, invalidFields: [] })
  })

  it('reads an expired (empty) hash as zeros, version unknown and the default 1 s interval', () => {
    expect(parseHeartbeat({})).toEqual({
      heartbeat: { pid: 0, version: 'unknown', startedAtMs: 0, lastSeenMs: 0, heartbeatIntervalMs: 1000, heapUsedBytes: 0, rssBytes: 0, cpuPercent: 0, eventLoopDelayP99Ms: 0, uptimeS: 0 },
      invalidFields: [],
    })
  })

  it('names every malformed field and reads it as its default', () => {
    const parsed = parseHeartbeat({ ...heartbeatFields(beat), pid: 'x', rssBytes: '-5', cpuPercent: 'Infinity', version: 'v'.repeat(500) })
    expect(parsed.invalidFields.sort()).toEqual(['cpuPercent', 'pid', 'rssBytes', 'version'])
    expect(parsed.heartbeat).toMatchObject({ pid: 0, rssBytes: 0, cpuPercent: 0, version: 'unknown', heapUsedBytes: beat.heapUsedBytes })
  })
})
