import { useId } from 'react'
import type { InstanceHealth } from '../../../shared/schemas'
import { formatClock, formatMegabytes } from '../format'
import { useRowFocus } from './table/useRowFocus'

interface Props {
  instances: InstanceHealth[]
  service: string
}

/**
 * Instances of a service as a small table (sticky header; arrow keys move between rows): "up"/"down" as text and
 * colour, version, heap and last heartbeat. Loading and failure are the Overview's (it shows this once it has data).
 */
export function InstanceList({ instances, service }: Props) {
  const headingId = useId()
  const rowFocus = useRowFocus(instances.length)
  const up = instances.filter((i) => i.up).length
  return (
    <div className="instances" data-testid={`instances-${service}`}>
      <h3 id={headingId}>
        Instances <span className="muted small">{up}/{instances.length} up</span>
      </h3>
      {instances.length === 0 ? (
        <p className="muted">No instances have reported.</p>
      ) : (
        <div className="table-scroll sticky-table">
          <table aria-labelledby={headingId} className="instances-table">
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Status</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((i, k) => (
                <tr key={i.instance} data-testid={`instance-${i.instance}`} {...rowFocus(k)}>
                  <th scope="row" className="instance-name">
                    {i.instance}
                  </th>
                  <td>
                    <span className={`pill ${i.up ? 'tone-ok' : 'tone-bad'}`} data-testid={`instance-status-${i.instance}`}>
                      {i.up ? 'up' : 'down'}
                    </span>
                  </td>
                  <td className="muted small">
                    v{i.version} · heap {formatMegabytes(i.heapUsedBytes)} · seen {formatClock(i.lastSeenMs)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
