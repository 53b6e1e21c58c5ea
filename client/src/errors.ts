/**
 * Classifies what a tRPC call failed with, so the app can tell "the network/server is unreachable" (show the
 * persisted snapshot, offline banner) from "the server answered with an error" (401 → sign in, 403 → no rights).
 */

/** A failure where no tRPC answer came back: fetch rejected, timed out, or a proxy sent a non-tRPC body. */
export interface NetworkFailure {
  kind: 'network'
  message: string
}

/** The server answered with a tRPC error, e.g. code `UNAUTHORIZED` (401) or `FORBIDDEN` (403). */
export interface ServerFailure {
  kind: 'server'
  code: string
  httpStatus: number | null
  message: string
}

/** The call was aborted by this app (component unmounted, session ended); nothing to show. */
export interface AbortedCall {
  kind: 'aborted'
}

export type CallFailure = NetworkFailure | ServerFailure | AbortedCall

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null
}

/**
 * Classifies an error thrown by the tRPC client (duck-typed on `TRPCClientError`: a server answer carries
 * `data.code`; a transport failure carries only a `cause`). A `TimeoutError` (from `AbortSignal.timeout`)
 * counts as a network failure; an `AbortError` as an aborted call.
 */
export function classifyError(err: unknown): CallFailure {
  if (!isRecord(err)) return { kind: 'network', message: String(err) }
  const message = typeof err.message === 'string' ? err.message : 'Unknown error'
  const data = err.data
  if (isRecord(data) && typeof data.code === 'string') {
    return {
      kind: 'server',
      code: data.code,
      httpStatus: typeof data.httpStatus === 'number' ? data.httpStatus : null,
      message,
    }
  }
  const cause = isRecord(err.cause) ? err.cause : null
  if (err.name === 'AbortError' || cause?.name === 'AbortError') return { kind: 'aborted' }
  return { kind: 'network', message }
}

/** Whether `err` is a transport-level failure (see {@link classifyError}). */
export function isNetworkError(err: unknown): boolean {
  return classifyError(err).kind === 'network'
}

/** Whether the server answered `err` with the given tRPC error code (e.g. `'UNAUTHORIZED'`). */
export function hasErrorCode(err: unknown, code: string): boolean {
  const failure = classifyError(err)
  return failure.kind === 'server' && failure.code === code
}
