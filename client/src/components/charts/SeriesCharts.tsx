import type { SeriesPoint } from '../../../../shared/schemas'
import { formatMs, formatPercent, formatRps } from '../../format'
import { allGaps } from './chartGaps'
import { TimeChart, type ChartAnnotation, type ChartLine } from './TimeChart'

const THROUGHPUT: ChartLine[] = [{ key: 'throughputRps', name: 'req/s', color: 'var(--series-p50)' }]
const ERRORS: ChartLine[] = [{ key: 'errorRate', name: 'error rate', color: 'var(--series-p99)' }]
const LATENCY: ChartLine[] = [
  { key: 'p50Ms', name: 'p50', color: 'var(--series-p50)' },
  { key: 'p95Ms', name: 'p95', color: 'var(--series-p95)' },
  { key: 'p99Ms', name: 'p99', color: 'var(--series-p99)' },
]
const LATENCY_WITH_P999: ChartLine[] = [...LATENCY, { key: 'p999Ms', name: 'p99.9', color: 'var(--series-p999)' }]
/** No points: every chart shows its "No data in this range" state. */
const NONE: readonly SeriesPoint[] = []
/** Error rate axis (fractions): 1-2-5 ticks from 0 to the highest rate, 0–5 % when all is 0, never beyond 100 %. */
const ERROR_AXIS = { minTop: 0.05, cap: 1 }
/**
 * Axis tops no lower than 4 intervals of the labels' finest digit (formatRps: 0.01 req/s; formatMs: 0.1 ms below
 * 10 ms), so a quiet series' step is never finer than its labels (0.005 would read 0.00, 0.01, 0.01, 0.01, 0.02).
 */
const THROUGHPUT_AXIS = { minTop: 0.04 }
const LATENCY_AXIS = { minTop: 0.4 }
const fmtRps = (v: number) => formatRps(v)
const fmtPct = (v: number) => `${formatPercent(v)}%`
const fmtMs = (v: number) => `${formatMs(v)} ms`

interface Props {
  points: readonly SeriesPoint[]
  windowMs: number
  /** Suffix of the charts' test ids, e.g. the service name. */
  id: string
  /** Draw p99.9 on the latency chart too (a route's drill-down). */
  withP999?: boolean
  /** Alert episodes to shade on every chart (start to end of firing). */
  annotations?: readonly ChartAnnotation[]
}

/**
 * Throughput, error rate and p50/p95/p99 (and p99.9) charts of one series (a service or one route), the points as the
 * server defines them: a bucket without data is a gap, a bucket without requests has no error rate or latency.
 */
export function SeriesCharts({ points: all, windowMs, id, withP999 = false, annotations }: Props) {
  const points = allGaps(all) ? NONE : all
  return (
    <div className="chart-grid">
      <TimeChart data={points} lines={THROUGHPUT} caption="Throughput (req/s)" formatValue={fmtRps} windowMs={windowMs} testId={`throughput-chart-${id}`} annotations={annotations} syncId={`series-${id}`} yAxis={THROUGHPUT_AXIS} />
      <TimeChart
        data={points}
        lines={ERRORS}
        caption="Error rate (%)"
        formatValue={fmtPct}
        windowMs={windowMs}
        testId={`error-chart-${id}`}
        syncId={`series-${id}`}
        yAxis={ERROR_AXIS}
        annotations={annotations}
      />
      <TimeChart data={points} lines={withP999 ? LATENCY_WITH_P999 : LATENCY} caption="Latency (ms)" formatValue={fmtMs} windowMs={windowMs} testId={`latency-chart-${id}`} annotations={annotations} syncId={`series-${id}`} yAxis={LATENCY_AXIS} />
    </div>
  )
}
