import { issueBreakerCommand } from '../../api'
import { recordIssued } from './issuedCommands'
import { ReasonDialog } from './ReasonDialog'

interface Props {
  service: string
  breaker: string
  /** Called when the dialog closes (cancel, Escape, or after the command was accepted). */
  onClose: () => void
}

/**
 * The Overview's modal confirm for "reset" on every instance: asks for a reason, sends the command, records its
 * generation so the row shows progress from the live snapshot (no target instance, no tracking toast, unlike the
 * Breakers page's CommandDialog).
 */
export function ResetDialog({ service, breaker, onClose }: Props) {
  async function send(reason: string) {
    const { commandId, generation } = await issueBreakerCommand({ service, breaker, command: 'reset', reason })
    recordIssued({ service, breaker, command: 'reset', commandId, generation, instance: null })
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
