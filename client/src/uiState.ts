/**
 * URL-held UI state shared by every page: the selected service (`?service=`), time range — a preset (`?range=`) or
 * an absolute one (`?from=&to=`, epoch ms, as Grafana's) — live/paused (`?live=`), the refresh interval
 * (`?refresh=`) and the time zone times are shown in (`?tz=utc`). In the URL so a view is shareable and the back
 * button undoes a change; setters push a history entry and keep the current path and every other param. Also the
 * "as of" time the header shows, which the current page reports, and the moment a paused view is frozen at (client
 * state, see `useWindowEnd`).
 */
import { useCallback, useEffect, useMemo } from 'react'
import { useSearchParams } from 'react-router'
import { create } from 'zustand'
import { NAME_PATTERN } from '../../shared/vocabulary'
import type { ServiceListItem } from './api'
import { usePageData } from './store'
import { formatDateTime } from './components/table/format'
import { formatSince } from './format'
import { pauseMoment } from './timeWindow'

/** Selectable time ranges, shortest first: key → window in ms and a label. */
export const RANGES = {
  '15m': { ms: 15 * 60_000, label: 'Last 15 minutes' },
  '1h': { ms: 3_600_000, label: 'Last hour' },
  '6h': { ms: 6 * 3_600_000, label: 'Last 6 hours' },
  '24h': { ms: 24 * 3_600_000, label: 'Last 24 hours' },
  '7d': { ms: 7 * 24 * 3_600_000, label: 'Last 7 days' },
  '30d': { ms: 30 * 24 * 3_600_000, label: 'Last 30 days' },
} as const

/** Short labels of the ranges, for a figure's caption ("15 min: 8.2"). */
export const RANGE_SHORT: Record<keyof typeof RANGES, string> = { '15m': '15 min', '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 d', '30d': '30 d' }

/** A key of `RANGES`. */
export type RangeKey = keyof typeof RANGES

/** Range used when `?range=` is absent or unknown. */
export const DEFAULT_RANGE: RangeKey = '15m'

/** Page-data key (store.ts) under which the shell keeps the `services.list` answer. */
export const SERVICES_PAGE_KEY = 'services'

/** Whether a string is a `RangeKey`. */
export function isRangeKey(x: string | null): x is RangeKey {
  return x !== null && Object.hasOwn(RANGES, x)
}

/** Returns a setter of one search param that pushes a history entry and keeps the path and the other params. */
function useParamSetter(name: string): (value: string | null) => void {
  const [, setParams] = useSearchParams()
  return useCallback(
    (value: string | null) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev)
        if (value === null) next.delete(name)
        else next.set(name, value)
        return next
      }),
    [name, setParams],
  )
}

/** The services list the shell keeps current (`services.list`), or undefined before the first answer. */
export function useServices(): ServiceListItem[] | undefined {
  return usePageData<ServiceListItem[]>(SERVICES_PAGE_KEY)?.data
}

/**
 * The service shown when the URL names none: the first (alphabetically, as `services.list` sorts) with any instance
 * known — up or recently down, so the choice does not jump away from a service whose instances just died — else the
 * first of all; null when the list is empty or not loaded yet.
 */
export function defaultService(services: readonly Pick<ServiceListItem, 'service' | 'instancesTotal'>[] | undefined): string | null {
  if (!services || services.length === 0) return null
  return (services.find((s) => s.instancesTotal > 0) ?? services[0])?.service ?? null
}

/**
 * The selected service: `?service=` when it is a valid name, else `defaultService` of `services.list`, else null
 * (list not loaded yet, or no service has reported). The setter pushes a history entry.
 */
export function useService(): [string | null, (service: string) => void] {
  const [params] = useSearchParams()
  const services = useServices()
  const fromUrl = params.get('service')
  const service = fromUrl !== null && NAME_PATTERN.test(fromUrl) ? fromUrl : defaultService(services)
  return [service, useParamSetter('service')]
}

/** Params of an absolute range; setting a preset, going live or pausing drops them. */
const ABSOLUTE_PARAMS = ['from', 'to'] as const

/**
 * The selected preset (`?range=`, default 15m). The setter also drops an absolute range (`?from=&to=`): picking
 * "Last hour" after a zoom goes back to a range relative to now, as in Grafana.
 */
export function useRange(): [RangeKey, (range: RangeKey) => void] {
  const [params, setParams] = useSearchParams()
  const raw = params.get('range')
  const setRange = useCallback(
    (r: RangeKey) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev)
        for (const p of ABSOLUTE_PARAMS) next.delete(p)
        if (r === DEFAULT_RANGE) next.delete('range')
        else next.set('range', r)
        return next
      }),
    [setParams],
  )
  return [isRangeKey(raw) ? raw : DEFAULT_RANGE, setRange]
}

/** Shortest absolute range, ms: one 10 s bucket, the server's shortest window (`WindowMs` in server/app/router.ts). */
export const MIN_RANGE_MS = 10_000
/** Longest absolute range, ms: 30 days, the longest preset and the server's longest window. */
export const MAX_RANGE_MS = RANGES['30d'].ms
/** Earliest and latest time a range may name (the server's `EpochMs`: 2000-01-01 … 2100-01-01 UTC). */
const EPOCH_MIN_MS = 946_684_800_000
const EPOCH_MAX_MS = 4_102_444_800_000

/** An absolute time range: `[fromMs, toMs)`, epoch ms. */
export interface AbsoluteRange {
  fromMs: number
  toMs: number
}

/**
 * One bound of an absolute range from the URL: epoch ms (digits, as Grafana writes them) or an ISO 8601 date-time
 * (`2026-12-01T14:02:00Z`; without an offset it is local time, as `Date.parse` reads it); null when it is neither
 * or outside 2000–2100.
 */
export function parseRangeBound(raw: string | null): number | null {
  if (raw === null || raw.length === 0 || raw.length > 40) return null
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN
  if (!Number.isFinite(ms) || ms < EPOCH_MIN_MS || ms > EPOCH_MAX_MS) return null
  return Math.floor(ms)
}

/**
 * The absolute range of `?from=&to=`, or null when either is missing or invalid, `to` is not after `from`, or the
 * span is outside MIN_RANGE_MS … MAX_RANGE_MS (then the preset applies: a bad link shows the default view, not an error).
 */
export function parseAbsoluteRange(from: string | null, to: string | null): AbsoluteRange | null {
  const fromMs = parseRangeBound(from)
  const toMs = parseRangeBound(to)
  if (fromMs === null || toMs === null) return null
  const span = toMs - fromMs
  return span >= MIN_RANGE_MS && span <= MAX_RANGE_MS ? { fromMs, toMs } : null
}

/** The absolute range in the URL, or null (a preset is in use). */
export function useAbsoluteRange(): AbsoluteRange | null {
  const [params] = useSearchParams()
  const from = params.get('from')
  const to = params.get('to')
  return useMemo(() => parseAbsoluteRange(from, to), [from, to])
}

/**
 * Sets an absolute range (`?from=&to=`, epoch ms; the preset and `?live=` are dropped), e.g. after a drag on a chart.
 * The span is widened to MIN_RANGE_MS around its middle if shorter and cut to MAX_RANGE_MS (its end kept) if longer.
 */
export function useSetAbsoluteRange(): (range: AbsoluteRange) => void {
  const [, setParams] = useSearchParams()
  return useCallback(
    (r: AbsoluteRange) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev)
        const { fromMs, toMs } = clampRange(r)
        next.set('from', String(fromMs))
        next.set('to', String(toMs))
        next.delete('range')
        next.delete('live')
        return next
      }),
    [setParams],
  )
}

/** `r` ordered and clamped to MIN_RANGE_MS … MAX_RANGE_MS (see `useSetAbsoluteRange`), whole ms. */
export function clampRange(r: AbsoluteRange): AbsoluteRange {
  let fromMs = Math.floor(Math.min(r.fromMs, r.toMs))
  let toMs = Math.ceil(Math.max(r.fromMs, r.toMs))
  if (toMs - fromMs < MIN_RANGE_MS) {
    const mid = Math.round((fromMs + toMs) / 2)
    fromMs = mid - MIN_RANGE_MS / 2
    toMs = mid + MIN_RANGE_MS / 2
  }
  if (toMs - fromMs > MAX_RANGE_MS) fromMs = toMs - MAX_RANGE_MS
  return { fromMs, toMs }
}

/** The time range every page reads: a preset relative to now, or an absolute range. */
export interface TimeRange {
  /** The preset, or null for an absolute range. */
  preset: RangeKey | null
  /** The absolute range, or null for a preset. */
  absolute: AbsoluteRange | null
  /** Window length, ms (15 min … 30 days for presets; 10 s … 30 days absolute). */
  windowMs: number
  /** Words for the range: "Last hour", or "2026-12-01 14:02:00 to 2026-12-01 14:20:00". */
  label: string
  /** Short caption of the window: "1 h", "18 min". */
  short: string
  /** A stable key of the range for page-data keys (`pageKey`): the preset, or `from-to`. */
  key: string
}

/** The `TimeRange` of a preset and an optional absolute range (which wins); pure. */
export function timeRangeOf(preset: RangeKey, absolute: AbsoluteRange | null): TimeRange {
  if (absolute === null) return { preset, absolute: null, windowMs: RANGES[preset].ms, label: RANGES[preset].label, short: RANGE_SHORT[preset], key: preset }
  const windowMs = absolute.toMs - absolute.fromMs
  return {
    preset: null,
    absolute,
    windowMs,
    label: `${formatDateTime(absolute.fromMs)} to ${formatDateTime(absolute.toMs)}`,
    short: formatSince(windowMs),
    key: `${absolute.fromMs}-${absolute.toMs}`,
  }
}

/** The selected time range (`TimeRange`): `?from=&to=` when valid, else the preset of `?range=`. */
export function useTimeRange(): TimeRange {
  const [preset] = useRange()
  const absolute = useAbsoluteRange()
  return useMemo(() => timeRangeOf(preset, absolute), [preset, absolute])
}

/** The selected range's window in ms (15 min … 30 days for presets; the span of an absolute range). */
export function useWindowMs(): number {
  return useTimeRange().windowMs
}

/**
 * Live (`?live=1`, the default) or not: paused (`?live=0`) or an absolute range — nothing refetches, windows end at
 * `useWindowEnd`. Going live also drops an absolute range (back to the preset, relative to now); pausing keeps it.
 */
export function useLive(): [boolean, (live: boolean) => void] {
  const [params, setParams] = useSearchParams()
  const absolute = useAbsoluteRange()
  const setLive = useCallback(
    (b: boolean) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev)
        if (b) {
          next.delete('live')
          for (const p of ABSOLUTE_PARAMS) next.delete(p)
        } else if (parseAbsoluteRange(prev.get('from'), prev.get('to')) === null) next.set('live', '0')
        return next
      }),
    [setParams],
  )
  return [params.get('live') !== '0' && absolute === null, setLive]
}

/** Refresh intervals a live view can use besides the stream (`?refresh=`), as in Grafana's picker. */
export const REFRESH_INTERVALS = {
  '5s': { ms: 5_000, label: 'Every 5 s' },
  '10s': { ms: 10_000, label: 'Every 10 s' },
  '30s': { ms: 30_000, label: 'Every 30 s' },
  '1m': { ms: 60_000, label: 'Every minute' },
} as const

/** A key of `REFRESH_INTERVALS`. */
export type RefreshKey = keyof typeof REFRESH_INTERVALS

/** How a view refreshes: `live` (streams and each page's own poll), a fixed interval, or `off` (paused / absolute). */
export type RefreshChoice = 'live' | RefreshKey | 'off'

/**
 * The refresh choice of the URL: `off` when not live (`useLive`), else `?refresh=` when it is a `RefreshKey`, else
 * `live`. The setter: `off` pauses; `live` or an interval goes live (dropping an absolute range) with that interval.
 */
export function useRefresh(): [RefreshChoice, (choice: RefreshChoice) => void] {
  const [params, setParams] = useSearchParams()
  const [live] = useLive()
  const raw = params.get('refresh')
  const choice: RefreshChoice = !live ? 'off' : raw !== null && Object.hasOwn(REFRESH_INTERVALS, raw) ? (raw as RefreshKey) : 'live'
  const set = useCallback(
    (c: RefreshChoice) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev)
        if (c === 'off') {
          if (parseAbsoluteRange(prev.get('from'), prev.get('to')) === null) next.set('live', '0')
          return next
        }
        next.delete('live')
        for (const p of ABSOLUTE_PARAMS) next.delete(p)
        if (c === 'live') next.delete('refresh')
        else next.set('refresh', c)
        return next
      }),
    [setParams],
  )
  return [choice, set]
}

/**
 * The poll interval (ms) a page uses for data whose own live interval is `liveMs`: null (no polling) when paused or
 * absolute, the chosen interval with `?refresh=`, else `liveMs`.
 */
export function usePollInterval(liveMs: number): number | null {
  const [choice] = useRefresh()
  return pollIntervalOf(choice, liveMs)
}

/** `usePollInterval`'s rule, pure. */
export function pollIntervalOf(choice: RefreshChoice, liveMs: number): number | null {
  if (choice === 'off') return null
  return choice === 'live' ? liveMs : REFRESH_INTERVALS[choice].ms
}

/** Time zone times are shown in: `local` (the browser's, default) or `utc` (`?tz=utc`). */
export type TimeZoneChoice = 'local' | 'utc'

/** The time zone choice of the URL and its setter (UTC is kept in shared links: both people read the same times). */
export function useTimeZone(): [TimeZoneChoice, (tz: TimeZoneChoice) => void] {
  const [params] = useSearchParams()
  const set = useParamSetter('tz')
  const setTz = useCallback((tz: TimeZoneChoice) => set(tz === 'utc' ? 'utc' : null), [set])
  return [params.get('tz') === 'utc' ? 'utc' : 'local', setTz]
}

interface PauseState {
  /** End (epoch ms) of every window while paused (`pauseMoment` of when the pause began); null while live. */
  pausedAtMs: number | null
}

/** The moment a paused view is frozen at; kept by `useKeepPauseMoment`, read through `useWindowEnd`. */
export const usePauseStore = create<PauseState>()(() => ({ pausedAtMs: null }))

/**
 * Keeps the pause moment in step with `?live=`: set (to `pauseMoment(now)`) when the view becomes paused — by the
 * toggle, a link, a reload or the back button — and cleared when it is live. Call once, in the shell.
 */
export function useKeepPauseMoment(): void {
  const [live] = useLive()
  const absolute = useAbsoluteRange()
  // An absolute range has its own end; leaving it for a paused preset freezes a fresh moment.
  const paused = !live && absolute === null
  const pausedAtMs = usePauseStore((s) => s.pausedAtMs)
  useEffect(() => {
    if (!paused && pausedAtMs !== null) usePauseStore.setState({ pausedAtMs: null })
    else if (paused && pausedAtMs === null) usePauseStore.setState({ pausedAtMs: pauseMoment(Date.now()) })
  }, [paused, pausedAtMs])
}

/** Where the windows of the current view end: now while live, the pause moment while paused. */
export interface WindowEnd {
  /** Absolute window end (epoch ms) to send as `untilMs`; undefined = now (live). */
  untilMs: number | undefined
  /** False for the one render between pausing and the moment being set: fetch nothing yet. */
  ready: boolean
}

/**
 * The end of every window the pages read (`WindowEnd`). Live: now. An absolute range: its `to`. Paused: one moment
 * shared by every page and panel, so the Overview, a table row and its drill-down all describe the same window.
 */
export function useWindowEnd(): WindowEnd {
  const [live] = useLive()
  const absolute = useAbsoluteRange()
  const pausedAtMs = usePauseStore((s) => s.pausedAtMs)
  if (absolute !== null) return { untilMs: absolute.toMs, ready: true }
  if (live) return { untilMs: undefined, ready: true }
  return pausedAtMs === null ? { untilMs: undefined, ready: false } : { untilMs: pausedAtMs, ready: true }
}

interface AsOfState {
  /** When the data the current page shows was produced (epoch ms); null when the page has none yet. */
  asOfMs: number | null
}

/** The "as of" time of the data on screen, shown in the header and the offline banner. */
export const useAsOfStore = create<AsOfState>()(() => ({ asOfMs: null }))

/** Reports the current page's "as of" time to the header (cleared when the page unmounts). */
export function useReportAsOf(asOfMs: number | null): void {
  useEffect(() => {
    useAsOfStore.setState({ asOfMs })
  }, [asOfMs])
  useEffect(() => () => useAsOfStore.setState({ asOfMs: null }), [])
}

/**
 * A stable page-data key from a page name and the params that shape its data, e.g.
 * `pageKey('endpoints', { service: 'a', range: '1h' })` → `endpoints?range=1h&service=a` (params sorted, undefined dropped).
 */
export function pageKey(page: string, params: Record<string, string | number | boolean | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return parts.length ? `${page}?${parts.join('&')}` : page
}
