/**
 * Bounds a promise in time without leaking: the SDK never lets a slow Redis hold a flush, a reconcile or a cache call.
 */

/**
 * Resolves or rejects as `p` does, unless `ms` pass first: then rejects with `Error('<what> timed out after <ms> ms')`.
 * The timer is unref'd (never keeps the host alive); a late rejection of `p` is handled, never unhandled. Non-Error
 * rejections are wrapped in an Error.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    t.unref()
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}
