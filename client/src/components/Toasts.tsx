import { useEffect, useState } from 'react'
import { useToastStore } from '../toasts'
import './toasts.css'

/** How often the stack counts down its timed toasts, ms. */
const TICK_MS = 250

/**
 * The toast stack (bottom right; full width on a phone). A polite live region: screen readers announce each toast.
 * Timed toasts count down only while the stack is neither hovered nor focused; errors wait for "Dismiss".
 */
export function Toasts() {
  const toasts = useToastStore((s) => s.toasts)
  const dismiss = useToastStore((s) => s.dismiss)
  const [hovered, setHovered] = useState(false)
  const [focused, setFocused] = useState(false)
  const paused = hovered || focused
  const timed = toasts.some((t) => t.remainingMs !== null)
  useEffect(() => {
    if (paused || !timed) return undefined
    const timer = setInterval(() => useToastStore.getState().tick(TICK_MS), TICK_MS)
    return () => clearInterval(timer)
  }, [paused, timed])
  return (
    <div
      className="toasts"
      role="status"
      aria-live="polite"
      data-testid="toasts"
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setFocused(false)
      }}
    >
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} data-testid="toast">
          <span className="toast-message">{t.message}</span>
          <button type="button" className="toast-close" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
