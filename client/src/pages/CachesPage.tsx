import { lazy, Suspense, useId, useState, type FormEvent } from 'react'
import { invalidateCacheTag, listCaches, type CachesResult, type CacheSummaryData } from '../api'
import { SkeletonBlock } from '../components/shell/PageLoading'
import { PolledTableStates } from '../components/table/PolledTableStates'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import { classifyError } from '../errors'
import { toast } from '../toasts'
import { formatPercent, NO_VALUE } from '../format'
import { useCommandBlockedReason } from '../commandGate'
import { pageKey, usePollInterval, useService, useTimeRange, useWindowEnd } from '../uiState'
import { LIVE_POLL_INTERVAL_MS, usePolled } from '../usePolled'

const CacheHitChart = lazy(() => import('../components/charts/CacheHitChart').then((m) => ({ default: m.CacheHitChart })))

const INTEGER = new Intl.NumberFormat('en-US')
const CACHE_COLUMNS: readonly FocusColumn[] = [
  { label: 'Cache' },
  { label: 'Hits', num: true },
  { label: 'Misses', num: true },
  { label: 'Sets', num: true },
  { label: 'Invalidations', num: true },
  { label: 'Hit ratio', num: true },
]

function ratioText(r: number | null): string {
  return r === null ? NO_VALUE : `${formatPercent(r)}%`
}

/** Caches: per cache hits, misses, sets, invalidations and hit ratio (text + chart); "Invalidate tag" for operators. */
export function CachesPage() {
  const [service] = useService()
  const time = useTimeRange()
  const { untilMs, ready } = useWindowEnd()
  const windowMs = time.windowMs
  const interval = usePollInterval(LIVE_POLL_INTERVAL_MS)
  const result = usePolled<CachesResult>(
    (signal) => listCaches({ service: service ?? '', windowMs, ...(untilMs === undefined ? {} : { untilMs }) }, { signal }),
    [service, windowMs, untilMs],
    interval,
    { pageKey: pageKey('caches', { service, range: time.key, untilMs }), enabled: service !== null && ready },
  )
  const caches = result.data?.caches ?? []

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Caches</h1>
        {service && <p className="muted small">{service} · {time.preset ? time.label.toLowerCase() : time.label}</p>}
      </div>
      <PolledTableStates
        service={service}
        polled={result}
        what="caches"
        empty={caches.length === 0}
        emptyText={(s) => `${s} reports no caches in this range.`}
      >
        {(service) => (
          <>
            <FocusTable
              testId="caches-table"
              caption={`Caches of ${service}`}
              columns={CACHE_COLUMNS}
              rows={caches}
              renderRow={(c, _i, focus) => (
                <tr key={c.cache} data-testid={`cache-${c.cache}`} {...focus}>
                  <th scope="row" className="mono">
                    {c.cache}
                  </th>
                  <td className="num">{INTEGER.format(c.hits)}</td>
                  <td className="num">{INTEGER.format(c.misses)}</td>
                  <td className="num">{INTEGER.format(c.sets)}</td>
                  <td className="num">{INTEGER.format(c.invalidations)}</td>
                  <td className="num" data-testid={`cache-hit-ratio-${c.cache}`}>
                    {ratioText(c.hitRatio)}
                  </td>
                </tr>
              )}
            />
            <div className="chart-grid">
              {caches.map((c) => (
                <Suspense key={c.cache} fallback={<SkeletonBlock heightRem={12} label="Loading chart…" />}>
                  <CacheHitChart cache={c} windowMs={windowMs} />
                </Suspense>
              ))}
            </div>
            <InvalidateTagForm service={service} caches={caches} />
          </>
        )}
      </PolledTableStates>
    </div>
  )
}


/** "Invalidate tag": cache + tag + reason → `caches.invalidateTag`; shows "removed N keys". Operator only. */
function InvalidateTagForm({ service, caches }: { service: string; caches: readonly CacheSummaryData[] }) {
  const blocked = useCommandBlockedReason()
  const headingId = useId()
  const cacheId = useId()
  const tagId = useId()
  const reasonId = useId()
  const [cache, setCache] = useState(caches[0]?.cache ?? '')
  const [tag, setTag] = useState('')
  const [reason, setReason] = useState('')
  const [busy, setBusy] = useState(false)
  /** `ok` true: keys were removed (green); `'none'`: accepted but no key carried the tag (neutral); false: failed. */
  const [outcome, setOutcome] = useState<{ ok: boolean | 'none'; text: string } | null>(null)
  const chosen = caches.some((c) => c.cache === cache) ? cache : (caches[0]?.cache ?? '')

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    if (blocked) return
    const t = tag.trim()
    const r = reason.trim()
    if (!t || !r) {
      setOutcome({ ok: false, text: 'Give a tag and a reason; the reason goes into the audit log.' })
      return
    }
    setBusy(true)
    setOutcome(null)
    try {
      const { removed } = await invalidateCacheTag({ service, cache: chosen, tag: t, reason: r })
      // A tag no entry carries (a typo, or already invalidated) removes nothing: said plainly, not as a success.
      const text =
        removed === 0
          ? `${chosen}: tag “${t}” — removed 0 keys. No entry carried this tag; check its spelling.`
          : `${chosen}: tag “${t}” — removed ${removed} key${removed === 1 ? '' : 's'}.`
      setOutcome({ ok: removed === 0 ? 'none' : true, text })
      toast(removed === 0 ? `Nothing invalidated: ${text}` : `Invalidated ${text}`, removed === 0 ? 'info' : 'success')
      setTag('')
      setReason('')
    } catch (err) {
      const f = classifyError(err)
      const text =
        f.kind === 'network'
          ? 'Could not reach the server — nothing was invalidated.'
          : f.kind === 'aborted'
            ? 'Cancelled.'
            : f.code === 'FORBIDDEN'
              ? 'Only operators can invalidate cache entries.'
              : f.message
      setOutcome({ ok: false, text })
      if (f.kind !== 'aborted') toast(`Invalidation failed: ${text}`, 'error')
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="card invalidate" aria-labelledby={headingId}>
      <h2 id={headingId}>Invalidate tag</h2>
      {blocked && (
        <p className="muted small" data-testid="invalidate-disabled-reason">
          {blocked}
        </p>
      )}
      <form className="inline-form" onSubmit={onSubmit}>
        <fieldset disabled={blocked !== null || busy}>
          <div className="field">
            <label htmlFor={cacheId}>Cache</label>
            <select id={cacheId} value={chosen} onChange={(e) => setCache(e.target.value)}>
              {caches.map((c) => (
                <option key={c.cache} value={c.cache}>
                  {c.cache}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={tagId}>Tag</label>
            <input id={tagId} value={tag} maxLength={512} autoComplete="off" onChange={(e) => setTag(e.target.value)} />
          </div>
          <div className="field grow">
            <label htmlFor={reasonId}>Reason</label>
            <input id={reasonId} value={reason} maxLength={500} autoComplete="off" onChange={(e) => setReason(e.target.value)} />
          </div>
          <button type="submit" className="primary" title={blocked ?? undefined}>
            {busy ? 'Invalidating…' : 'Invalidate tag'}
          </button>
        </fieldset>
      </form>
      {outcome && (
        <p
          className={outcome.ok === true ? 'result-ok' : outcome.ok === 'none' ? 'muted' : 'notice'}
          role={outcome.ok === false ? 'alert' : 'status'}
          data-testid="invalidate-result"
          data-outcome={outcome.ok === true ? 'removed' : outcome.ok === 'none' ? 'nothing' : 'failed'}
        >
          {outcome.text}
        </p>
      )}
    </section>
  )
}
