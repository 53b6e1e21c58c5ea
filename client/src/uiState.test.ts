import { describe, expect, it } from 'vitest'
import { defaultService, isRangeKey, pageKey, RANGES } from './uiState'

describe('uiState', () => {
  it('page keys name the page and its params in a stable order, dropping absent ones', () => {
    expect(pageKey('endpoints', { service: 'a', range: '1h', filter: undefined })).toBe('endpoints?range=1h&service=a')
    expect(pageKey('endpoints', { range: '1h', service: 'a' })).toBe(pageKey('endpoints', { service: 'a', range: '1h' }))
    expect(pageKey('redis', {})).toBe('redis')
    expect(pageKey('x', { route: 'GET /a b', service: null })).toBe('x?route=GET%20%2Fa%20b')
  })

  it('range keys are exactly 15m, 1h, 6h, 24h, 7d and 30d, shortest first', () => {
    expect(Object.keys(RANGES)).toEqual(['15m', '1h', '6h', '24h', '7d', '30d'])
    expect(RANGES['30d'].ms).toBe(30 * 24 * 3_600_000)
    expect(isRangeKey('6h')).toBe(true)
    expect(isRangeKey('toString')).toBe(false)
    expect(isRangeKey(null)).toBe(false)
  })

  it('without ?service= the first service with instances (up or recently down) is shown, else the first one', () => {
    expect(defaultService([{ service: 'bench', instancesTotal: 0 }, { service: 'shop', instancesTotal: 2 }])).toBe('shop')
    expect(defaultService([{ service: 'a', instancesTotal: 0 }, { service: 'b', instancesTotal: 0 }])).toBe('a')
    expect(defaultService([])).toBeNull()
    expect(defaultService(undefined)).toBeNull()
  })
})
