import type { CacheSummaryData } from '../../api'
import { formatPercent, NO_VALUE } from '../../format'
import { TimeChart, type ChartLine } from './TimeChart'

const LINES: ChartLine[] = [{ key: 'hitRatio', name: 'hit ratio', color: 'var(--series-p50)' }]
/** A ratio: 0–100 % in steps of 20 %. */
const RATIO_AXIS = { minTop: 1, cap: 1, target: 5 }
const fmtRatio = (v: number) => `${formatPercent(v)}%`

/** Hit ratio of one cache over the range (0–100 %), captioned with the cache name and its overall ratio. */
export function CacheHitChart({ cache, windowMs }: { cache: CacheSummaryData; windowMs: number }) {
  const overall = cache.hitRatio === null ? NO_VALUE : fmtRatio(cache.hitRatio)
  return (
    <TimeChart
      data={cache.points}
      lines={LINES}
      caption={`${cache.cache} — hit ratio (${overall} overall)`}
      formatValue={fmtRatio}
      windowMs={windowMs}
      yAxis={RATIO_AXIS}
      testId={`cache-chart-${cache.cache}`}
    />
  )
}
