import { useId } from 'react'
import type { InstanceHealth } from '../../../shared/schemas'
import { formatClock, formatMegabytes } from '../format'

interface Props {
  instances: InstanceHealth[]
  service: string
}

/** Instances of a service, each with "up"/"down" as text and colour, version, heap and last heartbeat. */
export function InstanceList({ instances, service }: Props) {
  const headingId = useId()
  const up = instances.filter((i) => i.up).length
  return (
    <div className="instances" data-testid={`instances-${service}`}>
      <h3 id={headingId}>
        Instances <span className="muted small">{up}/{instances.length} up</span>
      </h3>
      {instances.length === 0 ? (
        <p className="muted">No instances have reported.</p>
      ) : (
        <ul aria-labelledby={headingId}>
          {instances.map((i) => (
            <li key={i.instance} data-testid={`instance-${i.instance}`} className="instance">
              <span className="instance-name">{i.instance}</span>
              <span className={`pill ${i.up ? 'tone-ok' : 'tone-bad'}`} data-testid={`instance-status-${i.instance}`}>
                {i.up ? 'up' : 'down'}
              </span>
              <span className="muted small">
                v{i.version} · heap {formatMegabytes(i.heapUsedBytes)} · seen {formatClock(i.lastSeenMs)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
