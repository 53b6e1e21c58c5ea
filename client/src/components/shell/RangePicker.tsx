import { useEffect, useId, useRef, useState } from 'react'
import { timeZoneLabel, wallClock } from '../../format'
import { isRangeKey, MAX_RANGE_MS, MIN_RANGE_MS, RANGES, useRange, useSetAbsoluteRange, useTimeRange, useTimeZone } from '../../uiState'
import { formatDateTime } from '../table/format'

/** Value of the `<select>` option that opens the custom from/to form. */
const CUSTOM = 'custom'

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/

/**
 * Reads `YYYY-MM-DD HH:MM[:SS]` (the dashboard's one date format) as a time in the display time zone (`tz`): epoch
 * ms, or null when it is not such a date (or not a real one, like 02-30).
 */
export function parseDisplayDateTime(text: string, tz: 'local' | 'utc'): number | null {
  const m = DATE_TIME.exec(text.trim())
  if (!m) return null
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number]
  const ms = tz === 'utc' ? Date.UTC(y, mo - 1, d, h, mi, s) : new Date(y, mo - 1, d, h, mi, s).getTime()
  // Date rolls 02-30 over to 03-02: only a date that reads back the same is real.
  const back = new Date(ms)
  const same =
    tz === 'utc'
      ? back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h
      : back.getFullYear() === y && back.getMonth() === mo - 1 && back.getDate() === d && back.getHours() === h
  return Number.isFinite(ms) && same ? ms : null
}

/**
 * The custom range form: From and To in the dashboard's date format, in the display time zone (named beside them);
 * Apply sets `?from=&to=`. Errors (a bad date, To not after From, a span outside 10 s … 30 days) are said inline.
 */
function CustomRangeForm({ onClose }: { onClose: () => void }) {
  const range = useTimeRange()
  const setAbsolute = useSetAbsoluteRange()
  const [tz] = useTimeZone()
  const [now] = useState(() => Date.now())
  const [from, setFrom] = useState(() => formatDateTime(range.absolute?.fromMs ?? now - range.windowMs))
  const [to, setTo] = useState(() => formatDateTime(range.absolute?.toMs ?? now))
  const [error, setError] = useState<string | null>(null)
  const fromId = useId()
  const toId = useId()
  const errorId = useId()
  const first = useRef<HTMLInputElement>(null)
  useEffect(() => first.current?.focus(), [])

  const apply = () => {
    const fromMs = parseDisplayDateTime(from, tz)
    const toMs = parseDisplayDateTime(to, tz)
    if (fromMs === null || toMs === null) return setError('Write dates as YYYY-MM-DD HH:MM:SS.')
    if (toMs <= fromMs) return setError('"To" must be after "From".')
    if (toMs - fromMs < MIN_RANGE_MS) return setError('The range must be at least 10 seconds.')
    if (toMs - fromMs > MAX_RANGE_MS) return setError('The range can be at most 30 days.')
    setAbsolute({ fromMs, toMs })
    onClose()
  }
  return (
    <form
      className="custom-range"
      aria-label="Custom time range"
      onSubmit={(e) => {
        e.preventDefault()
        apply()
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose()
      }}
    >
      <div className="control">
        <label htmlFor={fromId}>From</label>
        <input id={fromId} ref={first} value={from} onChange={(e) => setFrom(e.target.value)} aria-describedby={error ? errorId : undefined} spellCheck={false} />
      </div>
      <div className="control">
        <label htmlFor={toId}>To</label>
        <input id={toId} value={to} onChange={(e) => setTo(e.target.value)} aria-describedby={error ? errorId : undefined} spellCheck={false} />
      </div>
      <p className="muted custom-range-zone">Times in {timeZoneLabel(now)}</p>
      {error && (
        <p id={errorId} className="error-state" role="alert">
          {error}
        </p>
      )}
      <div className="custom-range-actions">
        <button type="submit">Apply</button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  )
}

/** Short words for an absolute range in the picker: "12-01 14:02:00 – 14:20:00" (the date once when it is one day). */
function absoluteLabel(fromMs: number, toMs: number): string {
  const a = wallClock(fromMs)
  const b = wallClock(toMs)
  const from = formatDateTime(fromMs).slice(5)
  const sameDay = a.year === b.year && a.month === b.month && a.day === b.day
  return `${from} – ${sameDay ? formatDateTime(toMs).slice(11) : formatDateTime(toMs).slice(5)}`
}

/**
 * `<select>` labelled "Time range": the presets (15 min … 30 days), the absolute range in use (after a drag on a chart
 * or a shared link), and "Custom range…", which opens a From/To form.
 */
export function RangePicker() {
  const id = useId()
  const [range, setRange] = useRange()
  const time = useTimeRange()
  const [customOpen, setCustomOpen] = useState(false)
  const value = customOpen ? CUSTOM : time.absolute ? 'absolute' : range
  return (
    <div className="control range-picker">
      <label htmlFor={id}>Time range</label>
      <select
        id={id}
        value={value}
        data-testid="range-picker"
        title={time.label}
        onChange={(e) => {
          const v = e.target.value
          if (v === CUSTOM) setCustomOpen(true)
          else if (isRangeKey(v)) {
            setCustomOpen(false)
            setRange(v)
          }
        }}
      >
        {Object.entries(RANGES).map(([key, r]) => (
          <option key={key} value={key}>
            {r.label}
          </option>
        ))}
        {time.absolute && <option value="absolute">{absoluteLabel(time.absolute.fromMs, time.absolute.toMs)}</option>}
        <option value={CUSTOM}>Custom range…</option>
      </select>
      {customOpen && <CustomRangeForm onClose={() => setCustomOpen(false)} />}
    </div>
  )
}
