import { describe, expect, it } from 'vitest'
import { stateBands } from './StateTimeline'
import { buildTimelineRows } from './timelineSeries'

describe('stateBands', () => {
  it('draws each instance as consecutive bands of one state, merging repeats, ending at the window end', () => {
    const events = [
      { atMs: 300, type: 'transition', instance: 'a', from: 'OPEN', to: 'HALF_OPEN' },
      { atMs: 200, type: 'transition', instance: 'a', from: 'CLOSED', to: 'OPEN' },
      { atMs: 250, type: 'transition', instance: 'b', from: 'CLOSED', to: 'FORCED_OPEN' },
    ]
    const { rows } = buildTimelineRows(events, [{ instance: 'a', state: 'HALF_OPEN' }, { instance: 'b', state: 'FORCED_OPEN' }], 100, 400)
    expect(stateBands(rows, 'a')).toEqual([
      { fromMs: 100, toMs: 200, state: 'CLOSED' },
      { fromMs: 200, toMs: 300, state: 'OPEN' },
      { fromMs: 300, toMs: 400, state: 'HALF_OPEN' },
    ])
    expect(stateBands(rows, 'b')).toEqual([
      { fromMs: 100, toMs: 250, state: 'CLOSED' },
      { fromMs: 250, toMs: 400, state: 'FORCED_OPEN' },
    ])
    expect(stateBands(rows, 'nobody')).toEqual([])
  })
})
