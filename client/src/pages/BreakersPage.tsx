import { useSearchParams } from 'react-router'
import { listBreakers } from '../api'
import { useCommandBlockedReason } from '../commandGate'
import { BreakerPanel } from '../components/breakers/BreakerPanel'
import { BREAKERS_POLL_MS } from '../components/breakers/commands'
import { failureLine } from '../components/breakers/pageText'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { pageKey, usePollInterval, useService } from '../uiState'
import { usePolled } from '../usePolled'
import '../components/breakers/breakers.css'

/** Every breaker of the selected service (or of all services), with per-instance detail and the commands. */
export function BreakersPage() {
  const [service] = useService()
  const interval = usePollInterval(BREAKERS_POLL_MS)
  const [params, setParams] = useSearchParams()
  const all = params.get('all') === '1'
  const scope = all ? null : service
  const blockedReason = useCommandBlockedReason()

  const polled = usePolled(
    (signal) => listBreakers({ service: scope ?? undefined }, { signal }),
    [scope],
    interval,
    { pageKey: pageKey('breakers', { service: scope ?? '*' }) },
  )
  const breakers = polled.data

  function setAll(on: boolean) {
    setParams((prev) => {
      const next = new URLSearchParams(prev)
      if (on) next.set('all', '1')
      else next.delete('all')
      return next
    })
  }

  const disagreeing = breakers?.filter((b) => b.inClusterState < b.instancesReporting).length ?? 0
  const notClosed = breakers?.filter((b) => b.clusterState !== 'CLOSED').length ?? 0

  return (
    <section className="bk-page" aria-labelledby="breakers-title">
      <div className="page-head">
        <h1 id="breakers-title">Breakers</h1>
        <span className="muted small">{all || !service ? 'all services' : `service ${service}`}</span>
        <label className="small bk-all">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show all services
        </label>
      </div>
      {breakers && (
        <p className="muted small" data-testid="breakers-page-summary">
          {breakers.length} breaker{breakers.length === 1 ? '' : 's'} · {notClosed} not closed · {disagreeing} with instances
          disagreeing
        </p>
      )}
      {polled.error && (
        <p className="notice" role="alert">
          {failureLine(polled.error)}
        </p>
      )}
      {polled.loading && <SkeletonBlock heightRem={12} label="Loading breakers…" />}
      {breakers && breakers.length === 0 && <p className="muted">No breakers reported{scope ? ` by ${scope}` : ''}.</p>}
      <div className="bk-list">
        {breakers?.map((b) => (
          <BreakerPanel key={`${b.service}/${b.name}`} breaker={b} blockedReason={blockedReason} />
        ))}
      </div>
    </section>
  )
}
