import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import { sendBreakerCommand } from '../api'
import { classifyError } from '../errors'
import { useCommandStore } from '../store'

/** Longest reason the server accepts (audit log). */
const REASON_MAX_LENGTH = 500

interface Props {
  service: string
  breaker: string
  /** Called when the dialog closes (cancel, Escape, or after the command was accepted). */
  onClose: () => void
}

function failureText(err: unknown): string {
  const failure = classifyError(err)
  if (failure.kind === 'network') return 'Could not reach the server — the command was not sent.'
  if (failure.kind === 'aborted') return 'Cancelled.'
  if (failure.code === 'FORBIDDEN') return 'Only operators can issue commands.'
  if (failure.code === 'UNAUTHORIZED') return 'Your session ended — sign in again.'
  return failure.message
}

/** Modal confirm for "reset": asks for a reason, sends the command, records its generation for progress. */
export function ResetDialog({ service, breaker, onClose }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const reasonId = useId()
  const [reason, setReason] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const recordIssued = useCommandStore((s) => s.recordIssued)

  useEffect(() => {
    const dialog = dialogRef.current
    // Guarded: StrictMode runs effects twice, and showModal() on an open dialog throws.
    if (dialog && !dialog.open) dialog.showModal()
  }, [])

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const trimmed = reason.trim()
    if (!trimmed) {
      setError('Give a reason; it goes into the audit log.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      const { commandId, generation } = await sendBreakerCommand({ service, breaker, command: 'reset', reason: trimmed })
      recordIssued({ service, breaker, command: 'reset', commandId, generation })
      dialogRef.current?.close()
    } catch (err) {
      setError(failureText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <dialog ref={dialogRef} className="dialog" aria-labelledby={titleId} onClose={onClose}>
      <form onSubmit={onSubmit}>
        <h2 id={titleId}>
          Reset {breaker} on {service}?
        </h2>
        <p className="muted">
          Every instance closes the breaker and clears its rolling stats. The reason is recorded in the audit log.
        </p>
        <label htmlFor={reasonId}>Reason</label>
        <input
          id={reasonId}
          name="reason"
          type="text"
          required
          maxLength={REASON_MAX_LENGTH}
          autoComplete="off"
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        {error && (
          <p className="notice" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => dialogRef.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary danger" disabled={busy}>
            {busy ? 'Sending…' : 'Confirm reset'}
          </button>
        </div>
      </form>
    </dialog>
  )
}
