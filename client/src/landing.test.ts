import { describe, expect, it } from 'vitest'
import { isCurrentPage, landingPage } from './landing'

describe('where / lands', () => {
  it('lands on the fleet only when more than one service reports and the URL names none', () => {
    expect(landingPage(null, ['a', 'b'])).toBe('fleet')
    expect(landingPage(null, ['a'])).toBe('overview')
    expect(landingPage(null, [])).toBe('overview')
    expect(landingPage('a', ['a', 'b'])).toBe('overview')
    expect(landingPage(null, undefined)).toBe('loading')
    expect(landingPage('a', undefined)).toBe('overview')
  })
})

describe('the current page in the nav', () => {
  it('marks Fleet on / when / lands on the fleet, Overview when it lands on the Overview', () => {
    expect(isCurrentPage('/fleet', '/', 'fleet')).toBe(true)
    expect(isCurrentPage('/', '/', 'fleet')).toBe(false)
    expect(isCurrentPage('/', '/', 'overview')).toBe(true)
    expect(isCurrentPage('/fleet', '/', 'overview')).toBe(false)
    expect(isCurrentPage('/fleet', '/fleet', 'overview')).toBe(true)
  })

  it('marks a page on its sub-paths and no other', () => {
    expect(isCurrentPage('/breakers', '/breakers/storefront/payments', 'overview')).toBe(true)
    expect(isCurrentPage('/', '/breakers', 'overview')).toBe(false)
    expect(isCurrentPage('/breakers', '/breakersx', 'overview')).toBe(false)
  })
})
