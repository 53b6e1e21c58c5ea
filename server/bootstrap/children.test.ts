/** children.mjs: a guarded command never outlives a stop, even one that SIGKILLs the guard. */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { isAlive as alive } from '../testing/processes'
import { spawnChild } from './children.mjs'

async function commandPidOf(child: ReturnType<typeof spawnChild>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const pid = child.commandPid()
    if (pid !== undefined) return pid
    await sleep(20)
  }
  throw new Error('the guard never reported its command pid')
}

describe('spawnChild', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('stop(%s) ends the command as well as its guard', async (signal) => {
    // A command that ignores nothing but would happily run for a minute.
    const child = spawnChild(`sleeper-${signal}`, 'sleep', ['60'], { quiet: true })
    const pid = await commandPidOf(child)
    expect(alive(pid)).toBe(true)
    await child.stop(signal, 1000)
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(20)
    expect(alive(pid)).toBe(false)
    expect(child.isRunning()).toBe(false)
  })
})
