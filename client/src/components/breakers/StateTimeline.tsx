import { useMemo } from 'react'
import type { BreakerState } from '../../../../shared/schemas'
import type { EventEntryData } from '../../api'
import { formatClock } from '../../format'
import { stateTone } from './breakerView'
import { buildTimelineRows, LEVEL_STATES } from './timelineSeries'

interface Props {
  breaker: string
  timeline: readonly EventEntryData[]
  current: readonly { instance: string; state: BreakerState }[]
  startMs: number
  endMs: number
}

/** One stretch of one instance in one state, epoch ms. */
export interface StateBand {
  fromMs: number
  toMs: number
  state: BreakerState
}

/**
 * Each instance's states over the window as bands (pure): consecutive rows of `buildTimelineRows` with the same level
 * merge into one band; an instance without a known state over a stretch has no band there.
 */
export function stateBands(rows: readonly ({ t: number } & Record<string, number>)[], instance: string): StateBand[] {
  const out: StateBand[] = []
  for (let i = 0; i + 1 < rows.length; i++) {
    const row = rows[i] as { t: number } & Record<string, number>
    const next = rows[i + 1] as { t: number }
    const state = LEVEL_STATES[row[instance] ?? -1]
    if (state === undefined || next.t <= row.t) continue
    const last = out.at(-1)
    if (last && last.state === state && last.toMs === row.t) last.toMs = next.t
    else out.push({ fromMs: row.t, toMs: next.t, state })
  }
  return out
}

const ROW_H = 22
const LABEL_W = 0
const AXIS_H = 18
const TICKS = 5

/**
 * The breaker's state timeline (issue #15): one coloured band per instance (colour + the state's name inside wide
 * enough bands, and a `<title>` on each), time across, the states' legend below; plus a text summary for screen
 * readers in the caption.
 */
export function StateTimeline({ breaker, timeline, current, startMs, endMs }: Props) {
  const { rows, instances } = useMemo(() => buildTimelineRows(timeline, current, startMs, endMs), [timeline, current, startMs, endMs])
  const transitions = rows.length - 2
  const from = rows[0]?.t ?? startMs
  const to = Math.max(rows.at(-1)?.t ?? endMs, from + 1)
  const x = (t: number) => LABEL_W + ((t - from) / (to - from)) * (100 - LABEL_W)
  const ticks = Array.from({ length: TICKS }, (_, i) => from + ((to - from) * i) / (TICKS - 1))
  const seen = new Set<BreakerState>()
  return (
    <figure className="chart bk-chart" data-testid="breaker-timeline-chart">
      <figcaption>
        State of {breaker} per instance over time ({transitions} transition{transitions === 1 ? '' : 's'} in the window)
      </figcaption>
      <div className="bk-bands">
        {instances.map((name) => {
          const bands = stateBands(rows, name)
          for (const b of bands) seen.add(b.state)
          return (
            <div className="bk-band-row" key={name} data-testid={`breaker-band-${name}`}>
              <span className="bk-band-name instance-name">{name}</span>
              <svg className="bk-band" viewBox={`0 0 100 ${ROW_H}`} preserveAspectRatio="none" role="img" aria-label={`${name}: ${bands.map((b) => `${b.state} from ${formatClock(b.fromMs)}`).join(', ') || 'no state known'}`}>
                {bands.map((b) => (
                  <rect key={b.fromMs} className={`bk-band-${stateTone(b.state)}`} x={x(b.fromMs)} width={Math.max(0.2, x(b.toMs) - x(b.fromMs))} y={0} height={ROW_H} data-state={b.state}>
                    <title>{`${name} ${b.state} ${formatClock(b.fromMs)}–${formatClock(b.toMs)}`}</title>
                  </rect>
                ))}
              </svg>
            </div>
          )
        })}
        <div className="bk-band-axis" aria-hidden="true" style={{ minHeight: AXIS_H }}>
          {ticks.map((t, i) => (
            <span key={t} style={{ left: `${x(t)}%`, transform: `translateX(${i === 0 ? '0' : i === TICKS - 1 ? '-100%' : '-50%'})` }}>
              {formatClock(t)}
            </span>
          ))}
        </div>
      </div>
      <ul className="bk-band-legend small" aria-label="States">
        {[...seen].map((s) => (
          <li key={s}>
            <span className={`bk-swatch bk-band-${stateTone(s)}`} aria-hidden="true" /> {s}
          </li>
        ))}
      </ul>
    </figure>
  )
}
