import { describe, expect, it } from 'vitest'
import { liveStateOf, STALLED_AFTER_MS } from './LiveToggle'

const base = { live: true, offline: false, serverError: null, asOfMs: 1_000_000, nowMs: 1_000_000 + 1_000 }

describe('liveStateOf', () => {
  it('is live while fresh data arrives and updates are on', () => {
    expect(liveStateOf(base)).toBe('live')
    expect(liveStateOf({ ...base, asOfMs: null })).toBe('live')
  })

  it('is offline whenever saved data is shown, paused or not', () => {
    expect(liveStateOf({ ...base, offline: true })).toBe('offline')
    expect(liveStateOf({ ...base, offline: true, live: false })).toBe('offline')
    expect(liveStateOf({ ...base, offline: true, serverError: 'Redis is unreachable' })).toBe('offline')
  })

  it('is stalled when the server cannot serve live data, or the data on screen is older than the bound while live', () => {
    expect(liveStateOf({ ...base, serverError: 'Redis is unreachable: connect ECONNREFUSED' })).toBe('stalled')
    expect(liveStateOf({ ...base, nowMs: base.asOfMs + STALLED_AFTER_MS + 1 })).toBe('stalled')
    expect(liveStateOf({ ...base, nowMs: base.asOfMs + STALLED_AFTER_MS })).toBe('live')
  })

  it('is paused when the person paused: old data is then expected, not stalled', () => {
    expect(liveStateOf({ ...base, live: false, nowMs: base.asOfMs + 10 * STALLED_AFTER_MS })).toBe('paused')
  })
})
