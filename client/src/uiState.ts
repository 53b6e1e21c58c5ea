/**
 * URL-held UI state shared by every page: the selected service (`?service=`), time range (`?range=`) and
 * live/paused (`?live=`). In the URL so a view is shareable and the back button undoes a change; setters push a
 * history entry and keep the current path and every other param. Also the "as of" time the header shows, which
 * the current page reports, and the moment a paused view is frozen at (client state, see `useWindowEnd`).
 */
import { useCallback, useEffect } from 'react'
import { useSearchParams } from 'react-router'
import { create } from 'zustand'
import { NAME_PATTERN } from '../../shared/vocabulary'
import type { ServiceListItem } from './api'
import { usePageData } from './store'
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

/** The selected time range (`?range=`, default 15m). */
export function useRange(): [RangeKey, (range: RangeKey) => void] {
  const [params] = useSearchParams()
  const raw = params.get('range')
  const set = useParamSetter('range')
  const setRange = useCallback((r: RangeKey) => set(r === DEFAULT_RANGE ? null : r), [set])
  return [isRangeKey(raw) ? raw : DEFAULT_RANGE, setRange]
}

/** The selected range's window in ms (15 min … 30 days). */
export function useWindowMs(): number {
  return RANGES[useRange()[0]].ms
}

/** Live (`?live=1`, the default) or paused (`?live=0`: nothing refetches; windows end at `useWindowEnd`). */
export function useLive(): [boolean, (live: boolean) => void] {
  const [params] = useSearchParams()
  const set = useParamSetter('live')
  const setLive = useCallback((b: boolean) => set(b ? null : '0'), [set])
  return [params.get('live') !== '0', setLive]
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
  const pausedAtMs = usePauseStore((s) => s.pausedAtMs)
  useEffect(() => {
    if (live && pausedAtMs !== null) usePauseStore.setState({ pausedAtMs: null })
    else if (!live && pausedAtMs === null) usePauseStore.setState({ pausedAtMs: pauseMoment(Date.now()) })
  }, [live, pausedAtMs])
}

/** Where the windows of the current view end: now while live, the pause moment while paused. */
export interface WindowEnd {
  /** Absolute window end (epoch ms) to send as `untilMs`; undefined = now (live). */
  untilMs: number | undefined
  /** False for the one render between pausing and the moment being set: fetch nothing yet. */
  ready: boolean
}

/**
 * The end of every window the pages read (`WindowEnd`). Live: now. Paused: one moment shared by every page and
 * panel, so the Overview, a table row and its drill-down all describe the same window.
 */
export function useWindowEnd(): WindowEnd {
  const [live] = useLive()
  const pausedAtMs = usePauseStore((s) => s.pausedAtMs)
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
