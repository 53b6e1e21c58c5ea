import { useMemo } from 'react'
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts'
import type { BreakerState } from '../../../../shared/schemas'
import type { EventEntryData } from '../../api'
import { formatClock } from '../../format'
import { buildTimelineRows, LEVEL_STATES } from './timelineSeries'

interface Props {
  breaker: string
  timeline: readonly EventEntryData[]
  current: readonly { instance: string; state: BreakerState }[]
  startMs: number
  endMs: number
}

const COLOURS = ['var(--series-p50)', 'var(--series-p95)', 'var(--series-p99)', 'var(--forced)', 'var(--ok)', 'var(--warn)']
const LEVEL_TICKS = [0, 1, 2, 3, 4]
const stateOfLevel = (v: number) => LEVEL_STATES[v] ?? ''
const tickTime = (t: number) => formatClock(t)

/** Step chart of each instance's state over the window (no animation), with a text summary for screen readers. */
export function StateTimeline({ breaker, timeline, current, startMs, endMs }: Props) {
  const { rows, instances } = useMemo(() => buildTimelineRows(timeline, current, startMs, endMs), [timeline, current, startMs, endMs])
  const transitions = rows.length - 2
  return (
    <figure className="chart bk-chart" data-testid="breaker-timeline-chart">
      <figcaption>
        State of {breaker} per instance over time ({transitions} transition{transitions === 1 ? '' : 's'} in the window)
      </figcaption>
      <LineChart data={rows} responsive width="100%" height={220} accessibilityLayer>
        <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
        <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={tickTime} stroke="var(--muted)" />
        <YAxis
          type="number"
          domain={[0, 4]}
          ticks={LEVEL_TICKS}
          tickFormatter={stateOfLevel}
          width="auto"
          stroke="var(--muted)"
          fontSize={11}
        />
        <Tooltip
          isAnimationActive={false}
          labelFormatter={(t) => formatClock(Number(t))}
          formatter={(v) => stateOfLevel(Number(v))}
          contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)' }}
        />
        <Legend />
        {instances.map((name, i) => (
          <Line
            key={name}
            dataKey={name}
            name={name}
            type="stepAfter"
            dot={false}
            activeDot={false}
            isAnimationActive={false}
            stroke={COLOURS[i % COLOURS.length]}
            strokeWidth={2}
            connectNulls
          />
        ))}
      </LineChart>
    </figure>
  )
}
