import { useEffect, useId, useRef, useState, type FormEvent } from 'react'
import type { BreakerCommand } from '../../../../shared/schemas'
import { issueBreakerCommand } from '../../api'
import { useCommandStore } from '../../store'
import { classifyError } from '../../errors'
import { COMMAND_EFFECTS, COMMAND_LABELS, confirmLabel, trackCommand } from './commands'

/** Longest reason the server accepts (audit log). */
const REASON_MAX_LENGTH = 500

interface Props {
  service: string
  breaker: string
  command: BreakerCommand
  /** Instances reporting the breaker (the optional single target). */
  instances: string[]
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

/**
 * Modal confirm of a breaker command ("Force open payments on storefront?"): a required reason, an optional single
 * target instance; on success the command is tracked until applied (progress + toast).
 */
export function CommandDialog({ service, breaker, command, instances, onClose }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const reasonId = useId()
  const targetId = useId()
  const [reason, setReason] = useState('')
  const [target, setTarget] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const recordIssued = useCommandStore((s) => s.recordIssued)
  const label = COMMAND_LABELS[command]

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
      const instance = target || undefined
      const { commandId, generation } = await issueBreakerCommand({ service, breaker, command, reason: trimmed, instance })
      trackCommand({ service, breaker, command, commandId, generation, instance: instance ?? null })
      // The Overview row follows cluster-wide commands through the live snapshot's generation.
      if (!instance) recordIssued({ service, breaker, command, commandId, generation })
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
          {label} {breaker} on {service}?
        </h2>
        <p className="muted">{COMMAND_EFFECTS[command]} The reason is recorded in the audit log.</p>
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
        <label htmlFor={targetId}>Target instance</label>
        <select id={targetId} name="instance" value={target} onChange={(e) => setTarget(e.target.value)}>
          <option value="">All instances</option>
          {instances.map((i) => (
            <option key={i} value={i}>
              {i}
            </option>
          ))}
        </select>
        {error && (
          <p className="notice" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => dialogRef.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={command === 'forceOpen' ? 'primary danger' : 'primary'} disabled={busy}>
            {busy ? 'Sending…' : confirmLabel(command)}
          </button>
        </div>
      </form>
    </dialog>
  )
}
