/**
 * Text the Alerts page and the alert bar show for rules and alerts: one sentence per condition, labels without the
 * ones every alert carries, and the durations of `for` and windows. Pure (unit-tested in alertsView.test.ts).
 */
import type { AlertCondition } from '../../shared/alerts'

/** A duration in s as the page writes it: `45 s`, `5 min`, `1 h 30 min`, `2 d`. */
export function formatDurationS(s: number): string {
  if (s < 60) return `${s} s`
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86_400) {
    const h = Math.floor(s / 3600)
    const m = Math.round((s % 3600) / 60)
    return m === 0 ? `${h} h` : `${h} h ${m} min`
  }
  const d = Math.floor(s / 86_400)
  const h = Math.round((s % 86_400) / 3600)
  return h === 0 ? `${d} d` : `${d} d ${h} h`
}

/** "payments" / "every service", and " GET /orders" when the condition names a route. */
function scope(c: { service?: string; route?: { method: string; route: string } }): string {
  const service = c.service ?? 'any service'
  return c.route ? `${service} ${c.route.method} ${c.route.route}` : service
}

/** One sentence for a rule's condition, e.g. "error rate of payments above 5 % over 5 min (≥ 20 requests)". */
export function describeCondition(c: AlertCondition): string {
  switch (c.kind) {
    case 'breaker_not_closed':
      return `breaker ${c.breaker ?? 'any'} of ${c.service ?? 'any service'} not CLOSED`
    case 'error_rate':
      return `error rate of ${scope(c)} above ${c.abovePercent} % over ${formatDurationS(c.windowS)}${c.minRequests > 1 ? ` (≥ ${c.minRequests} requests)` : ''}`
    case 'latency':
      return `${c.percentile} of ${scope(c)} above ${c.aboveMs} ms over ${formatDurationS(c.windowS)}`
    case 'throughput': {
      const bounds = [c.belowRps !== undefined ? `below ${c.belowRps} req/s` : null, c.aboveRps !== undefined ? `above ${c.aboveRps} req/s` : null].filter(Boolean).join(' or ')
      return `throughput of ${scope(c)} ${bounds} over ${formatDurationS(c.windowS)}`
    }
    case 'instance_down':
      return `an instance of ${c.service ?? 'any service'} missed its heartbeats`
    case 'queue_waiting':
      return `more than ${c.above} jobs waiting in queue ${c.queue ?? 'any'} of ${c.service ?? 'any service'}`
    case 'queue_oldest_waiting':
      return `oldest waiting job of queue ${c.queue ?? 'any'} of ${c.service ?? 'any service'} older than ${formatDurationS(c.aboveS)}`
    case 'queue_failed_rate':
      return `more than ${c.perMinuteAbove} failed jobs per minute in queue ${c.queue ?? 'any'} of ${c.service ?? 'any service'} over ${formatDurationS(c.windowS)}`
    case 'cache_hit_ratio':
      return `hit ratio of cache ${c.cache ?? 'any'} of ${c.service ?? 'any service'} below ${c.belowPercent} % over ${formatDurationS(c.windowS)}${c.minLookups > 1 ? ` (≥ ${c.minLookups} lookups)` : ''}`
  }
}

/** Labels every alert carries (shown elsewhere on the row). */
const ROW_LABELS = new Set(['alertname', 'severity', 'rule_id'])

/** An alert's own labels as `name=value` pairs, sorted, without alertname, severity and rule_id. */
export function labelPairs(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .filter((k) => !ROW_LABELS.has(k))
    .sort()
    .map((k) => `${k}=${labels[k]}`)
}

/** The unit of a condition's value, for "value" columns: %, ms, req/s, or instances (breakers); '' when none. */
export function valueUnit(kind: AlertCondition['kind'] | undefined): string {
  switch (kind) {
    case 'error_rate':
    case 'cache_hit_ratio':
      return '%'
    case 'latency':
      return 'ms'
    case 'throughput':
      return 'req/s'
    case 'breaker_not_closed':
      return 'instances'
    case 'queue_waiting':
      return 'jobs'
    case 'queue_oldest_waiting':
      return 's'
    case 'queue_failed_rate':
      return 'per min'
    default:
      return ''
  }
}
