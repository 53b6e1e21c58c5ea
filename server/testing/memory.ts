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
