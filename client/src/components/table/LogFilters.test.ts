import { describe, expect, it } from 'vitest'
import { readFilters, type FilterField } from './LogFilters'

const FIELDS: readonly FilterField[] = [
  { param: 'route', label: 'Route' },
  { param: 'status', label: 'Status', validate: (v) => (/^([1-5]xx|[1-5]\d\d)$/.test(v) ? null : 'Status is a code (503) or a class (5xx).') },
  { param: 'type', label: 'Type', options: ['transition', 'command'] },
]

describe('readFilters', () => {
  it('keeps the valid values (trimmed, empty ones omitted) and no problem', () => {
    expect(readFilters(FIELDS, new URLSearchParams('route=%20/api/x%20&status=5xx&type=command&other=1&instance='))).toEqual({
      values: { route: '/api/x', status: '5xx', type: 'command' },
      problem: null,
    })
  })

  it('an invalid value is never among the values and is the problem; a valid neighbour still counts', () => {
    expect(readFilters(FIELDS, new URLSearchParams('route=/a&status=abc'))).toEqual({
      values: { route: '/a' },
      problem: 'Status is a code (503) or a class (5xx).',
    })
  })

  it('a select value outside its options is a problem naming them', () => {
    expect(readFilters(FIELDS, new URLSearchParams('type=bogus'))).toEqual({ values: {}, problem: 'Type is one of transition, command.' })
  })
})
