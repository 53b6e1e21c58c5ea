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

/** Reads the filter fields' values from the URL (absent/empty ones omitted). */
export function useFilterValues(fields: readonly FilterField[]): Record<string, string> {
  const [params] = useSearchParams()
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

function FilterForm({ fields, label, initial }: Props & { initial: Record<string, string> }) {
  const idBase = useId()
  const [, setParams] = useSearchParams()
  const [values, setValues] = useState<Record<string, string>>(initial)
  const [error, setError] = useState<string | null>(null)

  function apply(next: Record<string, string>) {
    for (const f of fields) {
      const v = next[f.param]?.trim() ?? ''
      const problem = v && f.validate ? f.validate(v) : null
      if (problem) {
        setError(problem)
        return
      }
    }
    setError(null)
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
  const initial = useFilterValues(fields)
  return <FilterForm key={JSON.stringify(initial)} fields={fields} label={label} initial={initial} />
}
