/**
 * Live streams end with their session (issue #11, docs/decisions/016-auth-that-ends.md): each SSE subscription
 * re-checks its session every `recheckMs` (default 5 s, so within 10 s on any server process) and ends when it is
 * gone (logout, "sign out everywhere" elsewhere, expiry, its token removed). On the process that handled a logout
 * the streams end at once. A session may hold at most `maxPerSession` streams on one process (default 20); one more
 * is refused with 429, so one viewer cannot pin unbounded work.
 */
import { TRPCError } from '@trpc/server'
import type { Session } from './auth'

/** Options of the live-stream guard (HttpOptions.liveStreams). */
export interface StreamGuardOptions {
  /** Session re-check period, ms (default STREAM_RECHECK_MS). */
  recheckMs?: number
  /** Most concurrent streams per session on one process (default MAX_STREAMS_PER_SESSION). */
  maxPerSession?: number
}

/** Default re-check period of a live stream's session, ms ("at least every 10 s"). */
export const STREAM_RECHECK_MS = 5000
/** Default cap on concurrent live streams per session (per server process). */
export const MAX_STREAMS_PER_SESSION = 20

interface Lease {
  session: Pick<Session, 'keyId' | 'tokenId'>
  controller: AbortController
}

/** One per app: counts streams per session and ends them. */
export class StreamGuard {
  readonly recheckMs: number
  readonly maxPerSession: number
  private readonly bySession = new Map<string, Set<Lease>>()

  constructor(options: StreamGuardOptions = {}) {
    this.recheckMs = options.recheckMs ?? STREAM_RECHECK_MS
    this.maxPerSession = options.maxPerSession ?? MAX_STREAMS_PER_SESSION
  }

  /**
   * Opens a stream for `session`: returns a signal that aborts when the client goes (`clientSignal`) or the session
   * ends (`end…`, or `stillValid` resolving false at a re-check; a rejection — Redis unreachable — keeps the stream),
   * `ended()` telling which, and `release()` to call when the stream is over.
   * @throws TRPCError TOO_MANY_REQUESTS when the session already holds `maxPerSession` streams here
   */
  open(
    session: Pick<Session, 'keyId' | 'tokenId'>,
    stillValid: () => Promise<boolean>,
    clientSignal: AbortSignal | undefined,
  ): { signal: AbortSignal; ended: () => boolean; release: () => void } {
    let set = this.bySession.get(session.keyId)
    if ((set?.size ?? 0) >= this.maxPerSession) {
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${this.maxPerSession} live streams per session` })
    }
    if (!set) {
      set = new Set()
      this.bySession.set(session.keyId, set)
    }
    const lease: Lease = { session, controller: new AbortController() }
    set.add(lease)
    let sessionEnded = false
    const onClientAbort = () => lease.controller.abort()
    clientSignal?.addEventListener('abort', onClientAbort)
    lease.controller.signal.addEventListener('abort', () => {
      if (!clientSignal?.aborted) sessionEnded = true
    })
    let checking = false
    const timer = setInterval(() => {
      if (checking) return
      checking = true
      stillValid()
        .then((ok) => {
          if (!ok) lease.controller.abort()
        })
        .catch(() => undefined)
        .finally(() => {
          checking = false
        })
    }, this.recheckMs)
    timer.unref()
    const release = () => {
      clearInterval(timer)
      clientSignal?.removeEventListener('abort', onClientAbort)
      const s = this.bySession.get(session.keyId)
      s?.delete(lease)
      if (s?.size === 0) this.bySession.delete(session.keyId)
    }
    return { signal: lease.controller.signal, ended: () => sessionEnded, release }
  }

  /** Ends this process's streams of one session at once (logout). */
  endSession(keyId: string): void {
    for (const lease of this.bySession.get(keyId) ?? []) lease.controller.abort()
  }

  /** Ends this process's streams of every session of a token ("sign out everywhere"). */
  endToken(tokenId: string): void {
    for (const set of this.bySession.values()) for (const lease of set) if (lease.session.tokenId === tokenId) lease.controller.abort()
  }

  /** Open streams of a session on this process. */
  countFor(keyId: string): number {
    return this.bySession.get(keyId)?.size ?? 0
  }
}
