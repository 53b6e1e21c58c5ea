import { lazy, Suspense } from 'react'
import { PageLoading } from '../components/shell/PageLoading'
import { useLanding } from '../useLanding'

// Each page in its own chunk, as the router loads every other page (router.tsx).
const FleetPage = lazy(async () => ({ default: (await import('./FleetPage')).FleetPage }))
const OverviewPage = lazy(async () => ({ default: (await import('./OverviewPage')).OverviewPage }))

/**
 * The root `/`: the fleet view when the URL names no service and more than one service reports, else the selected
 * service's Overview (`useLanding`, landing.ts); a skeleton until the services are known.
 */
export function LandingPage() {
  const landing = useLanding()
  if (landing === 'loading') return <PageLoading label="Loading the services…" />
  return <Suspense fallback={<PageLoading />}>{landing === 'fleet' ? <FleetPage /> : <OverviewPage />}</Suspense>
}
