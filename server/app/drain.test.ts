/** HealthCheckWatch (drain.ts): when a stop drains, and for how long. The process-level check is haproxy.test.ts step 5. */
import { describe, expect, it } from 'vitest'
import { HEALTH_CHECK_WINDOW_MS, HealthCheckWatch } from './drain'

describe('HealthCheckWatch', () => {
  it('drains only after two health checks within the window', () => {
    const w = new HealthCheckWatch(4000)
    expect(w.drainFor(1000)).toBe(0)
    w.seen(1000)
    expect(w.drainFor(1500), 'one check (npm start waiting for health) is not a balancer').toBe(0)
    w.seen(2000)
    expect(w.drainFor(2500)).toBe(4000)
    expect(w.drainFor(1000 + HEALTH_CHECK_WINDOW_MS)).toBe(4000)
    expect(w.drainFor(1001 + HEALTH_CHECK_WINDOW_MS), 'checks stopped: nobody to tell').toBe(0)
  })
  it('never drains when set to 0', () => {
    const w = new HealthCheckWatch(0)
    w.seen(1)
    w.seen(2)
    expect(w.drainFor(3)).toBe(0)
  })
})
