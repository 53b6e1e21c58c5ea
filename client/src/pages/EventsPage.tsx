import { useCallback, useRef, type KeyboardEvent } from 'react'
import { useSearchParams } from 'react-router'
import { EVENT_TYPES, NAME_PATTERN } from '../../../shared/vocabulary'
import { auditExportUrl, getEventsWindow, listAudit, listEvents, type AuditEntryData, type EventEntryData } from '../api'
import { formatCount, formatLogTime } from '../components/table/format'
import { InvalidFilter, LogFilters, useFilterProblem, useFilterValues, type FilterField } from '../components/table/LogFilters'
import { CursorLogGrid, WindowedLogGrid } from '../components/table/LogGrid'
import { useCursorRows } from '../components/table/useCursorRows'
import type { Column } from '../components/table/VirtualTable'
import { useService } from '../uiState'
import { useLiveLog } from './useLiveLog'

const nameCheck = (v: string) => (NAME_PATTERN.test(v) ? null : 'Names use 1–64 of A-Z a-z 0-9 . _ -')

const EVENT_FILTERS: readonly FilterField[] = [
  { param: 'breaker', label: 'Breaker', placeholder: 'breaker name', validate: nameCheck },
  { param: 'type', label: 'Type', options: EVENT_TYPES },
  { param: 'instance', label: 'Instance', placeholder: 'instance name', validate: nameCheck },
]

const AUDIT_FILTERS: readonly FilterField[] = [{ param: 'actor', label: 'Actor', placeholder: 'who' }]

function change(e: EventEntryData): string {
  if (e.from && e.to) return `${e.from} → ${e.to}`
  return e.to || e.from || '—'
}

const EVENT_COLUMNS: Column<EventEntryData>[] = [
  { id: 'time', header: 'Time', width: '13rem', className: 'mono', render: (e) => formatLogTime(e.atMs) },
  { id: 'type', header: 'Type', width: '8.5rem', render: (e) => e.type },
  { id: 'breaker', header: 'Breaker', width: 'minmax(7rem, 1fr)', className: 'mono', render: (e) => e.breaker },
  { id: 'instance', header: 'Instance', width: 'minmax(7rem, 1fr)', className: 'mono', render: (e) => e.instance || 'all' },
  { id: 'change', header: 'Change', width: 'minmax(11rem, 1.3fr)', render: change },
  { id: 'reason', header: 'Reason', width: 'minmax(10rem, 2fr)', render: (e) => <span title={e.reason}>{e.reason || '—'}</span> },
  { id: 'gen', header: 'Gen', width: '3.5rem', className: 'num', render: (e) => e.generation ?? '—' },
]

const AUDIT_COLUMNS: Column<AuditEntryData>[] = [
  { id: 'time', header: 'Time', width: '13rem', className: 'mono', render: (a) => formatLogTime(a.atMs) },
  { id: 'actor', header: 'Actor', width: 'minmax(6rem, 1fr)', render: (a) => a.actor },
  { id: 'service', header: 'Service', width: 'minmax(6rem, 1fr)', className: 'mono', render: (a) => a.service },
  { id: 'action', header: 'Action', width: '7.5rem', render: (a) => a.action },
  { id: 'target', header: 'Target', width: 'minmax(8rem, 1.3fr)', className: 'mono', render: (a) => a.target },
  { id: 'reason', header: 'Reason', width: 'minmax(10rem, 2fr)', render: (a) => <span title={a.reason}>{a.reason || '—'}</span> },
  { id: 'outcome', header: 'Outcome', width: 'minmax(8rem, 1.3fr)', render: (a) => <span title={a.outcome}>{a.outcome || '—'}</span> },
]

/** Grid settings shared by the whole and the filtered events log. */
const EVENT_GRID = {
  columns: EVENT_COLUMNS,
  statusTestId: 'events-status',
  testId: 'events-grid',
  rowTestId: 'event-row',
  minWidth: 880,
}

function AllEvents({ service }: { service: string }) {
  const fetcher = useCallback(
    (offset: number, limit: number, signal: AbortSignal, untilId?: string) =>
      getEventsWindow({ service, offset, limit, untilId }, { signal }),
    [service],
  )
  const rows = useLiveLog<EventEntryData>(fetcher)
  return (
    <WindowedLogGrid
      {...EVENT_GRID}
      rows={rows}
      summary={(total) => `${formatCount(total)} events, newest first`}
      label={`Events of ${service}`}
      resetKey={service}
      emptyText="No events yet."
      errorText="Could not load the events."
    />
  )
}

function FilteredEvents({ service, filters }: { service: string; filters: Record<string, string> }) {
  const { breaker, instance } = filters
  const type = EVENT_TYPES.find((t) => t === filters.type)
  const fetcher = useCallback(
    (cursor: string | null, signal: AbortSignal) => listEvents({ service, cursor, limit: 200, breaker, instance, type }, { signal }),
    [service, breaker, instance, type],
  )
  const rows = useCursorRows<EventEntryData>(fetcher)
  return (
    <CursorLogGrid
      {...EVENT_GRID}
      rows={rows}
      summary={(n) => `${formatCount(n)} matching event${n === 1 ? '' : 's'} loaded`}
      label={`Events of ${service}, filtered`}
      resetKey={`${service}|${breaker ?? ''}|${instance ?? ''}|${type ?? ''}`}
      emptyText="No matching events."
      errorText="Could not load matching events."
    />
  )
}

function AuditLog({ actor }: { actor: string | undefined }) {
  const fetcher = useCallback((cursor: string | null, signal: AbortSignal) => listAudit({ cursor, limit: 200, actor }, { signal }), [actor])
  const rows = useCursorRows<AuditEntryData>(fetcher)
  return (
    <CursorLogGrid
      rows={rows}
      summary={(n) => `${formatCount(n)} audit entr${n === 1 ? 'y' : 'ies'} loaded (all services)`}
      statusTestId="audit-status"
      label="Audit log"
      columns={AUDIT_COLUMNS}
      testId="audit-grid"
      rowTestId="audit-row"
      minWidth={900}
      height="min(60vh, 560px)"
      resetKey={actor ?? ''}
      emptyText="No operator actions recorded."
      errorText="Could not load the audit log."
    />
  )
}

type Tab = 'events' | 'audit'
const TABS: { id: Tab; label: string }[] = [
  { id: 'events', label: 'Events' },
  { id: 'audit', label: 'Audit' },
]

/** Breaker events (transitions, commands issued/applied) and the operator audit log, as two tabs. */
export function EventsPage() {
  const [service] = useService()
  const [params, setParams] = useSearchParams()
  const tab: Tab = params.get('tab') === 'audit' ? 'audit' : 'events'
  const eventFilters = useFilterValues(EVENT_FILTERS)
  const eventFilterProblem = useFilterProblem(EVENT_FILTERS)
  const auditFilters = useFilterValues(AUDIT_FILTERS)
  const tabRefs = useRef<Partial<Record<Tab, HTMLButtonElement | null>>>({})

  function select(next: Tab) {
    setParams((prev) => {
      const p = new URLSearchParams(prev)
      if (next === 'events') p.delete('tab')
      else p.set('tab', next)
      return p
    })
  }

  function onTabKey(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight' && e.key !== 'Home' && e.key !== 'End') return
    e.preventDefault()
    const i = TABS.findIndex((t) => t.id === tab)
    const n = TABS.length
    const j = e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : (i + (e.key === 'ArrowRight' ? 1 : n - 1)) % n
    const next = TABS[j]
    if (!next) return
    select(next.id)
    tabRefs.current[next.id]?.focus()
  }

  return (
    <section className="log-page" aria-labelledby="events-title">
      <div className="page-head">
        <h1 id="events-title">Events &amp; audit</h1>
        {service && tab === 'events' && <span className="muted small">service {service}</span>}
      </div>
      <div className="tabs" role="tablist" aria-label="Events and audit" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              tabRefs.current[t.id] = el
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => select(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'events' ? (
          <>
            <LogFilters fields={EVENT_FILTERS} label="Filter events" />
            {service === null ? (
              <p className="muted">No service selected — pick one above once a service has reported.</p>
            ) : eventFilterProblem ? (
              <InvalidFilter problem={eventFilterProblem} />
            ) : Object.keys(eventFilters).length > 0 ? (
              <FilteredEvents key={service} service={service} filters={eventFilters} />
            ) : (
              <AllEvents key={service} service={service} />
            )}
          </>
        ) : (
          <>
            <LogFilters fields={AUDIT_FILTERS} label="Filter audit log" />
            <p className="small audit-export">
              <a href={auditExportUrl()} download="fusebox-audit.jsonl" data-testid="audit-export">
                Export as JSON lines
              </a>{' '}
              <span className="muted">every entry kept (90 days by default), oldest first</span>
            </p>
            <AuditLog actor={auditFilters.actor} />
          </>
        )}
      </div>
    </section>
  )
}
