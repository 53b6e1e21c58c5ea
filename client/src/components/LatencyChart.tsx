import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import type { SeriesPoint } from '../../../shared/schemas'
import { formatClock, formatMs } from '../format'

interface Props {
  series: SeriesPoint[]
  service: string
}

// Module-level constants: recharts re-computes scales when these references change.
const X_DOMAIN = ['dataMin', 'dataMax'] as const
const Y_DOMAIN = [0, 'auto'] as const
const formatTick = (t: number) => formatClock(t)
const formatTooltipLabel = (t: unknown) => (typeof t === 'number' ? formatClock(t) : '')
const formatTooltipValue = (v: unknown) => `${formatMs(typeof v === 'number' ? v : null)} ms`

/** Live p50/p95/p99 latency lines over the service's series (numeric time axis, no animation). */
export function LatencyChart({ series, service }: Props) {
  return (
    <figure className="chart" data-testid={`latency-chart-${service}`}>
      <figcaption>Latency (ms)</figcaption>
      {series.length === 0 ? (
        <p className="muted chart-empty">No requests in this window.</p>
      ) : (
        <LineChart data={series} responsive width="100%" height={220} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={X_DOMAIN}
            tickFormatter={formatTick}
            stroke="var(--muted)"
            minTickGap={24}
          />
          <YAxis width="auto" domain={Y_DOMAIN} stroke="var(--muted)" />
          <Tooltip
            isAnimationActive={false}
            labelFormatter={formatTooltipLabel}
            formatter={formatTooltipValue}
            contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }}
          />
          <Legend />
          <Line name="p50" dataKey="p50Ms" stroke="var(--series-p50)" dot={false} activeDot={false} isAnimationActive={false} />
          <Line name="p95" dataKey="p95Ms" stroke="var(--series-p95)" dot={false} activeDot={false} isAnimationActive={false} />
          <Line name="p99" dataKey="p99Ms" stroke="var(--series-p99)" dot={false} activeDot={false} isAnimationActive={false} />
        </LineChart>
      )}
    </figure>
  )
}
