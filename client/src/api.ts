/**
 * The dashboard's only door to the server: one tRPC client and a typed function per procedure it uses. The
 * functions state their result types with the shared schemas, so a contract drift shows up here at compile
 * time, and the rest of the client never touches tRPC paths directly.
 */
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client'
import type { AppRouter } from '../../server/app/router'
import type { BreakerCommand, OverviewSnapshot, Role } from '../../shared/schemas'

/** Base URL of the tRPC API (same origin; the Vite dev server proxies it). */
export const TRPC_URL = '/trpc'

/** Non-simple header every non-subscription request carries; the server requires it on mutations (CSRF). */
export const CSRF_HEADERS = { 'x-fusebox-csrf': '1' } as const

const client = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      // SSE via EventSource: same-origin cookie auth, reconnects by itself with the last tracked event id.
      true: httpSubscriptionLink({ url: TRPC_URL }),
      false: splitLink({
        condition: (op) => op.type === 'query',
        // Queries: one GET per call, so each has a stable URL the service worker can cache network-first.
        true: httpLink({ url: TRPC_URL, headers: CSRF_HEADERS }),
        // Mutations: POST, JSON, with the CSRF header.
        false: httpBatchLink({ url: TRPC_URL, maxURLLength: 2000, maxItems: 10, headers: CSRF_HEADERS }),
      }),
    }),
  ],
})

/** Options every call accepts: an abort signal (unmount, timeout). */
export interface CallOptions {
  signal?: AbortSignal
}

/** Signs in with an access token (one-time link token or a configured one); sets the session cookie. 401 on a bad token. */
export function login(token: string): Promise<{ role: Role }> {
  return client.auth.login.mutate({ token })
}

/** Ends the session (clears the cookie). */
export function logout(): Promise<{ ok: true }> {
  return client.auth.logout.mutate()
}

/** The role of the current session; 401 without one. */
export function me(opts: CallOptions = {}): Promise<{ role: Role }> {
  return client.auth.me.query(undefined, opts)
}

/** Overview of every service and breaker over `windowMs` (server default 5 min). */
export function getOverview(input: { windowMs?: number } = {}, opts: CallOptions = {}): Promise<OverviewSnapshot> {
  return client.overview.get.query(input, opts)
}

/** Input of a breaker command; `reason` 1–500 characters, recorded in the audit log. */
export interface BreakerCommandInput {
  service: string
  breaker: string
  command: BreakerCommand
  reason: string
}

/** Issues a command on one breaker on every instance; 403 for viewers. Returns the generation to watch for. */
export function sendBreakerCommand(input: BreakerCommandInput): Promise<{ commandId: string; generation: number }> {
  return client.breakers.command.mutate(input)
}

/** Callbacks of the live snapshot subscription. */
export interface LiveHandlers {
  /** A new snapshot (about once per second). */
  onSnapshot: (snapshot: OverviewSnapshot) => void
  /** The connection is (re)established and waiting for events. */
  onConnected: () => void
  /** The connection dropped with an error; EventSource is retrying. */
  onConnectionError: (err: unknown) => void
  /** The subscription ended for good (e.g. 401); it will not retry. */
  onError: (err: unknown) => void
}

/** Subscribes to `live.snapshot` (SSE); returns a function that stops the subscription. */
export function subscribeLive(handlers: LiveHandlers): () => void {
  const sub = client.live.snapshot.subscribe(
    { lastEventId: null },
    {
      onData: (event) => handlers.onSnapshot(event.data),
      onConnectionStateChange: (state) => {
        if (state.state === 'pending') handlers.onConnected()
        else if (state.state === 'connecting' && state.error) handlers.onConnectionError(state.error)
      },
      onError: (err) => handlers.onError(err),
    },
  )
  return () => sub.unsubscribe()
}
