import { describe, expect, it } from 'vitest'
import { HTTP_METHODS, NAME_PATTERN, normalizeHttpMethod, NOT_NAME_CHAR } from './vocabulary'

describe('wire vocabulary', () => {
  it('normalises methods as OpenTelemetry does: upper case, unknown ones as _OTHER', () => {
    expect(normalizeHttpMethod('get')).toBe('GET')
    expect(normalizeHttpMethod('PATCH')).toBe('PATCH')
    expect(normalizeHttpMethod('BREW')).toBe('_OTHER')
    expect(normalizeHttpMethod('')).toBe('_OTHER')
    expect(HTTP_METHODS).toContain('_OTHER')
  })

  it('keeps names free of key and hash-tag syntax', () => {
    for (const bad of ['', 'a:b', '{svc}', 'a b', 'x'.repeat(65)]) expect(NAME_PATTERN.test(bad)).toBe(false)
    expect(NAME_PATTERN.test('storefront-1.eu_west')).toBe(true)
    expect('web 01:{x}'.replace(NOT_NAME_CHAR, '-')).toBe('web-01--x-')
  })
})
