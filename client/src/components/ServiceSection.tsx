import { lazy, Suspense, useId, useMemo } from 'react'
import type { BreakerSummary, ServiceOverview } from '../../../shared/schemas'
import { formatMs, formatPercent, formatRps } from '../format'
import { BreakerTable } from './BreakerTable'
import { InstanceList } from './InstanceList'
import { Stat } from './Stat'

// recharts is most of the bundle: load it after the first paint (the chunk is precached for offline use).
const LatencyChart = lazy(() => import('./LatencyChart').then((m) => ({ default: m.LatencyChart })))

interface Props {
  service: ServiceOverview
  /** Every breaker of the snapshot; this section shows the ones of `service`. */
  breakers: BreakerSummary[]
}

/** One service: overview numbers, latency chart, instances and breakers. */
export function ServiceSection({ service, breakers }: Props) {
  const headingId = useId()
  const name = service.service
  const own = useMemo(() => breakers.filter((b) => b.service === name), [breakers, name])
  const windowMin = Math.round(service.windowMs / 60_000)

  return (
    <section className="service card" aria-labelledby={headingId} data-testid={`service-${name}`}>
      <h2 id={headingId}>
        {name} <span className="muted small">last {windowMin} min</span>
      </h2>
      <dl className="stats">
        <Stat label="Throughput" unit="req/s" value={formatRps(service.throughputRps)} testId={`throughput-${name}`} />
        <Stat label="Error rate" unit="%" value={formatPercent(service.errorRate)} testId={`error-rate-${name}`} />
        <Stat label="p50" unit="ms" value={formatMs(service.p50Ms)} testId={`p50-${name}`} />
        <Stat label="p95" unit="ms" value={formatMs(service.p95Ms)} testId={`p95-${name}`} />
        <Stat label="p99" unit="ms" value={formatMs(service.p99Ms)} testId={`p99-${name}`} />
      </dl>
      <div className="service-grid">
        <Suspense fallback={<p className="muted chart-empty">Loading chart…</p>}>
          <LatencyChart series={service.series} service={name} />
        </Suspense>
        <InstanceList instances={service.instances} service={name} />
      </div>
      <BreakerTable service={name} breakers={own} />
    </section>
  )
}
