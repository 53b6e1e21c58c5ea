interface Props {
  label: string
  unit: string
  /** Already formatted number (no unit). */
  value: string
  /** `data-testid` of the element holding only the number. */
  testId: string
}

/** One overview number as a `<dt>`/`<dd>` pair inside a `<dl>`. */
export function Stat({ label, unit, value, testId }: Props) {
  return (
    <div className="stat">
      <dt>
        {label} <span className="muted">({unit})</span>
      </dt>
      <dd>
        <span className="stat-value" data-testid={testId}>
          {value}
        </span>
      </dd>
    </div>
  )
}
