import { useId, useState } from 'react'
import type { BreakerCommand } from '../../../../shared/schemas'
import { issueBreakerCommand } from '../../api'
import { COMMAND_LABELS, commandEffect, confirmLabel, type BreakerNow } from './commands'
import { trackCommand } from './issuedCommands'
import { ReasonDialog } from './ReasonDialog'

interface Props {
  service: string
  breaker: string
  command: BreakerCommand
  /** Instances reporting the breaker (the optional single target). */
  instances: string[]
  /** The breaker as it is now, so the dialog says what the command will do to it; absent: the general effect. */
  now?: BreakerNow
  /** Called when the dialog closes (cancel, Escape, or after the command was accepted). */
  onClose: () => void
}

/**
 * Modal confirm of a breaker command ("Force open payments on storefront?"): a required reason, an optional single
 * target instance; on success the command is tracked until applied (progress + toast).
 */
export function CommandDialog({ service, breaker, command, instances, now, onClose }: Props) {
  const targetId = useId()
  const [target, setTarget] = useState('')

  async function send(reason: string) {
    const instance = target || undefined
    const { commandId, generation } = await issueBreakerCommand({ service, breaker, command, reason, instance })
    trackCommand({ service, breaker, command, commandId, generation, instance: instance ?? null })
  }

  return (
    <ReasonDialog
      title={`${COMMAND_LABELS[command]} ${breaker} on ${service}?`}
      effect={commandEffect(command, now)}
      confirmText={confirmLabel(command)}
      danger={command === 'forceOpen'}
      onConfirm={send}
      onClose={onClose}
    >
      <label htmlFor={targetId}>Target instance</label>
      <select id={targetId} name="instance" value={target} onChange={(e) => setTarget(e.target.value)}>
        <option value="">All instances</option>
        {instances.map((i) => (
          <option key={i} value={i}>
            {i}
          </option>
        ))}
      </select>
    </ReasonDialog>
  )
}
