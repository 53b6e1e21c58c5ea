import { issueBreakerCommand } from '../../api'
import { trackCommand } from './issuedCommands'
import { ReasonDialog } from './ReasonDialog'

interface Props {
  service: string
  breaker: string
  /** Called when the dialog closes (cancel, Escape, or after the command was accepted). */
  onClose: () => void
}

/**
 * The Overview's modal confirm for "reset" on every instance: asks for a reason, sends the command and tracks it
 * over its fixed target set like the Breakers page's CommandDialog (the row shows "n/m applied"; a toast at the end).
 */
export function ResetDialog({ service, breaker, onClose }: Props) {
  async function send(reason: string) {
    const { commandId, generation } = await issueBreakerCommand({ service, breaker, command: 'reset', reason })
    trackCommand({ service, breaker, command: 'reset', commandId, generation, instance: null })
  }

  return (
    <ReasonDialog
      title={`Reset ${breaker} on ${service}?`}
      effect="Every instance closes the breaker and clears its rolling stats."
      confirmText="Confirm reset"
      danger
      onConfirm={send}
      onClose={onClose}
    />
  )
}
