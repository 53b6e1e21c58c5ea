import { lazy, Suspense, useId, useState } from 'react'
import { getQueueCommandStatus, issueQueueCommand, listQueues, type QueueCommandInput, type QueuesResult, type QueueSummaryData } from '../api'
import { ReasonDialog } from '../components/breakers/ReasonDialog'
import { useCommandBlockedReason } from '../commandGate'
import { toast } from '../toasts'
import { formatDurationS } from '../alertsView'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { PolledTableStates } from '../components/table/PolledTableStates'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import { NO_VALUE } from '../format'
import { pageKey, usePollInterval, useService, useTimeRange, useWindowEnd } from '../uiState'
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
  { label: 'Actions' },
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
  const time = useTimeRange()
  const { untilMs, ready } = useWindowEnd()
  const windowMs = time.windowMs
  const interval = usePollInterval(LIVE_POLL_INTERVAL_MS)
  const result = usePolled<QueuesResult>((signal) => listQueues({ service: service ?? '', windowMs, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }), [service, windowMs, untilMs], interval, {
    pageKey: pageKey('queues', { service, range: time.key, untilMs }),
    enabled: service !== null && ready,
  })
  const queues = result.data?.queues ?? []
  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Queues</h1>
        {service && <p className="muted small">{service} · {time.preset ? time.label.toLowerCase() : time.label}</p>}
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
                  <td>
                    <QueueActions service={service} queue={q.queue} onDone={result.refresh} />
                  </td>
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

/** How old finished jobs must be to be cleaned (s). */
const CLEAN_AGES: readonly [string, number][] = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
  ['any age', 0],
]

/** Polls a queue command until an instance ran it (≤ 30 s), then says what happened. */
async function followQueueCommand(service: string, commandId: string, what: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    const s = await getQueueCommandStatus({ service, commandId })
    if (s.state === 'done') return void toast(`${what}: ${s.affected ?? 0} job(s), by ${s.claimedBy ?? 'an instance'}`, 'success')
    if (s.state === 'failed') return void toast(`${what} failed: ${s.error ?? 'unknown error'}`, 'error')
  }
  toast(`${what}: no instance watching the queue took it within 30 s`, 'error')
}

/** "Retry failed…" and "Clean…" for one queue (operator; each asks for a reason, audited). */
function QueueActions({ service, queue, onDone }: { service: string; queue: string; onDone: () => void }) {
  const blocked = useCommandBlockedReason()
  const [open, setOpen] = useState<'retry' | 'clean' | null>(null)
  const [cleanType, setCleanType] = useState<'cleanCompleted' | 'cleanFailed'>('cleanCompleted')
  const [olderThanS, setOlderThanS] = useState(3600)
  const typeId = useId()
  const ageId = useId()
  async function send(input: Omit<QueueCommandInput, 'service' | 'queue'>, what: string) {
    const { commandId } = await issueQueueCommand({ service, queue, ...input })
    void followQueueCommand(service, commandId, what).finally(onDone)
  }
  return (
    <div className="button-row">
      <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setOpen('retry')}>
        Retry failed…
      </button>
      <button type="button" className="danger" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setOpen('clean')}>
        Clean…
      </button>
      {open === 'retry' && (
        <ReasonDialog
          title={`Retry every failed job of ${queue}?`}
          effect="The failed jobs move back to waiting and run again."
          confirmText="Retry failed jobs"
          danger={false}
          onClose={() => setOpen(null)}
          onConfirm={(reason) => send({ action: 'retryFailed', olderThanS: 0, reason }, `Retry failed on ${queue}`)}
        />
      )}
      {open === 'clean' && (
        <ReasonDialog
          title={`Clean jobs of ${queue}?`}
          effect="The finished jobs chosen below are removed from the queue for good."
          confirmText="Clean"
          danger
          onClose={() => setOpen(null)}
          onConfirm={(reason) => send({ action: cleanType, olderThanS, reason }, `Clean ${queue}`)}
        >
          <label htmlFor={typeId}>Jobs</label>
          <select id={typeId} value={cleanType} onChange={(e) => setCleanType(e.target.value as typeof cleanType)}>
            <option value="cleanCompleted">completed</option>
            <option value="cleanFailed">failed</option>
          </select>
          <label htmlFor={ageId}>Finished more than</label>
          <select id={ageId} value={olderThanS} onChange={(e) => setOlderThanS(Number(e.target.value))}>
            {CLEAN_AGES.map(([label, s]) => (
              <option key={s} value={s}>
                {label}
              </option>
            ))}
          </select>
        </ReasonDialog>
      )}
    </div>
  )
}
