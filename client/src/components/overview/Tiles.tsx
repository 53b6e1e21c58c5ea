import type { SeriesPoint } from '../../../../shared/schemas'
import './overview.css'
import { formatMs, formatPercent, formatThroughput } from '../../format'
import type { ServiceStats } from '../ServiceSection'
import { toneOf, type Threshold, type TileFigure, type Tone } from './thresholds'

/** One tile: the figure, its label and unit, how it is formatted, and the test-id stem. */
interface TileSpec {
  figure: TileFigure
  label: string
  unit: string
  format: (v: number | null) => string
  /** `<testId>-<service>` holds the window figure, `<testId>-current-<service>` the current one. */
  testId: string
}

const pct = (v: number | null) => formatPercent(v)
const TILES: readonly TileSpec[] = [
  { figure: 'throughputRps', label: 'Throughput', unit: 'req/s', format: formatThroughput, testId: 'throughput' },
  { figure: 'errorRate', label: 'Error rate', unit: '%', format: pct, testId: 'error-rate' },
  { figure: 'p50Ms', label: 'p50', unit: 'ms', format: formatMs, testId: 'p50' },
  { figure: 'p95Ms', label: 'p95', unit: 'ms', format: formatMs, testId: 'p95' },
  { figure: 'p99Ms', label: 'p99', unit: 'ms', format: formatMs, testId: 'p99' },
  { figure: 'p999Ms', label: 'p99.9', unit: 'ms', format: formatMs, testId: 'p999' },
]

/**
 * The current point of a series: its newest bucket with data (a gap is skipped), i.e. the last point the charts
 * draw — Grafana's "Last (not null)" reduction of a stat panel; null when no bucket has data.
 */
export function currentPoint(points: readonly SeriesPoint[]): SeriesPoint | null {
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]
    if (p && !p.noData) return p
  }
  return null
}

interface Props {
  service: string
  /** Figures over the window (the range picker's); null while loading. */
  stats: ServiceStats | null
  /** Short label of the window, e.g. "15 min". */
  windowLabel: string
  /** The current point (`currentPoint` of the live 10 s series); null when none. */
  current: SeriesPoint | null
  /** Width of the current point's bucket, ms (the tile says "last 10 s"). */
  currentBucketMs: number
  /** Points the sparklines draw (the window's series). */
  points: readonly SeriesPoint[] | null
  thresholds: Partial<Record<TileFigure, Threshold>>
}

/** Words for a tone, so a colour never stands alone (WCAG 1.4.1). */
const TONE_WORD: Record<Tone, string> = { ok: '', warn: 'amber', bad: 'red' }

/**
 * The Overview's tiles (issue #15): per figure the current value (last complete bucket, big), the window's figure beside
 * it, a sparkline of the window and amber/red from the thresholds, spelled out beside the colour.
 */
export function Tiles({ service, stats, windowLabel, current, currentBucketMs, points, thresholds }: Props) {
  return (
    <dl className="stats tiles">
      {TILES.map((t) => {
        const now = current ? current[t.figure] : null
        const tone = toneOf(now, thresholds[t.figure])
        const bound = tone === 'bad' ? thresholds[t.figure]?.red : thresholds[t.figure]?.amber
        return (
          <div key={t.figure} className={`stat tile tone-${tone}`} data-tone={tone} data-testid={`tile-${t.testId}-${service}`}>
            <dt>
              {t.label} <span className="muted">({t.unit})</span>
            </dt>
            <dd>
              <span className="stat-value" data-testid={`${t.testId}-current-${service}`}>
                {current ? t.format(now) : '—'}
              </span>
              {tone !== 'ok' && bound !== undefined && (
                <span className={`tone-badge tone-${tone}`} title={`threshold from ${thresholds[t.figure]?.source ?? ''}`}>
                  {TONE_WORD[tone]}: {thresholds[t.figure]?.direction === 'below' ? '≤' : '≥'} {t.figure === 'errorRate' ? `${formatPercent(bound)}%` : t.format(bound)}
                </span>
              )}
              <span className="stat-now muted">last {Math.round(currentBucketMs / 1000)} s</span>
              <span className="stat-window muted">
                {windowLabel}: <span data-testid={`${t.testId}-${service}`}>{stats ? t.format(stats[t.figure]) : '—'}</span>
              </span>
              {points && <Sparkline values={points.map((p) => p[t.figure])} />}
            </dd>
          </div>
        )
      })}
    </dl>
  )
}

/**
 * A tiny trend line of one figure over the window (null = a gap, never drawn as 0); decorative beside the numbers, so
 * hidden from assistive technology.
 */
export function Sparkline({ values }: { values: readonly (number | null)[] }) {
  const defined = values.filter((v): v is number => v !== null && Number.isFinite(v))
  if (defined.length < 2) return null
  const max = Math.max(...defined)
  const min = Math.min(0, ...defined)
  const span = max - min || 1
  const n = values.length
  const segments: string[][] = [[]]
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      if ((segments.at(-1) ?? []).length > 0) segments.push([])
      return
    }
    const x = n === 1 ? 0 : (i / (n - 1)) * 100
    const y = 22 - ((v - min) / span) * 20
    segments.at(-1)?.push(`${x.toFixed(2)},${y.toFixed(2)}`)
  })
  return (
    <svg className="sparkline" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true" focusable="false">
      {segments
        .filter((s) => s.length > 0)
        .map((s, i) => (s.length === 1 ? <circle key={i} cx={s[0]?.split(',')[0]} cy={s[0]?.split(',')[1]} r={1.2} /> : <polyline key={i} points={s.join(' ')} />))}
    </svg>
  )
}
