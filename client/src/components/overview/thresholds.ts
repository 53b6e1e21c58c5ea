/**
 * Amber/red thresholds of the Overview tiles (issue #15): taken from the enabled alert rules that watch the service
 * as a whole (a `warning` rule → amber, a `critical` rule → red; the lowest bound of each severity wins), else the
 * documented defaults below (docs/METRICS.md "Tile colours"). Pure.
 */
import type { AlertRule } from '../../../../shared/alerts'

/** A tile's colour: `ok` (no threshold crossed or none known), `warn` (amber), `bad` (red). */
export type Tone = 'ok' | 'warn' | 'bad'

/**
 * One figure's thresholds. `direction: 'above'`: amber when value ≥ `amber`, red when ≥ `red` (error rate, latency);
 * `'below'`: amber when value ≤ `amber`, red when ≤ `red` (throughput). A missing bound never colours.
 */
export interface Threshold {
  direction: 'above' | 'below'
  amber?: number
  red?: number
  /** Where the bounds come from: the names of the rules, or 'default'. */
  source: string
}

/** The figures a tile can colour: error rate as a fraction 0–1, latencies in ms, throughput in req/s. */
export type TileFigure = 'errorRate' | 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms' | 'throughputRps'

/**
 * Defaults until a rule exists for the figure: error rate amber at 1 %, red at 5 % (the "High error rate" template of
 * shared/alerts.ts uses 5 %; 1 % is the SRE book's usual 99 % availability budget); p99 amber at 500 ms and red at
 * 1,000 ms (the 0.5 s / 1 s buckets Grafana's RED-method dashboards mark). Other figures have no default colour:
 * what is slow or low depends on the service.
 */
export const DEFAULT_THRESHOLDS: Readonly<Partial<Record<TileFigure, Threshold>>> = {
  errorRate: { direction: 'above', amber: 0.01, red: 0.05, source: 'default' },
  p99Ms: { direction: 'above', amber: 500, red: 1000, source: 'default' },
}

const PERCENTILE_FIGURE = { p50: 'p50Ms', p95: 'p95Ms', p99: 'p99Ms', 'p99.9': 'p999Ms' } as const

/**
 * @param rules  every alert rule (disabled ones and rules of other services or of one route are skipped)
 * @param service  the service the tiles show
 * @returns each figure's thresholds: from rules where one watches it, else DEFAULT_THRESHOLDS
 */
export function tileThresholds(rules: readonly AlertRule[], service: string): Partial<Record<TileFigure, Threshold>> {
  const fromRules: Partial<Record<TileFigure, Threshold>> = {}
  const add = (figure: TileFigure, direction: Threshold['direction'], level: 'amber' | 'red', bound: number, name: string) => {
    const t = (fromRules[figure] ??= { direction, source: '' })
    if (t.direction !== direction) return // one direction per figure: the first rule's
    const current = t[level]
    t[level] = current === undefined ? bound : direction === 'above' ? Math.min(current, bound) : Math.max(current, bound)
    t.source = t.source ? `${t.source}, ${name}` : name
  }
  for (const rule of rules) {
    const c = rule.condition
    if (!rule.enabled || ('service' in c && c.service !== undefined && c.service !== service)) continue
    if ('route' in c && c.route !== undefined) continue
    const level = rule.severity === 'critical' ? 'red' : 'amber'
    if (c.kind === 'error_rate') add('errorRate', 'above', level, c.abovePercent / 100, rule.name)
    else if (c.kind === 'latency') add(PERCENTILE_FIGURE[c.percentile], 'above', level, c.aboveMs, rule.name)
    else if (c.kind === 'throughput' && c.belowRps !== undefined) add('throughputRps', 'below', level, c.belowRps, rule.name)
  }
  return { ...DEFAULT_THRESHOLDS, ...fromRules }
}

/**
 * @param value  the figure (null: nothing to colour)
 * @param t  its thresholds, if any
 * @returns 'bad' past the red bound, 'warn' past the amber one, else 'ok'
 */
export function toneOf(value: number | null, t: Threshold | undefined): Tone {
  if (value === null || t === undefined || !Number.isFinite(value)) return 'ok'
  const past = (bound: number | undefined) => bound !== undefined && (t.direction === 'above' ? value >= bound : value <= bound)
  return past(t.red) ? 'bad' : past(t.amber) ? 'warn' : 'ok'
}
