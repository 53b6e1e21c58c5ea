/**
 * The header's time controls besides the range picker (issue #15, "time like Grafana"): the refresh interval, the time
 * zone (local or UTC) and "Copy link", which locks the current window into the link.
 */
import { useId, useState } from 'react'
import { timeZoneLabel } from '../../format'
import { toast } from '../../toasts'
import { REFRESH_INTERVALS, useRefresh, useTimeRange, useTimeZone, useWindowEnd, type AbsoluteRange, type RefreshChoice } from '../../uiState'
import { formatDateTime } from '../table/format'

const REFRESH_CHOICES: { value: RefreshChoice; label: string }[] = [
  { value: 'live', label: 'Live' },
  ...Object.entries(REFRESH_INTERVALS).map(([value, r]) => ({ value: value as RefreshChoice, label: r.label })),
  { value: 'off', label: 'Off (paused)' },
]

/** `<select>` labelled "Refresh": Live (streamed), every 5 s / 10 s / 30 s / minute, or Off (paused). */
export function RefreshPicker() {
  const id = useId()
  const [choice, setChoice] = useRefresh()
  return (
    <div className="control">
      <label htmlFor={id}>Refresh</label>
      <select id={id} value={choice} data-testid="refresh-picker" onChange={(e) => setChoice(e.target.value as RefreshChoice)}>
        {REFRESH_CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </div>
  )
}

/** `<select>` labelled "Time zone": the browser's (with its offset) or UTC; every time on the dashboard follows it. */
export function TimeZonePicker() {
  const id = useId()
  const [tz, setTz] = useTimeZone()
  const [now] = useState(() => Date.now())
  return (
    <div className="control">
      <label htmlFor={id}>Time zone</label>
      <select id={id} value={tz} data-testid="tz-picker" onChange={(e) => setTz(e.target.value === 'utc' ? 'utc' : 'local')}>
        <option value="local">Browser ({tz === 'utc' ? localOffsetLabel(now) : timeZoneLabel(now)})</option>
        <option value="utc">UTC</option>
      </select>
    </div>
  )
}

/** The browser's offset as `UTC+01:00`, whatever the display zone. */
function localOffsetLabel(epochMs: number): string {
  const off = -new Date(epochMs).getTimezoneOffset()
  const a = Math.abs(off)
  return `UTC${off < 0 ? '−' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
}

/**
 * The link of the current view with its window locked (`?from=&to=`, epoch ms; preset, live and refresh dropped):
 * `href` the current address, `window` the window shown now.
 */
export function lockedLink(href: string, window: AbsoluteRange): string {
  const url = new URL(href)
  url.searchParams.set('from', String(window.fromMs))
  url.searchParams.set('to', String(window.toMs))
  for (const p of ['range', 'live', 'refresh']) url.searchParams.delete(p)
  url.hash = ''
  return url.toString()
}

/**
 * "Copy link": copies the address of this page with the window on screen locked (an absolute range), so whoever opens
 * it sees the same data — not "the last hour" at the time they open it. The link is also shown in a toast, for
 * browsers that refuse the clipboard.
 */
export function CopyLinkButton() {
  const range = useTimeRange()
  const { untilMs } = useWindowEnd()
  return (
    <button
      type="button"
      className="copy-link"
      data-testid="copy-link"
      title="Copy a link to this view with its time range locked"
      onClick={() => {
        const toMs = range.absolute?.toMs ?? untilMs ?? Math.floor(Date.now() / 1000) * 1000
        const link = lockedLink(window.location.href, { fromMs: range.absolute?.fromMs ?? toMs - range.windowMs, toMs })
        const said = `${formatDateTime(toMs - range.windowMs)} to ${formatDateTime(toMs)}`
        const copy = navigator.clipboard?.writeText(link) ?? Promise.reject(new Error('no clipboard'))
        copy.then(
          () => toast(`Link copied: ${said}`, 'success'),
          () => toast(`Copy this link (${said}): ${link}`, 'info'),
        )
      }}
    >
      Copy link
    </button>
  )
}
