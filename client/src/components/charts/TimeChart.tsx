import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import { formatClock } from '../../format'

/** One line of a `TimeChart`: the data key, its legend name and a CSS colour (variable). */
export interface ChartLine {
  key: string
  name: string
  color: string
}

interface Props {
  /** Points with a numeric time `t` (epoch ms) and one numeric (or null) field per line. */
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
   * y domain (e.g. `[0, 1]` for ratios); a bound may be a function of the data's min or max (recharts' `domain`).
   * Default from 0 to the data's max. Pass a module-level constant (a new array re-computes the scales).
   */
  yDomain?: readonly [number | ((dataMin: number) => number), number | ((dataMax: number) => number)]
}

// Module-level constants: recharts recomputes scales when these references change.
const X_DOMAIN = ['dataMin', 'dataMax'] as const
const Y_DOMAIN_AUTO = [0, 'auto'] as const
const MARGIN = { top: 8, right: 12, bottom: 0, left: 0 }
const TOOLTIP_STYLE = { background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }
const DAY_MS = 86_400_000

function formatDayTime(t: number): string {
  const d = new Date(t)
  return `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${formatClock(t).slice(0, 5)}`
}
const tickClock = (t: number) => formatClock(t).slice(0, 5)
const tickDay = (t: number) => formatDayTime(t)
const tooltipLabel = (t: unknown) => (typeof t === 'number' ? formatDayTime(t) : '')

/** A time-series line chart (numeric time axis, no animation) with a caption; an empty state when no points. */
export function TimeChart({ data, lines, caption, formatValue, windowMs, testId, height = 200, yDomain }: Props) {
  const tick = windowMs >= DAY_MS ? tickDay : tickClock
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{caption}</figcaption>
      {data.length === 0 ? (
        <p className="muted chart-empty">No data in this range.</p>
      ) : (
        <LineChart data={data as object[]} responsive width="100%" height={height} margin={MARGIN}>
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={X_DOMAIN}
            tickFormatter={tick}
            stroke="var(--muted)"
            minTickGap={28}
          />
          <YAxis width="auto" domain={yDomain ?? Y_DOMAIN_AUTO} stroke="var(--muted)" tickFormatter={formatValue} />
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
              dot={false}
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
