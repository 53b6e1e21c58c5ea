import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { classifyError } from '../../errors'
import './reasonDialog.css'

/** Longest reason the server accepts (audit log). */
const REASON_MAX_LENGTH = 500

interface Props {
  /** Heading and accessible name of the dialog ("Reset payments on storefront?"). */
  title: string
  /** What the command does; " The reason is recorded in the audit log." follows it. */
  effect: string
  /** Text of the confirm button ("Confirm reset"); "Sending…" while the command is on its way. */
  confirmText: string
  /** Styles the confirm button as destructive. */
  danger: boolean
  /**
   * Sends the command with the trimmed, non-empty reason. When it resolves the dialog closes; when it rejects the
   * failure is shown in the dialog, which stays open.
   */
  onConfirm: (reason: string) => Promise<void>
  /** Called when the dialog closes (cancel, Escape, or after `onConfirm` resolved). */
  onClose: () => void
  /** More fields, between the reason and the buttons (e.g. a target instance). */
  children?: ReactNode
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
 * The modal confirm every audited breaker command goes through: a title, what the command does, a required
 * reason (≤ 500 characters, for the audit log), optional extra fields, Cancel and the confirm button. The caller
 * sends the command in `onConfirm`; this dialog owns validation, the busy state and the failure text.
 */
export function ReasonDialog({ title, effect, confirmText, danger, onConfirm, onClose, children }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const reasonId = useId()
  const [reason, setReason] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

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
      await onConfirm(trimmed)
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
        <h2 id={titleId}>{title}</h2>
        <p className="muted">{effect} The reason is recorded in the audit log.</p>
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
        {children}
        {error && (
          <p className="notice" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => dialogRef.current?.close()} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={danger ? 'primary danger' : 'primary'} disabled={busy}>
            {busy ? 'Sending…' : confirmText}
          </button>
        </div>
      </form>
    </dialog>
  )
}
