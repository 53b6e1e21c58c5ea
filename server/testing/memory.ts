/**
 * Memory figures for tests that bound what a component keeps (tests only).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** JS heap plus ArrayBuffer backing stores after two forced GCs, in bytes (vitest workers run without --expose-gc). */
export function memoryAfterGc(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/**
 * A process's memory as parts, bytes — what server/app/testing/serverProcess.ts's probe reports (from
 * `process.memoryUsage()`, `v8.getHeapStatistics()` and /proc/self/status).
 */
export interface MemoryParts {
  /** Resident set size. */
  rssBytes: number
  /** Anonymous part of the RSS (heaps, malloc arenas, V8 pages); 0 where /proc is missing. */
  rssAnonBytes: number
  /** JS objects alive in V8's heap. */
  heapUsedBytes: number
  /** Memory of C++ objects bound to JS objects (Buffers and other ArrayBuffers, external strings, zlib contexts). */
  externalBytes: number
  /** V8 heap pages resident (`total_physical_size`), used or kept free by V8. */
  heapPhysicalBytes: number
}

/** How a process's memory grew between two probes, bytes (negative: it shrank). */
export interface MemoryGrowth {
  /**
   * Δ(heapUsed + external): what live JS values hold, in V8's heap and bound to it. A leak of objects, strings,
   * Buffers or zlib contexts grows this, on every Node version alike.
   */
  liveBytes: number
  /**
   * Δ(rssAnon − heapPhysical): resident anonymous memory outside V8's heap — malloc'ed memory V8 is not told about
   * (a native leak), plus what the C allocator keeps after frees.
   */
  outsideHeapBytes: number
  /** Δrss, for the record only: it also holds the free pages V8 keeps in its heap, which V8 sizes, not our code. */
  rssBytes: number
}

/**
 * Growth from `before` to `after` (both taken after a full GC), split so that each part is about one kind of leak.
 * What is left out on purpose is `heapPhysical − heapUsed`, the free pages V8 keeps committed after a GC: V8 sizes
 * them by its own policy, and that differs per version (measured in server/app/fuzz.test.ts: Node 24 grows its
 * young generation to 2 × 64 MiB and keeps it resident, Node 20 can keep ~80 MiB of old space committed with 23 MiB
 * used) — bounded by V8's flags, not by what the code under test keeps. Where `rssAnonBytes` is 0 (no /proc), the
 * whole RSS stands in for it.
 */
export function memoryGrowth(before: MemoryParts, after: MemoryParts): MemoryGrowth {
  const live = (m: MemoryParts): number => m.heapUsedBytes + m.externalBytes
  const outside = (m: MemoryParts): number => (m.rssAnonBytes > 0 ? m.rssAnonBytes : m.rssBytes) - m.heapPhysicalBytes
  return { liveBytes: live(after) - live(before), outsideHeapBytes: outside(after) - outside(before), rssBytes: after.rssBytes - before.rssBytes }
}
