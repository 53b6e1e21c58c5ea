/**
 * How a chart shows missing data: a bucket no instance flushed (`SeriesPoint.noData`) carries null figures, which
 * recharts leaves as a gap (`connectNulls={false}`) — never drawn as 0 (docs/METRICS.md "Coverage and gaps").
 */

/** True when no point of the series has data: the chart says "No data in this range" instead of empty axes. */
export function allGaps(points: readonly { noData: boolean }[]): boolean {
  return points.every((p) => p.noData)
}

/**
 * True when the value at `index` (`valueAt(i)`, undefined past the ends) is a number with no number on either side:
 * a line has no segment there, so the chart marks it with a dot (else a lone bucket between two gaps would not show).
 */
export function isIsolated(valueAt: (i: number) => unknown, index: number): boolean {
  const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v)
  return isNum(valueAt(index)) && !isNum(valueAt(index - 1)) && !isNum(valueAt(index + 1))
}

/**
 * The keys among `keys` whose line has at least one isolated value in `points` (see `isIsolated`): only those lines
 * need a `dot` renderer, which recharts otherwise calls for every point (decision 042).
 */
export function keysWithLoneValues(points: readonly object[], keys: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const key of keys) {
    const at = (i: number) => (points[i] as Record<string, unknown> | undefined)?.[key]
    for (let i = 0; i < points.length; i++) {
      if (isIsolated(at, i)) {
        out.add(key)
        break
      }
    }
  }
  return out
}
