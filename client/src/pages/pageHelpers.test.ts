import { describe, expect, it } from 'vitest'
import { formatUptime } from './InstancesPage'
import { parseRouteParam } from './EndpointsPage'

describe('page helpers', () => {
  it('uptime shows the two largest units', () => {
    expect(formatUptime(9)).toBe('9s')
    expect(formatUptime(42 * 60 + 7)).toBe('42m 7s')
    expect(formatUptime(5 * 3600 + 12 * 60)).toBe('5h 12m')
    expect(formatUptime(3 * 86_400 + 4 * 3600 + 5)).toBe('3d 4h')
    expect(formatUptime(-1)).toBe('—')
  })

  it('a drill-down route param is "METHOD /path" with a known method', () => {
    expect(parseRouteParam('GET /products/:id')).toEqual({ method: 'GET', route: '/products/:id' })
    expect(parseRouteParam('BREW /coffee')).toBeNull()
    expect(parseRouteParam('GET')).toBeNull()
    expect(parseRouteParam(null)).toBeNull()
  })
})
