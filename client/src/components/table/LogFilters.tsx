import { useId, useState, type FormEvent } from 'react'
import { useSearchParams } from 'react-router'
import './table.css'

/** A filter field held in a search param. */
export interface FilterField {
  param: string
  label: string
  placeholder?: string
  /** Fixed choices (a select with "Any" first); a free text input when absent. */
  options?: readonly string[]
  /** Returns an error text for an invalid value, or null. */
  validate?: (value: string) => string | null
}

/**
 * The filter fields' values in `params`, split: `values` the valid ones (absent/empty omitted) and `problem` the
 * first invalid one's error text (null when all are valid). An invalid value is never sent to the server.
 */
export function readFilters(fields: readonly FilterField[], params: URLSearchParams): { values: Record<string, string>; problem: string | null } {
  const values: Record<string, string> = {}
  let problem: string | null = null
  for (const f of fields) {
    const v = params.get(f.param)?.trim()
    if (!v) continue
    const error = f.options && !f.options.includes(v) ? `${f.label} is one of ${f.options.join(', ')}.` : f.validate ? f.validate(v) : null
    if (error) problem ??= error
    else values[f.param] = v
  }
  return { values, problem }
}

/** Reads the valid filter values from the URL (absent/empty and invalid ones omitted; see `useFilterProblem`). */
export function useFilterValues(fields: readonly FilterField[]): Record<string, string> {
  const [params] = useSearchParams()
  return readFilters(fields, params).values
}

/**
 * The error text of the first invalid filter value in the URL, or null. A page shows it instead of its rows: the
 * rows of the previous (valid) filter would be a lie about the one now in the form (issue #15).
 */
export function useFilterProblem(fields: readonly FilterField[]): string | null {
  const [params] = useSearchParams()
  return readFilters(fields, params).problem
}

/** What a log page shows in place of its rows while a filter value is invalid. */
export function InvalidFilter({ problem }: { problem: string }) {
  return (
    <p className="muted" data-testid="filter-invalid">
      No rows: the filter is not valid. {problem}
    </p>
  )
}

/** Every filter field's raw value from the URL (what the form shows, valid or not). */
function rawFilterValues(fields: readonly FilterField[], params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of fields) {
    const v = params.get(f.param)
    if (v) out[f.param] = v
  }
  return out
}

interface Props {
  fields: readonly FilterField[]
  /** Accessible name of the filter form. */
  label: string
}

function FilterForm({ fields, label, initial, error }: Props & { initial: Record<string, string>; error: string | null }) {
  const idBase = useId()
  const [, setParams] = useSearchParams()
  const [values, setValues] = useState<Record<string, string>>(initial)

  // Invalid values go to the URL too (what the form says is what the page shows: the problem, not stale rows).
  function apply(next: Record<string, string>) {
    setParams((prev) => {
      const p = new URLSearchParams(prev)
      for (const f of fields) {
        const v = next[f.param]?.trim() ?? ''
        if (v) p.set(f.param, v)
        else p.delete(f.param)
      }
      return p
    })
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    apply(values)
  }

  const active = fields.some((f) => initial[f.param])
  return (
    <form className="toolbar" aria-label={label} onSubmit={onSubmit}>
      {fields.map((f) => {
        const id = `${idBase}-${f.param}`
        const value = values[f.param] ?? ''
        const set = (v: string) => setValues((s) => ({ ...s, [f.param]: v }))
        return (
          <label key={f.param} htmlFor={id}>
            {f.label}
            {f.options ? (
              <select id={id} value={value} onChange={(e) => set(e.target.value)}>
                <option value="">Any</option>
                {f.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : (
              <input id={id} type="text" value={value} placeholder={f.placeholder} autoComplete="off" onChange={(e) => set(e.target.value)} />
            )}
          </label>
        )
      })}
      <button type="submit" className="primary">
        Apply filters
      </button>
      {active && (
        <button type="button" onClick={() => apply({})}>
          Clear filters
        </button>
      )}
      {error && (
        <p className="notice" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

/** Filter bar whose values live in search params (shareable, back button undoes); the form resets when they change. */
export function LogFilters({ fields, label }: Props) {
  const [params] = useSearchParams()
  const initial = rawFilterValues(fields, params)
  return <FilterForm key={JSON.stringify(initial)} fields={fields} label={label} initial={initial} error={readFilters(fields, params).problem} />
}
