import { useId, useState, type ReactNode } from 'react'
import {
  acknowledgeAlert,
  createAlertRule,
  createSilence,
  deleteAlertRule,
  expireSilence,
  getActiveAlerts,
  getAlertingStatus,
  listAlertHistory,
  listAlertRules,
  listAlertRuleTemplates,
  listDeliveries,
  listSilences,
  updateAlertRule,
  type ActiveAlertsData,
  type AlertHistoryData,
  type AlertingStatusData,
  type AlertRuleData,
  type AlertRuleInputData,
  type AlertRuleTemplateData,
  type AlertViewData,
  type DeliveryLogData,
  type SilenceData,
} from '../api'
import { describeCondition, formatDurationS, labelPairs, valueUnit } from '../alertsView'
import { ACTIVE_ALERTS_PAGE_KEY, ALERTS_POLL_INTERVAL_MS } from '../components/alerts/AlertBar'
import { desktopNotificationsOn, disableDesktopNotifications, enableDesktopNotifications, notificationsSupported } from '../components/alerts/desktopNotifications'
import { ReasonDialog } from '../components/breakers/ReasonDialog'
import { FocusTable, type FocusColumn } from '../components/table/FocusTable'
import { NO_VALUE } from '../format'
import { formatDateTime } from '../components/table/format'
import { useCommandBlockedReason } from '../commandGate'
import { toast } from '../toasts'
import { usePolled } from '../usePolled'

/** Columns of the page's tables (FocusTable: sticky header, arrow keys between rows). */
const ACTIVE_COLUMNS: readonly FocusColumn[] = [{ label: 'State' }, { label: 'Alert' }, { label: 'Labels' }, { label: 'Since' }, { label: 'Value', num: true }, { label: 'Silenced / acknowledged' }, { label: 'Actions' }]
const SILENCE_COLUMNS: readonly FocusColumn[] = [{ label: 'Matchers' }, { label: 'State' }, { label: 'Ends' }, { label: 'By' }, { label: 'Reason' }, { label: 'Actions' }]
const RULE_COLUMNS: readonly FocusColumn[] = [{ label: 'Rule' }, { label: 'Severity' }, { label: 'Condition' }, { label: 'For' }, { label: 'Enabled' }, { label: 'Changed' }, { label: 'Actions' }]
const HISTORY_COLUMNS: readonly FocusColumn[] = [{ label: 'Time' }, { label: 'Alert' }, { label: 'Change' }, { label: 'Labels' }, { label: 'Value', num: true }, { label: 'Silenced' }]
const DELIVERY_COLUMNS: readonly FocusColumn[] = [{ label: 'Time' }, { label: 'Alert' }, { label: 'Notification' }, { label: 'Receiver' }, { label: 'Attempt', num: true }, { label: 'Outcome' }]

/** Why operator controls are disabled here, or null when allowed. */
function useBlockedReason(): string | null {
  return useCommandBlockedReason()
}

/** A section of the page with its heading (h2) and an optional line under it. */
function Section({ title, note, children, testId }: { title: string; note?: ReactNode; children: ReactNode; testId?: string }) {
  const id = useId()
  return (
    <section className="card alerts-section" aria-labelledby={id} data-testid={testId}>
      <h2 id={id}>{title}</h2>
      {note && <p className="muted small">{note}</p>}
      {children}
    </section>
  )
}

/** A value with its unit, e.g. "12.3 %" or "250 ms". */
function valueText(value: number | null, unit: string): string {
  if (value === null) return NO_VALUE
  return unit ? `${value} ${unit}` : String(value)
}

/**
 * Alerts: what fires and is pending now (silence, acknowledge), the silences, the rules (create from a template,
 * edit, enable/disable, delete), the history and the delivery log. Every change asks for a reason (audited);
 * viewers see everything and change nothing. Offline, the last known alerts are shown with the banner.
 */
export function AlertsPage() {
  const active = usePolled<ActiveAlertsData>((signal) => getActiveAlerts({ signal }), [], ALERTS_POLL_INTERVAL_MS, { pageKey: ACTIVE_ALERTS_PAGE_KEY })
  const rules = usePolled<AlertRuleData[]>((signal) => listAlertRules({ signal }), [], ALERTS_POLL_INTERVAL_MS, { pageKey: 'alerts-rules', reportAsOf: false })
  const silences = usePolled<SilenceData[]>((signal) => listSilences({ signal }), [], ALERTS_POLL_INTERVAL_MS, { pageKey: 'alerts-silences', reportAsOf: false })
  const history = usePolled<AlertHistoryData>((signal) => listAlertHistory({ limit: 100 }, { signal }), [], ALERTS_POLL_INTERVAL_MS, { pageKey: 'alerts-history', reportAsOf: false })
  const deliveries = usePolled<DeliveryLogData>((signal) => listDeliveries({ limit: 100 }, { signal }), [], ALERTS_POLL_INTERVAL_MS, { pageKey: 'alerts-deliveries', reportAsOf: false })
  const status = usePolled<AlertingStatusData>((signal) => getAlertingStatus({ signal }), [], ALERTS_POLL_INTERVAL_MS * 3, { pageKey: 'alerts-status', reportAsOf: false })
  const refreshAll = () => {
    for (const p of [active, rules, silences, history, deliveries]) p.refresh()
  }
  const [editing, setEditing] = useState<AlertRuleData | null>(null)
  const ruleById = new Map((rules.data ?? []).map((r) => [r.id, r]))
  const alerts = active.data?.alerts ?? []
  const firing = alerts.filter((a) => a.state === 'firing')
  const pending = alerts.filter((a) => a.state === 'pending')

  return (
    <div className="page-body">
      <div className="page-head">
        <h1>Alerts</h1>
        <p className="muted small" data-testid="alerts-summary">
          {active.data ? `${firing.length} firing · ${pending.length} pending` : active.loading ? 'Loading…' : NO_VALUE}
        </p>
      </div>
      <StatusLine status={status.data} />
      <Section title="Firing and pending" testId="alerts-active">
        {alerts.length === 0 ? (
          <p className="muted">{active.data ? 'Nothing is firing or pending.' : active.error && 'message' in active.error ? `Could not load the alerts: ${active.error.message}` : 'Loading…'}</p>
        ) : (
          <ActiveTable alerts={alerts} ruleById={ruleById} onChanged={refreshAll} />
        )}
      </Section>
      <Section title="Silences" note="A silence stops notifications for the alerts whose labels match all its matchers, until it ends." testId="alerts-silences">
        <SilenceTable silences={silences.data ?? []} onChanged={refreshAll} />
      </Section>
      <Section title="Rules" note="Evaluated by one dashboard server at a time; a change applies at the next evaluation." testId="alerts-rules">
        <RuleTable rules={rules.data ?? []} onChanged={refreshAll} onEdit={setEditing} />
        <RuleEditor key={editing ? `${editing.id}@${editing.version}` : 'new'} editing={editing} onChanged={refreshAll} onDone={() => setEditing(null)} />
      </Section>
      <Section title="History" note="State changes of the last 90 days, newest first (the latest 100)." testId="alerts-history">
        <HistoryTable history={history.data} ruleById={ruleById} />
      </Section>
      <Section title="Deliveries" note="Every notification attempt, newest first (the latest 100); failures are retried with backoff for 24 h." testId="alerts-deliveries">
        <DeliveriesTable log={deliveries.data} />
      </Section>
    </div>
  )
}

/** Where notifications go, who evaluates, and the desktop-notifications switch. */
function StatusLine({ status }: { status: AlertingStatusData | undefined }) {
  const [on, setOn] = useState(desktopNotificationsOn())
  const receivers = status?.receivers ?? []
  async function toggle() {
    if (on) {
      disableDesktopNotifications()
      setOn(false)
      return
    }
    const permission = await enableDesktopNotifications()
    setOn(permission === 'granted')
    if (permission !== 'granted') toast('The browser did not allow notifications for this site.', 'error')
  }
  return (
    <p className="muted small alerts-status" data-testid="alerts-status">
      {status
        ? `${receivers.length === 0 ? 'No notification receivers configured (FUSEBOX_ALERT_WEBHOOKS, FUSEBOX_ALERTMANAGER_URL): alerts show here only.' : `Notifications to ${receivers.map((r) => `${r.kind} ${r.host}`).join(', ')}.`} ${status.evaluatedBy ? `Evaluated every ${formatDurationS(Math.round((status.intervalMs ?? 10_000) / 1000))} by ${status.evaluatedBy}.` : 'No server is evaluating right now.'}${status.outboxPending ? ` ${status.outboxPending} notification(s) waiting to be delivered.` : ''}`
        : ''}{' '}
      {notificationsSupported() && (
        <button type="button" onClick={() => void toggle()} aria-pressed={on}>
          {on ? 'Desktop notifications on' : 'Turn on desktop notifications'}
        </button>
      )}
    </p>
  )
}

/** Labels as small pills. */
function Labels({ labels }: { labels: Record<string, string> }) {
  return (
    <span className="alert-labels">
      {labelPairs(labels).map((l) => (
        <span key={l} className="pill small mono">
          {l}
        </span>
      ))}
    </span>
  )
}

/** The severity and state, as text and colour. */
function StateCell({ a }: { a: AlertViewData }) {
  return (
    <td>
      <span className={`pill small alert-${a.state}`}>{a.state}</span> <span className={`pill small severity-${a.severity}`}>{a.severity}</span>
    </td>
  )
}

function ActiveTable({ alerts, ruleById, onChanged }: { alerts: AlertViewData[]; ruleById: Map<string, AlertRuleData>; onChanged: () => void }) {
  const blocked = useBlockedReason()
  const [silencing, setSilencing] = useState<AlertViewData | null>(null)
  const [acking, setAcking] = useState<AlertViewData | null>(null)
  return (
    <>
      <FocusTable
        testId="alerts-active-table"
        caption="Alerts firing or pending now"
        columns={ACTIVE_COLUMNS}
        rows={alerts}
        renderRow={(a, _i, focus) => (
            <tr key={`${a.ruleId}\t${a.key}`} data-testid={`alert-${a.ruleId}`} {...focus}>
              <StateCell a={a} />
              <th scope="row">
                {a.ruleName}
                {a.summary && <div className="muted small">{a.summary}</div>}
                {a.runbookUrl && (
                  <a className="small" href={a.runbookUrl} target="_blank" rel="noreferrer noopener">
                    Runbook
                  </a>
                )}
              </th>
              <td>
                <Labels labels={a.labels} />
              </td>
              <td className="mono small">{formatDateTime(a.state === 'firing' && a.firingSinceMs !== null ? a.firingSinceMs : a.activeSinceMs)}</td>
              <td className="num">{valueText(a.value, valueUnit(ruleById.get(a.ruleId)?.condition.kind))}</td>
              <td className="small">
                {a.silencedBy && (
                  <div>
                    Silenced by {a.silencedBy.createdBy} until {formatDateTime(a.silencedBy.endsAtMs)}: {a.silencedBy.reason}
                  </div>
                )}
                {a.ack && (
                  <div>
                    Acknowledged by {a.ack.by} at {formatDateTime(a.ack.atMs)}
                  </div>
                )}
                {!a.silencedBy && !a.ack && NO_VALUE}
              </td>
              <td>
                <div className="button-row">
                  <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setSilencing(a)}>
                    Silence…
                  </button>
                  <button type="button" disabled={blocked !== null || a.ack !== null} title={blocked ?? undefined} onClick={() => setAcking(a)}>
                    Acknowledge…
                  </button>
                </div>
              </td>
            </tr>
        )}
      />
      {silencing && <SilenceDialog alert={silencing} onClose={() => setSilencing(null)} onDone={onChanged} />}
      {acking && (
        <ReasonDialog
          title={`Acknowledge “${acking.ruleName}”?`}
          effect="The alert keeps firing and notifying; the dashboard shows that you are on it until it resolves."
          confirmText="Acknowledge"
          danger={false}
          onClose={() => setAcking(null)}
          onConfirm={async (reason) => {
            await acknowledgeAlert(acking.ruleId, acking.key, reason)
            toast(`Acknowledged ${acking.ruleName}`, 'success')
            onChanged()
          }}
        />
      )}
    </>
  )
}

/** Silence durations offered (ms). */
const SILENCE_DURATIONS: readonly [string, number][] = [
  ['30 minutes', 30 * 60_000],
  ['1 hour', 3_600_000],
  ['4 hours', 4 * 3_600_000],
  ['1 day', 86_400_000],
  ['7 days', 7 * 86_400_000],
]

/** "Silence…": the alert's own labels as matchers (each can be left out), a duration and a reason. */
function SilenceDialog({ alert, onClose, onDone }: { alert: AlertViewData; onClose: () => void; onDone: () => void }) {
  const durationId = useId()
  const own = Object.entries(alert.labels).filter(([k]) => k !== 'severity')
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(own.map(([k]) => k).filter((k) => k !== 'alertname' || own.length === 1)))
  const [durationMs, setDurationMs] = useState(3_600_000)
  const matchers = own.filter(([k]) => chosen.has(k)).map(([name, value]) => ({ name, op: '=' as const, value }))
  return (
    <ReasonDialog
      title={`Silence “${alert.ruleName}”?`}
      effect="No notification is sent for the alerts that match every checked label until the silence ends."
      confirmText="Silence"
      danger={false}
      onClose={onClose}
      onConfirm={async (reason) => {
        if (matchers.length === 0) throw new Error('Check at least one label to match.')
        await createSilence({ matchers, endsAtMs: Date.now() + durationMs, reason })
        toast(`Silenced ${alert.ruleName}`, 'success')
        onDone()
      }}
    >
      <fieldset className="silence-matchers">
        <legend>Match alerts whose labels are</legend>
        {own.map(([k, v]) => (
          <label key={k} className="checkbox">
            <input
              type="checkbox"
              checked={chosen.has(k)}
              onChange={(e) => {
                const next = new Set(chosen)
                if (e.target.checked) next.add(k)
                else next.delete(k)
                setChosen(next)
              }}
            />{' '}
            <span className="mono">
              {k}={v}
            </span>
          </label>
        ))}
      </fieldset>
      <label htmlFor={durationId}>For</label>
      <select id={durationId} value={durationMs} onChange={(e) => setDurationMs(Number(e.target.value))}>
        {SILENCE_DURATIONS.map(([label, ms]) => (
          <option key={ms} value={ms}>
            {label}
          </option>
        ))}
      </select>
    </ReasonDialog>
  )
}

function SilenceTable({ silences, onChanged }: { silences: SilenceData[]; onChanged: () => void }) {
  const blocked = useBlockedReason()
  const [expiring, setExpiring] = useState<SilenceData | null>(null)
  if (silences.length === 0) return <p className="muted">No silences.</p>
  return (
    <>
      <FocusTable
        testId="silences-table"
        caption="Silences"
        columns={SILENCE_COLUMNS}
        rows={silences}
        renderRow={(s, _i, focus) => (
            <tr key={s.id} data-testid={`silence-${s.id}`} {...focus}>
              <th scope="row" className="mono small">
                {s.matchers.map((m) => `${m.name}${m.op}${m.value}`).join(', ')}
              </th>
              <td>{s.state}</td>
              <td className="mono small">{formatDateTime(s.endsAtMs)}</td>
              <td>{s.createdBy}</td>
              <td>{s.reason}</td>
              <td>
                {s.active && (
                  <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setExpiring(s)}>
                    Expire…
                  </button>
                )}
              </td>
            </tr>
        )}
      />
      {expiring && (
        <ReasonDialog
          title="End this silence now?"
          effect="Alerts it covered notify at the next evaluation if they still fire."
          confirmText="Expire"
          danger
          onClose={() => setExpiring(null)}
          onConfirm={async (reason) => {
            await expireSilence(expiring.id, reason)
            onChanged()
          }}
        />
      )}
    </>
  )
}

/** A stored rule without its bookkeeping: what the editor shows and `update` takes. */
function ruleInput(r: AlertRuleData): AlertRuleInputData {
  const { id: _id, version: _v, createdAtMs: _c, createdBy: _cb, updatedAtMs: _u, updatedBy: _ub, ...input } = r
  return input
}

function RuleTable({ rules, onChanged, onEdit }: { rules: AlertRuleData[]; onChanged: () => void; onEdit: (r: AlertRuleData) => void }) {
  const blocked = useBlockedReason()
  const [deleting, setDeleting] = useState<AlertRuleData | null>(null)
  const [toggling, setToggling] = useState<AlertRuleData | null>(null)
  if (rules.length === 0) return <p className="muted">No rules yet: start one from a template below.</p>
  return (
    <>
      <FocusTable
        testId="rules-table"
        caption="Alert rules"
        columns={RULE_COLUMNS}
        rows={rules}
        renderRow={(r, _i, focus) => (
            <tr key={r.id} data-testid={`rule-${r.id}`} {...focus}>
              <th scope="row">{r.name}</th>
              <td>
                <span className={`pill small severity-${r.severity}`}>{r.severity}</span>
              </td>
              <td>{describeCondition(r.condition)}</td>
              <td>{formatDurationS(r.forS)}</td>
              <td>{r.enabled ? 'yes' : 'no'}</td>
              <td className="small">
                {r.updatedBy}, {formatDateTime(r.updatedAtMs)} (v{r.version})
              </td>
              <td>
                <div className="button-row">
                  <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => onEdit(r)}>
                    Edit
                  </button>
                  <button type="button" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setToggling(r)}>
                    {r.enabled ? 'Disable…' : 'Enable…'}
                  </button>
                  <button type="button" className="danger" disabled={blocked !== null} title={blocked ?? undefined} onClick={() => setDeleting(r)}>
                    Delete…
                  </button>
                </div>
              </td>
            </tr>
        )}
      />
      {toggling && (
        <ReasonDialog
          title={`${toggling.enabled ? 'Disable' : 'Enable'} “${toggling.name}”?`}
          effect={toggling.enabled ? 'Its alerts resolve at the next evaluation and it stops being evaluated.' : 'It is evaluated again from the next evaluation.'}
          confirmText={toggling.enabled ? 'Disable' : 'Enable'}
          danger={toggling.enabled}
          onClose={() => setToggling(null)}
          onConfirm={async (reason) => {
            await updateAlertRule(toggling.id, toggling.version, { ...ruleInput(toggling), enabled: !toggling.enabled }, reason)
            onChanged()
          }}
        />
      )}
      {deleting && (
        <ReasonDialog
          title={`Delete “${deleting.name}”?`}
          effect="Its firing alerts resolve (and notify) at the next evaluation."
          confirmText="Delete rule"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async (reason) => {
            await deleteAlertRule(deleting.id, reason)
            onChanged()
          }}
        />
      )}
    </>
  )
}

/**
 * "New rule" (from a template) or "Edit rule" (a stored one, saved at the version it was read: someone else's save
 * meanwhile answers 409 and nothing is overwritten), as JSON checked by the server's schema on save.
 */
function RuleEditor({ editing, onChanged, onDone }: { editing: AlertRuleData | null; onChanged: () => void; onDone: () => void }) {
  const blocked = useBlockedReason()
  const templates = usePolled<readonly AlertRuleTemplateData[]>((signal) => listAlertRuleTemplates({ signal }), [], null, { pageKey: 'alerts-templates', reportAsOf: false })
  const templateId = useId()
  const textId = useId()
  const [text, setText] = useState(editing ? JSON.stringify(ruleInput(editing), null, 2) : '')
  const [saving, setSaving] = useState(false)
  const [error, setError] = useState<string | null>(null)
  let parsed: AlertRuleInputData | null = null
  let parseError: string | null = null
  if (text.trim()) {
    try {
      parsed = JSON.parse(text) as AlertRuleInputData
    } catch (e) {
      parseError = `Not valid JSON: ${(e as Error).message}`
    }
  }
  return (
    <details className="rule-editor" open={editing !== null || undefined} data-testid="rule-editor">
      <summary>{editing ? `Edit “${editing.name}” (version ${editing.version})` : 'New rule'}</summary>
      <label htmlFor={templateId}>Start from a template</label>
      <select
        disabled={editing !== null}
        id={templateId}
        defaultValue=""
        onChange={(e) => {
          const t = templates.data?.find((x) => x.id === e.target.value)
          if (t) setText(JSON.stringify(t.rule, null, 2))
        }}
      >
        <option value="" disabled>
          Choose…
        </option>
        {(templates.data ?? []).map((t) => (
          <option key={t.id} value={t.id}>
            {t.title}
          </option>
        ))}
      </select>
      <label htmlFor={textId}>Rule (JSON: name, severity, forS, condition, labels, summary, runbookUrl)</label>
      <textarea id={textId} className="mono" rows={14} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      {parsed && <p className="muted small">{typeof parsed.condition === 'object' && parsed.condition ? `Fires when ${describeSafely(parsed)}` : ''}</p>}
      {(parseError ?? error) && (
        <p className="error" role="alert">
          {parseError ?? error}
        </p>
      )}
      <div className="button-row">
        <button type="button" className="primary" disabled={blocked !== null || parsed === null || saving} title={blocked ?? undefined} onClick={() => setSaving(true)}>
          {editing ? 'Save rule…' : 'Create rule…'}
        </button>
        {editing && (
          <button type="button" onClick={onDone}>
            Cancel editing
          </button>
        )}
      </div>
      {saving && parsed && (
        <ReasonDialog
          title={editing ? `Save “${parsed.name}”?` : `Create “${parsed.name}”?`}
          effect={editing ? 'The new definition applies from the next evaluation; alerts it no longer yields resolve.' : 'The rule is evaluated from the next evaluation.'}
          confirmText={editing ? 'Save rule' : 'Create rule'}
          danger={false}
          onClose={() => setSaving(false)}
          onConfirm={async (reason) => {
            setError(null)
            if (editing) await updateAlertRule(editing.id, editing.version, parsed, reason)
            else await createAlertRule(parsed, reason)
            setText('')
            toast(`${editing ? 'Saved' : 'Created'} rule ${parsed.name}`, 'success')
            onChanged()
            if (editing) onDone()
          }}
        />
      )}
    </details>
  )
}

/** `describeCondition` of what a person typed, or a hint when it is not a known condition yet. */
function describeSafely(rule: AlertRuleInputData): string {
  try {
    return `${describeCondition(rule.condition as Parameters<typeof describeCondition>[0])} for ${formatDurationS(Number(rule.forS) || 0)}.`
  } catch {
    return 'the condition holds (the server checks it on save).'
  }
}

function HistoryTable({ history, ruleById }: { history: AlertHistoryData | undefined; ruleById: Map<string, AlertRuleData> }) {
  const entries = history?.entries ?? []
  if (entries.length === 0) return <p className="muted">No state changes yet.</p>
  return (
    <FocusTable
      testId="history-table"
      caption="Alert history"
      columns={HISTORY_COLUMNS}
      rows={entries}
      renderRow={(h, _i, focus) => (
            <tr key={h.id} {...focus}>
              <td className="mono small">{formatDateTime(h.atMs)}</td>
              <th scope="row">{h.alertname}</th>
              <td>
                <span className={`pill small alert-${h.transition}`}>{h.transition}</span>
              </td>
              <td>
                <Labels labels={h.labels} />
              </td>
              <td className="num">{valueText(h.value, valueUnit(ruleById.get(h.ruleId)?.condition.kind))}</td>
              <td className="small">{h.silencedBy ? 'yes' : ''}</td>
            </tr>
      )}
    />
  )
}

function DeliveriesTable({ log }: { log: DeliveryLogData | undefined }) {
  const entries = log?.entries ?? []
  if (entries.length === 0) return <p className="muted">No notifications sent yet.</p>
  return (
    <FocusTable
      testId="deliveries-table"
      caption="Notification deliveries"
      columns={DELIVERY_COLUMNS}
      rows={entries}
      renderRow={(d, _i, focus) => (
            <tr key={d.id} {...focus}>
              <td className="mono small">{formatDateTime(d.atMs)}</td>
              <th scope="row">{d.alertname}</th>
              <td>{d.status}</td>
              <td className="mono small">{d.receiver}</td>
              <td className="num">{d.attempt}</td>
              <td>
                {d.outcome}
                {d.httpStatus !== null ? ` (HTTP ${d.httpStatus})` : ''}
                {d.error && d.outcome !== 'delivered' ? ` — ${d.error}` : ''}
              </td>
            </tr>
      )}
    />
  )
}
