import { useState } from 'react'
import type { BreakerSummary } from '../../../../shared/schemas'
import type { FocusableRowProps } from '../table/useRowFocus'
import { agreementText, isDisagreement, stateTone } from './breakerView'
import { progressText } from './commands'
import { useIssuedCommand } from './issuedCommands'
import { ResetDialog } from './ResetDialog'
import './breakerState.css'

interface Props {
  breaker: BreakerSummary
  /** Why commands are disabled (shown as the button's title), or null when allowed. */
  blockedReason: string | null
  /** Keyboard navigation between the table's rows (`useRowFocus`). */
  rowProps?: FocusableRowProps
}

/** One breaker row; "Reset" opens the confirm dialog, then the row shows "n/m applied" over the command's targets. */
export function BreakerRow({ breaker: b, blockedReason, rowProps }: Props) {
  const id = `${b.service}-${b.name}`
  const [confirming, setConfirming] = useState(false)
  const latest = useIssuedCommand(b.service, b.name)
  // The row follows a command sent to every instance; one sent to a single instance shows on the Breakers page.
  const issued = latest?.instance === null ? latest : undefined
  const tracking = issued?.tracking

  return (
    <tr data-testid={`breaker-${id}`} {...rowProps}>
      <th scope="row" className="breaker-name">
        {b.name}
      </th>
      <td>
        <span className={`pill tone-${stateTone(b.clusterState)}`} data-testid={`breaker-state-${id}`}>
          {b.clusterState}
        </span>{' '}
        <span
          className={isDisagreement(b) ? 'agreement disagree' : 'agreement muted'}
          data-testid={`breaker-agreement-${id}`}
        >
          {agreementText(b)}
        </span>
      </td>
      <td>
        <ul className="breaker-instances">
          {b.instances.map((i) => (
            <li key={i.instance} data-testid={`breaker-instance-${id}-${i.instance}`}>
              <span className="instance-name">{i.instance}</span>{' '}
              <span className={`pill small tone-${stateTone(i.state)}`}>{i.state}</span>{' '}
              <span className="muted small">
                gen {i.appliedGeneration} · {i.stats.failures} fail / {i.stats.fires} fires
              </span>
            </li>
          ))}
        </ul>
      </td>
      <td className="actions">
        <button
          type="button"
          disabled={blockedReason !== null}
          title={blockedReason ?? `Reset ${b.name} to CLOSED on every instance`}
          onClick={() => setConfirming(true)}
        >
          Reset
        </button>
        {issued && tracking && (
          <p className={`progress progress-${tracking.status}`} role="status" data-testid={`breaker-progress-${id}`}>
            {progressText({ command: issued.command, ...tracking })}
          </p>
        )}
        {confirming && <ResetDialog service={b.service} breaker={b.name} onClose={() => setConfirming(false)} />}
      </td>
    </tr>
  )
}
