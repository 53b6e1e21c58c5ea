import type { CallFailure } from '../../errors'

/**
 * "Could not refresh the <what> (<message>); showing the last answer." — shown above data a page still has when its
 * latest fetch failed on the server side. A network failure is the offline banner's to report, so it shows nothing.
 */
export function RefreshFailed({ what, error }: { what: string; error: CallFailure | null | undefined }) {
  if (error?.kind !== 'server') return null
  return (
    <p className="notice small" role="alert">
      Could not refresh the {what} ({error.message}); showing the last answer.
    </p>
  )
}
