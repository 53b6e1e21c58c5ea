/**
 * Coalesces writes per key: while one write of a key is in flight, later values only replace a single pending
 * value, which is written when the in-flight one finishes. Live snapshots arrive every second and each one
 * would otherwise queue a full IndexedDB write; with this, storage sees at most one write in flight and the
 * last value always lands.
 */

/** Writes one string value under a key; may reject. */
export type WriteFn = (key: string, value: string) => Promise<void>

/** A coalescing writer plus a way to drop what is pending for a key and wait for its in-flight write. */
export interface CoalescingWriter {
  /** Queues `value` for `key`; resolves once the latest value queued so far for `key` is written. */
  write: WriteFn
  /** Drops the pending value for `key` and resolves when no write of `key` is in flight any more. */
  cancel: (key: string) => Promise<void>
}

/** Wraps `write` so that writes of the same key are serialised and coalesced (last value wins). */
export function coalesceWrites(write: WriteFn): CoalescingWriter {
  const pending = new Map<string, string>()
  const loops = new Map<string, Promise<void>>()

  async function drain(key: string): Promise<void> {
    try {
      for (let value = pending.get(key); value !== undefined; value = pending.get(key)) {
        pending.delete(key)
        await write(key, value)
      }
    } finally {
      loops.delete(key)
    }
  }

  return {
    write(key, value) {
      pending.set(key, value)
      let loop = loops.get(key)
      if (!loop) {
        loop = drain(key)
        loops.set(key, loop)
      }
      return loop
    },
    async cancel(key) {
      pending.delete(key)
      await loops.get(key)?.catch(() => undefined)
    },
  }
}
