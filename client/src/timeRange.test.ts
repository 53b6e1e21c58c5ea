// A zone with a half-hour offset and no DST (UTC+05:30), so local and UTC differ in hours and minutes.
process.env.TZ = 'Asia/Kolkata'

import { afterEach, describe, expect, it } from 'vitest'
import { timeTicks } from './components/charts/chartTicks'
import { dragRange } from './components/charts/TimeChart'
import { parseDisplayDateTime } from './components/shell/RangePicker'
import { lockedLink } from './components/shell/TimeControls'
import { formatDateTime, formatLogTime } from './components/table/format'
import { displayOffsetMin, formatClock, setDisplayTimeZone, timeZoneLabel } from './format'
import { clampRange, MAX_RANGE_MS, MIN_RANGE_MS, parseAbsoluteRange, parseRangeBound, pollIntervalOf, RANGES, timeRangeOf } from './uiState'

const T = Date.UTC(2026, 11, 1, 14, 2, 0) // 2026-12-01 14:02:00 UTC = 19:32:00 in Kolkata

afterEach(() => setDisplayTimeZone('local'))

describe('absolute ranges in the URL', () => {
  it('reads epoch ms and ISO 8601 bounds, and refuses anything else', () => {
    expect(parseRangeBound(String(T))).toBe(T)
    expect(parseRangeBound('2026-12-01T14:02:00Z')).toBe(T)
    expect(parseRangeBound('2026-12-01T14:02:00.250Z')).toBe(T + 250)
    for (const bad of [null, '', 'now-1h', '1e12', '-5', '12.5', '0', '99999999999999', 'x'.repeat(41), '2026-13-45T99:99:99Z']) {
      expect(parseRangeBound(bad)).toBeNull()
    }
  })

  it('takes a range only when to is after from and the span is 10 s … 30 days', () => {
    expect(parseAbsoluteRange(String(T), String(T + 18 * 60_000))).toEqual({ fromMs: T, toMs: T + 18 * 60_000 })
    expect(parseAbsoluteRange(String(T), String(T + MIN_RANGE_MS))).not.toBeNull()
    expect(parseAbsoluteRange(String(T), String(T + MIN_RANGE_MS - 1))).toBeNull()
    expect(parseAbsoluteRange(String(T), String(T + MAX_RANGE_MS + 1))).toBeNull()
    expect(parseAbsoluteRange(String(T + 60_000), String(T))).toBeNull()
    expect(parseAbsoluteRange(String(T), null)).toBeNull()
  })

  it('clamps a dragged span: ordered, at least 10 s around its middle, at most 30 days ending where it ended', () => {
    expect(clampRange({ fromMs: T + 60_000, toMs: T })).toEqual({ fromMs: T, toMs: T + 60_000 })
    expect(clampRange({ fromMs: T, toMs: T + 2_000 })).toEqual({ fromMs: T - 4_000, toMs: T + 6_000 })
    expect(clampRange({ fromMs: T - 40 * 86_400_000, toMs: T })).toEqual({ fromMs: T - MAX_RANGE_MS, toMs: T })
  })

  it('describes a preset and an absolute range for the pages', () => {
    expect(timeRangeOf('1h', null)).toMatchObject({ preset: '1h', windowMs: RANGES['1h'].ms, label: 'Last hour', short: '1 h', key: '1h' })
    const abs = timeRangeOf('1h', { fromMs: T, toMs: T + 18 * 60_000 })
    expect(abs).toMatchObject({ preset: null, windowMs: 18 * 60_000, short: '18 min', key: `${T}-${T + 18 * 60_000}` })
    expect(abs.label).toBe('2026-12-01 19:32:00 to 2026-12-01 19:50:00')
  })

  it('a drag from one bucket to another selects both buckets whole, in either direction', () => {
    expect(dragRange(T + 30_000, T, 10_000)).toEqual({ fromMs: T, toMs: T + 40_000 })
    expect(dragRange(T, T + 30_000, 10_000)).toEqual({ fromMs: T, toMs: T + 40_000 })
  })

  it('a copied link locks the window and drops the preset, live and refresh params, keeping the rest', () => {
    const link = lockedLink('http://127.0.0.1:4173/base/endpoints?service=a&range=1h&live=0&refresh=5s&filter=GET#x', { fromMs: T, toMs: T + 60_000 })
    const url = new URL(link)
    expect(url.pathname).toBe('/base/endpoints')
    expect(Object.fromEntries(url.searchParams)).toEqual({ service: 'a', filter: 'GET', from: String(T), to: String(T + 60_000) })
    expect(url.hash).toBe('')
  })
})

describe('refresh intervals', () => {
  it('off polls nothing, live keeps each page its own interval, a choice applies to every page', () => {
    expect(pollIntervalOf('off', 5_000)).toBeNull()
    expect(pollIntervalOf('live', 5_000)).toBe(5_000)
    expect(pollIntervalOf('live', 30_000)).toBe(30_000)
    expect(pollIntervalOf('30s', 5_000)).toBe(30_000)
    expect(pollIntervalOf('1m', 5_000)).toBe(60_000)
  })
})

describe('time zone', () => {
  it('shows local time with its offset by default and UTC when chosen, in every formatter', () => {
    expect(timeZoneLabel(T)).toBe('UTC+05:30')
    expect(displayOffsetMin(T)).toBe(330)
    expect(formatDateTime(T)).toBe('2026-12-01 19:32:00')
    expect(formatClock(T + 1_000)).toBe('19:32:01')
    setDisplayTimeZone('utc')
    expect(timeZoneLabel(T)).toBe('UTC')
    expect(displayOffsetMin(T)).toBe(0)
    expect(formatDateTime(T)).toBe('2026-12-01 14:02:00')
    expect(formatLogTime(T + 7)).toBe('2026-12-01 14:02:00.007')
  })

  it('aligns time ticks to the chosen zone: hour ticks on :00 UTC, not on the :30 of UTC+05:30', () => {
    const from = Date.UTC(2026, 11, 1, 0, 0, 0)
    const local = timeTicks(from, from + 6 * 3_600_000).ticks
    expect(local.every((t) => new Date(t).getUTCMinutes() === 30)).toBe(true)
    setDisplayTimeZone('utc')
    const utc = timeTicks(from, from + 6 * 3_600_000).ticks
    expect(utc.length).toBeGreaterThan(2)
    expect(utc.every((t) => new Date(t).getUTCMinutes() === 0)).toBe(true)
  })

  it('reads typed dates in the chosen zone and refuses dates that do not exist', () => {
    expect(parseDisplayDateTime('2026-12-01 19:32:00', 'local')).toBe(T)
    expect(parseDisplayDateTime('2026-12-01 14:02', 'utc')).toBe(T)
    expect(parseDisplayDateTime('2026-12-01T14:02:00', 'utc')).toBe(T)
    expect(parseDisplayDateTime('2026-02-30 10:00:00', 'utc')).toBeNull()
    expect(parseDisplayDateTime('yesterday', 'utc')).toBeNull()
  })
})
