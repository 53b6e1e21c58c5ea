import { Link, useLocation, useParams } from 'react-router'
import { getBreaker, type EventEntryData } from '../api'
import { useCommandBlockedReason } from '../commandGate'
import { BreakerPanel } from '../components/breakers/BreakerPanel'
import { BREAKERS_POLL_MS } from '../components/breakers/commands'
import { failureLine } from '../components/breakers/pageText'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { StateTimeline } from '../components/breakers/StateTimeline'
import { formatDateTime } from '../components/table/format'
import { pageKey, usePollInterval, useWindowEnd, useWindowMs } from '../uiState'
import { usePolled } from '../usePolled'
import '../components/breakers/breakers.css'

function change(e: EventEntryData): string {
  if (e.type === 'transition') return `${e.from || '?'} → ${e.to || '?'}`
  if (e.to) return e.from ? `${e.from} → ${e.to}` : e.to
  return '—'
}

/** One breaker (`/breakers/:service/:breaker`): summary, per-instance detail, commands, and its state timeline. */
export function BreakerDetailPage() {
  const { service = '', breaker = '' } = useParams()
  const location = useLocation()
  const windowMs = useWindowMs()
  const { untilMs, ready } = useWindowEnd()
  const interval = usePollInterval(BREAKERS_POLL_MS)
  const blockedReason = useCommandBlockedReason()

  const polled = usePolled(
    (signal) => getBreaker({ service, breaker, windowMs, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }),
    [service, breaker, windowMs, untilMs],
    interval,
    { pageKey: pageKey('breaker', { service, breaker, windowMs, untilMs }), enabled: ready },
  )
  const detail = polled.data
  const endMs = untilMs ?? polled.asOfMs ?? detail?.timeline[0]?.atMs ?? 0
  const current = detail?.summary.instances ?? []

  return (
    <section className="bk-page" aria-labelledby="breaker-title">
      <p className="small">
        <Link to={{ pathname: '/breakers', search: location.search }}>← All breakers</Link>
      </p>
      <div className="page-head">
        <h1 id="breaker-title" className="bk-name">
          {breaker}
        </h1>
        <span className="muted">on {service}</span>
      </div>
      {polled.error && (
        <p className="notice" role="alert">
          {failureLine(polled.error)}
        </p>
      )}
      {polled.loading && <SkeletonBlock heightRem={16} label={`Loading ${breaker}…`} />}
      {detail && (
        <>
          <BreakerPanel breaker={detail.summary} blockedReason={blockedReason} linkToDetail={false} showHeading={false} />
          <section className="card bk-timeline" aria-labelledby="timeline-title">
            <h2 id="timeline-title">State timeline</h2>
            <StateTimeline breaker={breaker} timeline={detail.timeline} current={current} startMs={endMs - windowMs} endMs={endMs} />
            <h3>Events</h3>
            {detail.timeline.length === 0 ? (
              <p className="muted small">No transitions or commands in this window.</p>
            ) : (
              <div className="table-scroll" tabIndex={0} role="region" aria-label="Timeline (scrollable)">
                <table className="bk-table bk-events" data-testid="breaker-timeline-list">
                  <caption className="visually-hidden">Transitions and commands of {breaker}, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Type</th>
                      <th scope="col">Instance</th>
                      <th scope="col">Change</th>
                      <th scope="col">Reason</th>
                      <th scope="col" className="num">
                        Gen
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {detail.timeline.map((e) => (
                      <tr key={e.id} data-testid="breaker-timeline-entry">
                        <td>{formatDateTime(e.atMs)}</td>
                        <td>{e.type}</td>
                        <td className="instance-name">{e.instance || 'all'}</td>
                        <td>{change(e)}</td>
                        <td className="bk-reason">{e.reason || '—'}</td>
                        <td className="num">{e.generation ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </section>
  )
}
