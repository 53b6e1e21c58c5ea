import { describe, expect, it } from 'vitest'
import { formatClock, formatDayTime, formatMegabytes, formatMinute, formatMs, formatPercent, formatRps, formatSince, formatThroughput, NO_DATA, NO_VALUE } from './format'

describe('format', () => {
  it('shows wall-clock time as zero-padded HH:MM:SS in local time', () => {
    expect(formatClock(new Date(2026, 0, 2, 9, 5, 7).getTime())).toBe('09:05:07')
    expect(formatClock(new Date(2026, 0, 2, 23, 59, 59, 999).getTime())).toBe('23:59:59')
  })

  it('shows minutes as HH:MM and, for long windows, the day too as MM-DD HH:MM', () => {
    expect(formatMinute(new Date(2026, 0, 2, 9, 5, 7).getTime())).toBe('09:05')
    expect(formatDayTime(new Date(2026, 0, 2, 14, 2, 59).getTime())).toBe('01-02 14:02')
  })

  it('a window without data shows "No data" for throughput, never 0.00; a real zero stays 0.00', () => {
    expect(formatThroughput(null)).toBe(NO_DATA)
    expect(formatThroughput(0)).toBe('0.00')
    expect(formatThroughput(29.44)).toBe('29.4')
    expect(formatRps(null)).toBe(NO_VALUE)
  })

  it('an error rate without requests shows a dash, not 0 %', () => {
    expect(formatPercent(null)).toBe(NO_VALUE)
  })

  it('shows small throughputs with two decimals and large ones as grouped whole numbers', () => {
    expect(formatRps(0)).toBe('0.00')
    expect(formatRps(3.14159)).toBe('3.14')
    expect(formatRps(42.26)).toBe('42.3')
    expect(formatRps(12345.6)).toBe('12,346')
  })

  it('shows an error-rate fraction as a percentage with more precision below one percent', () => {
    expect(formatPercent(0)).toBe('0.00')
    expect(formatPercent(0.00123)).toBe('0.12')
    expect(formatPercent(0.256)).toBe('25.6')
    expect(formatPercent(1)).toBe('100.0')
  })

  it('shows a missing latency as a dash instead of zero', () => {
    expect(formatMs(null)).toBe(NO_VALUE)
    expect(formatMs(Number.NaN)).toBe(NO_VALUE)
  })

  it('shows sub-10 ms latencies with one decimal and larger ones as grouped whole milliseconds', () => {
    expect(formatMs(3.456)).toBe('3.5')
    expect(formatMs(87.4)).toBe('87')
    expect(formatMs(1534.2)).toBe('1,534')
  })

  it('shows memory in whole mebibytes', () => {
    expect(formatMegabytes(52_428_800)).toBe('50 MB')
  })

  it('says how long ago in two units at most', () => {
    expect(formatSince(400)).toBe('just now')
    expect(formatSince(45_900)).toBe('45 s')
    expect(formatSince(192_000)).toBe('3 min 12 s')
    expect(formatSince(180_000)).toBe('3 min')
    expect(formatSince(7_500_000)).toBe('2 h 5 min')
    expect(formatSince(4 * 86_400_000 + 3_600_000)).toBe('4 d 1 h')
    expect(formatSince(-1)).toBe(NO_VALUE)
  })
})
