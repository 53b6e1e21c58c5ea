import { lazy, Suspense } from 'react'
import { listQueues, type QueuesResult, type QueueSummaryData } from '../api'
import { formatDurationS } from '../alertsView'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { PolledTableStates } from '../components/table/PolledTableStates'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import { NO_VALUE } from '../format'
import { pageKey, RANGES, useLive, useRange, useService } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const TimeChart = lazy(() => import('../components/charts/TimeChart').then((m) => ({ default: m.TimeChart })))

const INTEGER = new Intl.NumberFormat('en-US')
const COLUMNS: readonly FocusColumn[] = [
  { label: 'Queue' },
  { label: 'Waiting', num: true },
  { label: 'Active', num: true },
  { label: 'Delayed', num: true },
  { label: 'Prioritized', num: true },
  { label: 'Waiting children', num: true },
  { label: 'Failed', num: true },
  { label: 'Completed', num: true },
  { label: 'Oldest waiting', num: true },
  { label: 'Completed / min', num: true },
  { label: 'Failed / min', num: true },
]
const DEPTH_LINES = [
  { key: 'waiting', name: 'waiting', color: 'var(--series-p95)' },
  { key: 'active', name: 'active', color: 'var(--series-p50)' },
  { key: 'delayed', name: 'delayed', color: 'var(--series-p999)' },
]
const RATE_LINES = [
  { key: 'completed', name: 'completed', color: 'var(--series-p50)' },
  { key: 'failed', name: 'failed', color: 'var(--series-p99)' },
]
const fmtCount = (v: number) => INTEGER.format(v)

function count(q: QueueSummaryData, state: keyof NonNullable<QueueSummaryData['counts']>): string {
  return q.counts ? INTEGER.format(q.counts[state]) : NO_VALUE
}

/** Queues: every BullMQ queue the service watches — depth by state now, the oldest waiting job, completed and failed per minute, and charts. */
export function QueuesPage() {
  const [service] = useService()
  const [range] = useRange()
  const [live] = useLive()
  const windowMs = RANGES[range].ms
  const result = usePolled<QueuesResult>((signal) => listQueues({ service: service ?? '', windowMs }, { signal }), [service, windowMs], live ? LIVE_POLL_INTERVAL_MS : null, {
    pageKey: pageKey('queues', { service, range }),
    enabled: service !== null,
  })
  const queues = result.data?.queues ?? []
  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Queues</h1>
        {service && <p className="muted small">{service} · {RANGES[range].label.toLowerCase()}</p>}
      </div>
      <PolledTableStates service={service} polled={result} what="queues" empty={queues.length === 0} emptyText={(s) => `${s} watches no queues (collector.watchQueue).`}>
        {(service) => (
          <>
            <FocusTable
              testId="queues-table"
              caption={`Queues of ${service}`}
              columns={COLUMNS}
              rows={queues}
              renderRow={(q, _i, focus) => (
                <tr key={q.queue} data-testid={`queue-${q.queue}`} {...focus}>
                  <th scope="row" className="mono">
                    {q.queue}
                  </th>
                  <td className="num" data-testid={`queue-waiting-${q.queue}`}>{count(q, 'waiting')}</td>
                  <td className="num">{count(q, 'active')}</td>
                  <td className="num">{count(q, 'delayed')}</td>
                  <td className="num">{count(q, 'prioritized')}</td>
                  <td className="num">{count(q, 'waiting-children')}</td>
                  <td className="num" data-testid={`queue-failed-${q.queue}`}>{count(q, 'failed')}</td>
                  <td className="num">{count(q, 'completed')}</td>
                  <td className="num">{q.oldestWaitingAgeMs === null ? NO_VALUE : formatDurationS(Math.round(q.oldestWaitingAgeMs / 1000))}</td>
                  <td className="num">{q.completedPerMin}</td>
                  <td className="num">{q.failedPerMin}</td>
                </tr>
              )}
            />
            <div className="chart-grid">
              {queues.map((q) => (
                <Suspense key={q.queue} fallback={<SkeletonBlock heightRem={12} label="Loading chart…" />}>
                  <TimeChart
                    data={q.points.map((p) => ({ t: p.t, waiting: p.counts?.waiting ?? null, active: p.counts?.active ?? null, delayed: p.counts?.delayed ?? null }))}
                    lines={DEPTH_LINES}
                    caption={`${q.queue}: jobs by state`}
                    formatValue={fmtCount}
                    windowMs={windowMs}
                    testId={`queue-depth-chart-${q.queue}`}
                  />
                  <TimeChart
                    data={q.points.map((p) => ({ t: p.t, completed: p.completed, failed: p.failed }))}
                    lines={RATE_LINES}
                    caption={`${q.queue}: completed and failed per bucket`}
                    formatValue={fmtCount}
                    windowMs={windowMs}
                    testId={`queue-rate-chart-${q.queue}`}
                  />
                </Suspense>
              ))}
            </div>
          </>
        )}
      </PolledTableStates>
    </div>
  )
}
