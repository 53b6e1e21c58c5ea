import { useId } from 'react'
import { isRangeKey, RANGES, useRange } from '../../uiState'

/** `<select>` labelled "Time range": 15 min … 30 days. */
export function RangePicker() {
  const id = useId()
  const [range, setRange] = useRange()
  return (
    <div className="control">
      <label htmlFor={id}>Time range</label>
      <select
        id={id}
        value={range}
        onChange={(e) => {
          if (isRangeKey(e.target.value)) setRange(e.target.value)
        }}
      >
        {Object.entries(RANGES).map(([key, r]) => (
          <option key={key} value={key}>
            {r.label}
          </option>
        ))}
      </select>
    </div>
  )
}
