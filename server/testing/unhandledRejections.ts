/**
 * Test helper: every unhandled promise rejection of the current test, for tests that promise the SDK never leaves
 * one behind (a rejection nobody handles ends a Node host process). Registers its own vitest hooks.
 */
import { afterEach, beforeEach } from 'vitest'

/**
 * Starts watching for unhandled rejections around each test of the calling file.
 * @returns the list the current test's rejections are collected in (emptied before each test)
 */
export function watchUnhandledRejections(): readonly unknown[] {
  const seen: unknown[] = []
  const onUnhandled = (reason: unknown) => void seen.push(reason)
  beforeEach(() => {
    seen.length = 0
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  return seen
}
