import { useEffect } from 'react'
import { startLiveFeed } from '../liveFeed'
import { useSessionStore, useSnapshotStore } from '../store'
import { formatClock } from '../format'
import { InstallButton } from './InstallButton'
import { OfflineBanner } from './OfflineBanner'
import { ServiceSection } from './ServiceSection'
import { SignOutButton } from './SignOutButton'

/** The dashboard page: header, offline banner, one section per service. Streams live data while signed in. */
export function Dashboard() {
  const auth = useSessionStore((s) => s.auth)
  const role = useSessionStore((s) => s.role)
  const snapshot = useSnapshotStore((s) => s.snapshot)

  useEffect(() => (auth === 'signedIn' ? startLiveFeed() : undefined), [auth])

  return (
    <>
      <header className="topbar">
        <h1 className="brand">Fusebox</h1>
        <p className="as-of muted">
          {snapshot ? (
            <>
              as of <time data-testid="as-of" dateTime={new Date(snapshot.asOfMs).toISOString()}>{formatClock(snapshot.asOfMs)}</time>
            </>
          ) : (
            <span data-testid="as-of">no data yet</span>
          )}
        </p>
        <div className="topbar-actions">
          {role && (
            <span className="role-badge" data-testid="role">
              {role}
            </span>
          )}
          <InstallButton />
          {auth === 'signedIn' && <SignOutButton />}
        </div>
      </header>
      <OfflineBanner />
      <main className="services">
        {!snapshot ? (
          <p className="muted" role="status">
            Loading the first snapshot…
          </p>
        ) : snapshot.services.length === 0 ? (
          <p className="muted">No services are reporting yet. Instrument a service with the Fusebox SDK to see it here.</p>
        ) : (
          snapshot.services.map((service) => (
            <ServiceSection key={service.service} service={service} breakers={snapshot.breakers} />
          ))
        )}
      </main>
    </>
  )
}
