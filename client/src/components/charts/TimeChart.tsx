import { memo, useDeferredValue, useRef, useState, type ReactNode } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, Tooltip, XAxis, YAxis, type DotItemDotProps } from 'recharts'
import { formatClock, formatDayTime, formatMinute } from '../../format'
import { useSetAbsoluteRange } from '../../uiState'
import { formatDateTime } from '../table/format'
import { isIsolated, keysWithLoneValues } from './chartGaps'
import { timeTicks, valueTicks } from './chartTicks'
import { useSeenInView } from './useInView'

/** One line of a `TimeChart`: the data key, its legend name and a CSS colour (variable). */
export interface ChartLine {
  key: string
  name: string
  color: string
}

/** A span to mark on the time axis (an alert episode): epoch ms, `toMs` null = until the chart's end. */
export interface ChartAnnotation {
  fromMs: number
  toMs: number | null
  label: string
  severity: string
}

interface Props {
  /** Spans shaded behind the lines, each with its label (firing alerts, issue #14). */
  annotations?: readonly ChartAnnotation[]
  /** Points with a numeric time `t` (epoch ms) and one numeric (or null: a gap, never drawn as 0) field per line. */
  data: readonly object[]
  lines: readonly ChartLine[]
  caption: string
  /** Formats a value for the axis and tooltip (e.g. `(v) => \`${v} ms\``). */
  formatValue: (v: number) => string
  /** Window length in ms; ≥ 1 day shows dates on the axis. */
  windowMs: number
  testId?: string
  height?: number
  /**
   * The y axis, from 0 with 1-2-5 ticks (chartTicks.ts) up to the data's max: `minTop` the top when the data is all 0
   * or tiny (default 1), `cap` never above (1 for ratios), `target` about how many intervals (default 4).
   */
  yAxis?: { minTop?: number; cap?: number; target?: number }
  /**
   * Charts with the same `syncId` share the crosshair and tooltip (recharts `syncId`, matched by time value); pass
   * the same points to them and their time ticks are the same too.
   */
  syncId?: string
  /** Drag across the chart to zoom to that span (sets `?from=&to=`, issue #15); default true. */
  zoomable?: boolean
}

/** The deferred points before the first background drawing (`useDeferredValue`'s initial value). */
const NOT_YET: readonly object[] = []

/** A drag in progress on a chart: the time values (epoch ms, bucket starts) where it began and where it is now. */
interface Drag {
  from: number
  to: number
}

/** The time value under the pointer of a recharts mouse event, or null off the plot. */
function timeOf(e: { activeLabel?: string | number | undefined } | null | undefined): number | null {
  const v = e?.activeLabel
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN
  return Number.isFinite(n) ? n : null
}

/**
 * The range a drag from bucket `a` to bucket `b` (either order) selects: from the earlier bucket's start to the later
 * one's end (`stepMs` the bucket width), so both buckets the person pointed at are in it.
 */
export function dragRange(a: number, b: number, stepMs: number): { fromMs: number; toMs: number } {
  return { fromMs: Math.min(a, b), toMs: Math.max(a, b) + stepMs }
}

// Module-level constants: recharts recomputes scales when these references change.
const MARGIN = { top: 8, right: 12, bottom: 0, left: 0 }
const TOOLTIP_STYLE = { background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }
const DAY_MS = 86_400_000

/** Fixed y-axis width, px: the plot areas of a page's charts start at the same x, so their time ticks line up. */
const Y_AXIS_WIDTH = 72
const tickSeconds = (t: number) => formatClock(t)
const tickClock = (t: number) => formatMinute(t)
const tickDay = (t: number) => formatDayTime(t)
/** Tooltips name the point's time to the second, in the one date format of the dashboard. */
const tooltipLabel = (t: unknown) => (typeof t === 'number' ? formatDateTime(t) : '')

/** A line's dot: only for a value with a gap on both sides, which has no segment to show it. */
function loneDot(p: DotItemDotProps): ReactNode {
  if (p.cx === undefined || p.cy === undefined || !isIsolated((i) => p.points[i]?.value, p.index)) return null
  return <circle cx={p.cx} cy={p.cy} r={2.5} fill={typeof p.stroke === 'string' ? p.stroke : 'currentColor'} stroke="none" />
}

/**
 * Whether two renders of a chart would draw the same: `data` and `annotations` compared by content (a live snapshot
 * brings a new array every second, but its charted points change once per 10 s bucket), every other prop by identity.
 */
export function sameChartProps(a: Props, b: Props): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof Props)[])
  for (const k of keys) {
    if (Object.is(a[k], b[k])) continue
    if ((k === 'data' || k === 'annotations') && JSON.stringify(a[k]) === JSON.stringify(b[k])) continue
    return false
  }
  return true
}

/**
 * A time-series line chart (numeric time axis, no animation) with a caption; an empty state when no points. A null
 * value is a gap in its line (`connectNulls={false}`), a lone value between gaps a dot. Redrawn only when what it
 * draws changes (`sameChartProps`).
 */
export const TimeChart = memo(TimeChartImpl, sameChartProps)

function TimeChartImpl({ data: latest, lines, caption, formatValue, windowMs, testId, height = 200, yAxis, annotations, syncId, zoomable = true }: Props) {
  // The first drawing and every new set of points render in the background, which React can interrupt, so the page
  // stays responsive (no long task per chart; Lighthouse's total blocking time, decision 041). Until the first
  // drawing is done the chart's box holds its place.
  // A chart far below the fold (a phone's Overview) is not drawn until it nears the viewport: recharts' first
  // drawing of three charts is seconds of main thread on a mid-range phone (decision 042).
  const figureRef = useRef<HTMLElement>(null)
  const seen = useSeenInView(figureRef)
  const data = useDeferredValue(seen ? latest : NOT_YET, NOT_YET)
  const pending = data === NOT_YET && latest.length > 0
  const setAbsolute = useSetAbsoluteRange()
  const [drag, setDrag] = useState<Drag | null>(null)
  const times = (data as { t?: unknown }[]).map((p) => p.t).filter((t): t is number => typeof t === 'number')
  const first = times.length ? Math.min(...times) : 0
  const last = times.length ? Math.max(...times) : 0
  const stepMs = times.length > 1 ? (last - first) / (times.length - 1) : 10_000
  const endDrag = () => {
    if (drag && drag.from !== drag.to) setAbsolute(dragRange(drag.from, drag.to, stepMs))
    setDrag(null)
  }
  const x = timeTicks(first, last)
  const tick = windowMs >= DAY_MS ? tickDay : x.intervalMs < 60_000 ? tickSeconds : tickClock
  let max = 0
  for (const p of data as Record<string, unknown>[]) {
    for (const l of lines) {
      const v = p[l.key]
      if (typeof v === 'number' && Number.isFinite(v) && v > max) max = v
    }
  }
  // recharts calls a `dot` function for every point of a line; a line without a lone value gets none at all.
  const withLoneDots = keysWithLoneValues(data, lines.map((l) => l.key))
  const yTicks = valueTicks(max, yAxis)
  const yDomain: [number, number] = [0, yTicks.at(-1) ?? 1]
  // Clamped to the plotted span: recharts drops an area that starts or ends outside the x domain.
  const spans = (annotations ?? [])
    .map((a) => ({ ...a, x1: Math.max(first, a.fromMs), x2: Math.min(last, a.toMs ?? last) }))
    .filter((a) => times.length > 0 && a.x2 > a.x1)
  return (
    <figure ref={figureRef} className={zoomable ? 'chart is-zoomable' : 'chart'} data-testid={testId} data-annotations={spans.length}>
      <figcaption>
        {caption}
        {zoomable && data.length > 1 && <span className="visually-hidden"> (drag across the chart to zoom in)</span>}
        {spans.length > 0 && <span className="visually-hidden"> — alerts firing in this range: {spans.map((a) => a.label).join(', ')}</span>}
      </figcaption>
      {pending ? (
        <div className="chart-pending" style={{ height }} aria-busy="true" />
      ) : data.length === 0 ? (
        <p className="muted chart-empty">No data in this range.</p>
      ) : (
        <LineChart
          data={data as object[]}
          responsive
          width="100%"
          height={height}
          margin={MARGIN}
          syncId={syncId}
          syncMethod="value"
          onMouseDown={(e) => {
            const t = zoomable ? timeOf(e) : null
            if (t !== null) setDrag({ from: t, to: t })
          }}
          onMouseMove={(e) => {
            const t = timeOf(e)
            if (drag && t !== null && t !== drag.to) setDrag({ ...drag, to: t })
          }}
          onMouseUp={endDrag}
          onMouseLeave={() => setDrag(null)}
        >
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          {spans.map((a) => (
            <ReferenceArea
              key={`${a.fromMs}-${a.label}`}
              x1={a.x1}
              x2={a.x2}
              ifOverflow="hidden"
              fill={a.severity === 'critical' ? 'var(--bad-bg)' : 'var(--warn-bg)'}
              stroke={a.severity === 'critical' ? 'var(--bad)' : 'var(--warn)'}
              strokeOpacity={0.6}
              label={{ value: a.label, position: 'insideTopLeft', fill: 'var(--muted)', fontSize: 11 }}
            />
          ))}
          {drag && drag.from !== drag.to && (
            <ReferenceArea x1={Math.min(drag.from, drag.to)} x2={Math.max(drag.from, drag.to)} ifOverflow="hidden" fill="var(--accent)" fillOpacity={0.15} />
          )}
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={[first, last]}
            ticks={x.ticks}
            tickFormatter={tick}
            stroke="var(--muted)"
            interval={0}
          />
          <YAxis width={Y_AXIS_WIDTH} domain={yDomain} ticks={yTicks} interval={0} stroke="var(--muted)" tickFormatter={formatValue} />
          <Tooltip
            isAnimationActive={false}
            labelFormatter={tooltipLabel}
            formatter={(v: unknown) => (typeof v === 'number' ? formatValue(v) : '—')}
            contentStyle={TOOLTIP_STYLE}
          />
          {lines.length > 1 && <Legend />}
          {lines.map((l) => (
            <Line
              key={l.key}
              name={l.name}
              dataKey={l.key}
              stroke={l.color}
              dot={withLoneDots.has(l.key) ? loneDot : false}
              activeDot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
        </LineChart>
      )}
    </figure>
  )
}
