import { Link, useLocation } from 'react-router'
import type { BreakerInstanceReport, BreakerSummary } from '../../../../shared/schemas'
import { formatDateTime } from '../table/format'
import { formatPercent } from '../../format'
import { BreakerActions } from './BreakerActions'
import { agreementText, breakerDetailPath, isDisagreement, stateTone } from './breakerView'
import './breakerState.css'
import './breakers.css'

interface Props {
  breaker: BreakerSummary
  /** Why commands are disabled, or null when allowed. */
  blockedReason: string | null
  /** Link the name to the breaker's page (the list); false on the page itself. */
  linkToDetail?: boolean
  /** Heading level of the breaker's name (h2 in the list, none on the detail page where the h1 names it). */
  showHeading?: boolean
}

function ms(v: number | null): string {
  if (v === null) return 'none'
  return v >= 1000 && v % 1000 === 0 ? `${v / 1000} s` : `${v} ms`
}

/** Effective options line, e.g. "timeout 3 s · error ≥ 50% · reset 30 s · volume ≥ 5". */
export function optionsText(o: BreakerInstanceReport['options']): string {
  return `timeout ${ms(o.timeoutMs)} · error ≥ ${o.errorThresholdPercentage}% · reset ${ms(o.resetTimeoutMs)} · volume ≥ ${o.volumeThreshold}`
}

/** The rolling windows of the instances' counters: "10 s", or "10–30 s" when they differ. */
function windowText(instances: readonly BreakerInstanceReport[]): string {
  const secs = [...new Set(instances.map((i) => Math.round(i.options.rollingCountTimeoutMs / 1000)))].sort((a, b) => a - b)
  return secs.length === 1 ? `${secs[0]} s` : `${secs[0]}–${secs.at(-1)} s`
}

/** One breaker: cluster state and agreement, each instance's state, rolling stats and options, and the commands. */
export function BreakerPanel({ breaker: b, blockedReason, linkToDetail = true, showHeading = true }: Props) {
  const location = useLocation()
  const id = `${b.service}-${b.name}`
  const detailPath = breakerDetailPath(b.service, b.name)
  const name = linkToDetail ? (
    <Link to={{ pathname: detailPath, search: location.search }} aria-label={`${b.name} on ${b.service} — details and timeline`}>
      {b.name}
    </Link>
  ) : (
    b.name
  )

  const options = [...new Set(b.instances.map((i) => optionsText(i.options)))]
  // Options are usually the same on every instance: said once above the table, else per row.
  const optionsPerRow = options.length > 1

  return (
    <article className="card bk-panel" data-testid={`breakers-page-row-${id}`} aria-label={`Breaker ${b.name} on ${b.service}`}>
      <header className="bk-head">
        {showHeading ? <h2 className="bk-name">{name}</h2> : null}
        <span className="bk-service muted small">{b.service}</span>
        <span className={`pill tone-${stateTone(b.clusterState)}`} data-testid={`breakers-page-state-${id}`}>
          {b.clusterState}
        </span>
        <span className={isDisagreement(b) ? 'agreement disagree' : 'agreement muted'} data-testid={`breakers-page-agreement-${id}`}>
          {agreementText(b)}
          {isDisagreement(b) ? ' — instances disagree' : ''}
        </span>
        <span className="muted small">
          generation {b.desiredGeneration}: applied by {b.appliedCount} of {b.instancesReporting} live instances
        </span>
      </header>
      {b.instances.length === 0 ? (
        <p className="muted small">No live instance reports this breaker.</p>
      ) : (
        <>
          <p className="muted small bk-window" data-testid={`breaker-window-${id}`}>
            Counts over each instance&rsquo;s rolling window ({windowText(b.instances)}); error % = failures ÷ calls, the
            figure opossum compares with its threshold (lib/circuit.js); calls count rejected ones too.
            {!optionsPerRow && options[0] !== undefined && <> Options: {options[0]}.</>}
          </p>
          <div className="table-scroll" tabIndex={0} role="region" aria-label={`Instances of ${b.name} (scrollable)`}>
            <table className="bk-table">
              <caption className="visually-hidden">Instances of {b.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Instance</th>
                  <th scope="col">State</th>
                  <th scope="col" className="num">Error %</th>
                  <th scope="col" className="num">Calls</th>
                  <th scope="col" className="num">Successes</th>
                  <th scope="col" className="num">Failures</th>
                  <th scope="col" className="num">Timeouts</th>
                  <th scope="col" className="num" title="Calls refused while OPEN (short-circuited)">
                    Rejected
                  </th>
                  <th scope="col" className="num">Fallbacks</th>
                  <th scope="col">Last transition</th>
                  <th scope="col" className="num" title="The generation of the last operator command this instance applied">
                    Command
                  </th>
                  {optionsPerRow && <th scope="col">Options</th>}
                </tr>
              </thead>
              <tbody>
                {b.instances.map((i) => (
                  <tr key={i.instance} data-testid={`breaker-instance-row-${id}-${i.instance}`}>
                    <th scope="row" className="instance-name">
                      {i.instance}
                    </th>
                    <td>
                      <span className={`pill small tone-${stateTone(i.state)}`} data-testid={`breaker-instance-state-${id}-${i.instance}`}>
                        {i.state}
                      </span>
                    </td>
                    <td className="num">{i.stats.fires > 0 ? `${formatPercent(i.stats.failures / i.stats.fires)}` : '—'}</td>
                    <td className="num">{i.stats.fires}</td>
                    <td className="num">{i.stats.successes}</td>
                    <td className="num">{i.stats.failures}</td>
                    <td className="num">{i.stats.timeouts}</td>
                    <td className="num">{i.stats.rejects}</td>
                    <td className="num">{i.stats.fallbacks}</td>
                    <td className="small bk-transition">
                      {i.lastTransitionAtMs > 0 ? formatDateTime(i.lastTransitionAtMs) : '—'}
                      {i.lastTransitionReason ? <span className="muted"> · {i.lastTransitionReason}</span> : null}
                    </td>
                    <td className="num">{i.appliedGeneration > 0 ? `#${i.appliedGeneration}` : '—'}</td>
                    {optionsPerRow && <td className="small bk-options">{optionsText(i.options)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <BreakerActions
        service={b.service}
        breaker={b.name}
        instances={b.instances.map((i) => i.instance)}
        blockedReason={blockedReason}
        now={{
          state: b.clusterState,
          resetTimeoutMs: b.instances.length ? Math.max(...b.instances.map((i) => i.options.resetTimeoutMs)) : null,
          errorThresholdPercentage: b.instances[0]?.options.errorThresholdPercentage ?? null,
          volumeThreshold: b.instances[0]?.options.volumeThreshold ?? null,
        }}
      />
    </article>
  )
}
