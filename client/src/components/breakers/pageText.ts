import type { CallFailure } from '../../errors'

/** One-line text of a failed page query. */
export function failureLine(f: CallFailure): string {
  if (f.kind === 'network') return 'Could not reach the Fusebox server — showing the last data received.'
  if (f.kind === 'aborted') return 'Cancelled.'
  if (f.code === 'NOT_FOUND') return f.message
  return `The server answered: ${f.message}`
}
