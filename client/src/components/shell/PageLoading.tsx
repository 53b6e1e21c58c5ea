/** Skeleton shown while a page's code or first data loads (route `HydrateFallback`, page-level fallbacks). */
export function PageLoading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="skeleton-page" role="status" aria-busy="true">
      <span className="visually-hidden">{label}</span>
      <div className="skeleton skeleton-title" />
      <div className="skeleton-row">
        <div className="skeleton skeleton-card" />
        <div className="skeleton skeleton-card" />
        <div className="skeleton skeleton-card" />
      </div>
      <div className="skeleton skeleton-chart" />
    </div>
  )
}

/** One skeleton block of a given height (rem) for a section still loading. */
export function SkeletonBlock({ heightRem = 8, label = 'Loading…' }: { heightRem?: number; label?: string }) {
  return (
    <div className="skeleton" style={{ height: `${heightRem}rem` }} role="status" aria-busy="true">
      <span className="visually-hidden">{label}</span>
    </div>
  )
}
