/**
 * Transient notifications ("Force open: 2/2 applied"): a small zustand store any code can push to with
 * `toast(message, kind)`, rendered by `<Toasts />`. Each toast dismisses itself after `TOAST_TIMEOUT_MS`.
 */
import { create } from 'zustand'

export type ToastKind = 'info' | 'success' | 'error'

export interface Toast {
  id: number
  message: string
  kind: ToastKind
}

/** How long a toast stays visible. */
export const TOAST_TIMEOUT_MS = 5000
/** Most toasts shown at once; older ones are dropped first. */
export const MAX_TOASTS = 5

interface ToastState {
  toasts: Toast[]
  dismiss: (id: number) => void
}

let nextId = 1

export const useToastStore = create<ToastState>()((setState) => ({
  toasts: [],
  dismiss: (id) => setState((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}))

/** Shows `message` for 5 s; returns the toast's id (for an early `dismiss`). */
export function toast(message: string, kind: ToastKind = 'info'): number {
  const id = nextId++
  useToastStore.setState((s) => ({ toasts: [...s.toasts, { id, message, kind }].slice(-MAX_TOASTS) }))
  setTimeout(() => useToastStore.getState().dismiss(id), TOAST_TIMEOUT_MS)
  return id
}
