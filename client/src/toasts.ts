/**
 * Transient notifications ("Force open: 2/2 applied"): a small zustand store any code can push to with
 * `toast(message, kind)`, rendered by `<Toasts />`. An info or success toast dismisses itself after
 * `TOAST_TIMEOUT_MS` of being shown while the stack is neither hovered nor focused (WCAG 2.2.1: the time pauses while
 * someone reads it); an error toast stays until dismissed (issue #15: an error must not vanish unread).
 */
import { create } from 'zustand'

export type ToastKind = 'info' | 'success' | 'error'

export interface Toast {
  id: number
  message: string
  kind: ToastKind
  /** Visible time left before it dismisses itself, ms; null: stays until dismissed (errors). */
  remainingMs: number | null
}

/** How long an info or success toast stays visible (not counting while the stack is hovered or focused). */
export const TOAST_TIMEOUT_MS = 5000
/** Most toasts shown at once; older ones are dropped first. */
export const MAX_TOASTS = 5

interface ToastState {
  toasts: Toast[]
  dismiss: (id: number) => void
  /** Counts `elapsedMs` off every timed toast and drops those whose time is up (the stack calls it while not paused). */
  tick: (elapsedMs: number) => void
}

let nextId = 1

export const useToastStore = create<ToastState>()((setState) => ({
  toasts: [],
  dismiss: (id) => setState((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  tick: (elapsedMs) =>
    setState((s) =>
      s.toasts.some((t) => t.remainingMs !== null)
        ? {
            toasts: s.toasts
              .map((t) => (t.remainingMs === null ? t : { ...t, remainingMs: t.remainingMs - elapsedMs }))
              .filter((t) => t.remainingMs === null || t.remainingMs > 0),
          }
        : s,
    ),
}))

/** Shows `message` (5 s of reading time for info and success, until dismissed for an error); returns its id. */
export function toast(message: string, kind: ToastKind = 'info'): number {
  const id = nextId++
  const remainingMs = kind === 'error' ? null : TOAST_TIMEOUT_MS
  useToastStore.setState((s) => ({ toasts: [...s.toasts, { id, message, kind, remainingMs }].slice(-MAX_TOASTS) }))
  return id
}
