import { describe, expect, it } from 'vitest'
import { buildTimelineRows, STATE_LEVELS } from './timelineSeries'

describe('breaker timeline series', () => {
  it('steps each instance through its transitions in time order', () => {
    const events = [
      { atMs: 300, type: 'transition', instance: 'a', from: 'OPEN', to: 'HALF_OPEN' },
      { atMs: 200, type: 'transition', instance: 'a', from: 'CLOSED', to: 'OPEN' },
      { atMs: 250, type: 'commandIssued', instance: '', from: '', to: '' },
    ]
    const { rows, instances } = buildTimelineRows(events, [{ instance: 'a', state: 'HALF_OPEN' }], 100, 400)
    expect(instances).toEqual(['a'])
    expect(rows.map((r) => [r.t, r.a])).toEqual([
      [100, STATE_LEVELS.CLOSED],
      [200, STATE_LEVELS.OPEN],
      [300, STATE_LEVELS.HALF_OPEN],
      [400, STATE_LEVELS.HALF_OPEN],
    ])
  })

  it('draws an instance without transitions flat at its current state', () => {
    const { rows } = buildTimelineRows([], [{ instance: 'b', state: 'FORCED_OPEN' }], 0, 10)
    expect(rows.map((r) => r.b)).toEqual([STATE_LEVELS.FORCED_OPEN, STATE_LEVELS.FORCED_OPEN])
  })
})
