import type { ReactNode } from 'react'
import type { Polled } from '../../usePolled'
import { PageLoading } from '../shell/PageLoading'
import { RefreshFailed } from '../shell/RefreshFailed'

interface Props {
  /** The selected service; null: nothing to load yet. */
  service: string | null
  /** The page's query (`usePolled`). */
  polled: Pick<Polled<unknown>, 'data' | 'error' | 'loading'>
  /** What the rows are, plural: "caches", "instances" (loading, failure and refresh-failed texts). */
  what: string
  /** The answer has no rows. */
  empty: boolean
  /** Shown when `empty`, e.g. "No instance of <service> has reported." */
  emptyText: (service: string) => string
  /** The table (and what goes with it) for the selected service, once there are rows. */
  children: (service: string) => ReactNode
}

/**
 * The states of a page whose table comes from one polled query, in order: no service selected, first load
 * ("Loading <what>…"), failed with nothing to show ("Could not load the <what>: …"), no rows, and the table —
 * under a "Could not refresh" notice when the latest poll failed but an earlier answer is still shown.
 */
export function PolledTableStates({ service, polled, what, empty, emptyText, children }: Props) {
  if (service === null) return <p className="empty-state">No service selected.</p>
  if (polled.loading) return <PageLoading label={`Loading ${what}…`} />
  if (polled.error && !polled.data) {
    return (
      <p className="error-state" role="alert">
        Could not load the {what}: {polled.error.kind === 'aborted' ? 'cancelled' : polled.error.message}
      </p>
    )
  }
  if (empty) return <p className="empty-state">{emptyText(service)}</p>
  return (
    <>
      <RefreshFailed what={what} error={polled.error} />
      {children(service)}
    </>
  )
}
