import { useId } from 'react'
import type { BreakerSummary } from '../../../../shared/schemas'
import { useRowFocus } from '../table/useRowFocus'
import { BreakerRow } from './BreakerRow'
import { useCommandBlockedReason } from '../../commandGate'
import './breakerTable.css'

interface Props {
  service: string
  breakers: BreakerSummary[]
}

/**
 * The breakers of one service: cluster state, agreement, per-instance states and the Reset action. Sticky header;
 * arrow keys move between rows (Reset buttons keep their own tab stops). Loading and failure are the Overview's.
 */
export function BreakerTable({ service, breakers }: Props) {
  const headingId = useId()
  const blockedReason = useCommandBlockedReason()
  const rowFocus = useRowFocus(breakers.length)

  return (
    <div className="breakers" data-testid={`breakers-${service}`}>
      <h3 id={headingId}>Breakers</h3>
      {breakers.length === 0 ? (
        <p className="muted">No breakers reported by this service.</p>
      ) : (
        <>
          <div className="table-scroll sticky-table">
            <table aria-labelledby={headingId}>
              <thead>
                <tr>
                  <th scope="col">Breaker</th>
                  <th scope="col">Cluster state</th>
                  <th scope="col">Per instance</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {breakers.map((b, i) => (
                  <BreakerRow key={b.name} breaker={b} blockedReason={blockedReason} rowProps={rowFocus(i)} />
                ))}
              </tbody>
            </table>
          </div>
          {blockedReason && (
            <p className="muted small" data-testid={`commands-disabled-reason-${service}`}>
              Commands disabled: {blockedReason}
            </p>
          )}
        </>
      )}
    </div>
  )
}
