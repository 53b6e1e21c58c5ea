import { useState } from 'react'
import type { BreakerCommand } from '../../../../shared/schemas'
import { COMMANDS, COMMAND_LABELS, progressText, type BreakerNow } from './commands'
import { CommandDialog } from './CommandDialog'
import { useIssuedCommand } from './issuedCommands'
import './breakerState.css'

interface Props {
  service: string
  breaker: string
  instances: string[]
  /** Why commands are disabled (visible text and the buttons' title), or null when allowed. */
  blockedReason: string | null
  /** The breaker now (state, options), for what each dialog says the command will do. */
  now?: BreakerNow
}

/** Reset / Force open / Force closed / Release, each behind a confirm dialog, and the live "n/m applied". */
export function BreakerActions({ service, breaker, instances, blockedReason, now }: Props) {
  const [command, setCommand] = useState<BreakerCommand | null>(null)
  const issued = useIssuedCommand(service, breaker)
  const tracking = issued?.tracking
  const id = `${service}-${breaker}`

  return (
    <div className="bk-actions">
      <div className="bk-buttons" role="group" aria-label={`Commands for ${breaker}`}>
        {COMMANDS.map((c) => (
          <button
            key={c}
            type="button"
            className={c === 'forceOpen' ? 'bk-danger' : undefined}
            disabled={blockedReason !== null}
            title={blockedReason ?? `${COMMAND_LABELS[c]} ${breaker} on ${service}`}
            onClick={() => setCommand(c)}
          >
            {COMMAND_LABELS[c]}
          </button>
        ))}
      </div>
      {blockedReason && <p className="muted small bk-blocked">Commands disabled: {blockedReason}</p>}
      {issued && tracking && (
        <p className={`progress bk-progress bk-progress-${tracking.status}`} role="status" data-testid={`command-progress-${id}`}>
          {progressText({ command: issued.command, ...tracking })}
          {issued.instance ? ` (instance ${issued.instance})` : ''}
        </p>
      )}
      {command && (
        <CommandDialog service={service} breaker={breaker} command={command} instances={instances} now={now} onClose={() => setCommand(null)} />
      )}
    </div>
  )
}
