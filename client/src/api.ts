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
  /** The one instance to command; omitted: every instance. */
  instance?: string
}

/**
 * Issues a command on one breaker, on every instance or on `instance` only; 403 for viewers. Returns the
 * generation to watch for and the command id (`getCommandStatus`).
 */
export function issueBreakerCommand(input: BreakerCommandInput): Promise<{ commandId: string; generation: number }> {
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

/**
 * Subscribes to `live.snapshot` (SSE) over `windowMs` (server default 5 min when omitted; the server computes one
 * stream per window); returns a function that stops the subscription.
 */
export function subscribeLive(handlers: LiveHandlers, windowMs?: number): () => void {
  const sub = client.live.snapshot.subscribe(
    windowMs === undefined ? { lastEventId: null } : { lastEventId: null, windowMs },
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

// ---------------------------------------------------------------------------------------------------------------
// Shell, Overview, Endpoints, Caches and Instances pages. Result types are inferred from the router (types only).
// ---------------------------------------------------------------------------------------------------------------
import type { inferRouterOutputs } from '@trpc/server'

/** Outputs of every procedure, inferred from the server's router type. */
type ApiOutputs = inferRouterOutputs<AppRouter>

/** One service with instances up / total (`services.list`). */
export type ServiceListItem = ApiOutputs['services']['list'][number]
/** A service's (or route's) series over a window: `{ tier, bucketMs, points, total }` (`series.get`). */
export type ServiceSeriesResult = ApiOutputs['series']['get']
/** One page of the endpoints table: `{ tier, total, rows }` (`endpoints.list`). */
export type EndpointsPage = ApiOutputs['endpoints']['list']
/** One endpoints row: method, route, requests, throughputRps, errorRate (0–1), p50Ms/p95Ms/p99Ms (ms or null). */
export type EndpointRowData = EndpointsPage['rows'][number]
/** Caches of a service over a window: `{ tier, caches }` (`caches.list`). */
export type CachesResult = ApiOutputs['caches']['list']
/** One cache: totals, hit ratio (0–1 or null) and per-bucket points. */
export type CacheSummaryData = CachesResult['caches'][number]
/** One instance's health detail (`instances.list`). */
export type InstanceDetailData = ApiOutputs['instances']['list'][number]
/** Redis health (`redis.info`). */
export type RedisHealthData = ApiOutputs['redis']['info']

/** Sortable columns of the endpoints table. */
export type EndpointSortKey = 'route' | 'requests' | 'throughputRps' | 'errorRate' | 'p50Ms' | 'p95Ms' | 'p99Ms'

/** HTTP methods the SDK records (route drill-down input). */
export type RouteMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH' | '_OTHER'

/** Every service that ever reported, sorted by name, with instances up / total. */
export function listServices(opts: CallOptions = {}): Promise<ServiceListItem[]> {
  return client.services.list.query(undefined, opts)
}

/** Series of a service, or of one route of it, over `windowMs` (10 s … 30 days; the server picks the tier). */
export function getSeries(
  input: { service: string; windowMs: number; route?: { method: RouteMethod; route: string } },
  opts: CallOptions = {},
): Promise<ServiceSeriesResult> {
  return client.series.get.query(input, opts)
}

/** Input of `listEndpoints`; `filter` matches route or method case-insensitively; `limit` 1–ENDPOINTS_MAX_LIMIT (2000). */
export interface EndpointsQuery {
  service: string
  windowMs: number
  sortBy: EndpointSortKey
  descending: boolean
  filter?: string
  /** First row to return (default 0). */
  offset?: number
  limit: number
}

/** One sorted, filtered page of a service's routes with rps, error rate and p50/p95/p99. */
export function listEndpoints(input: EndpointsQuery, opts: CallOptions = {}): Promise<EndpointsPage> {
  return client.endpoints.list.query(input, opts)
}

/** Every cache of a service over `windowMs`: totals and per-bucket points. */
export function listCaches(input: { service: string; windowMs: number }, opts: CallOptions = {}): Promise<CachesResult> {
  return client.caches.list.query(input, opts)
}

/** Removes every entry of `cache` tagged `tag` on all instances (operator; audited). 403 for viewers. */
export function invalidateCacheTag(input: { service: string; cache: string; tag: string; reason: string }): Promise<{ removed: number }> {
  return client.caches.invalidateTag.mutate(input)
}

/** Instances of a service with health detail (CPU %, event-loop p99, heap, RSS, uptime, version, up). */
export function listInstances(input: { service: string }, opts: CallOptions = {}): Promise<InstanceDetailData[]> {
  return client.instances.list.query(input, opts)
}

/** Redis health: memory, ops/s, keyspace hit ratio, clients, keys, AOF. */
export function getRedisInfo(opts: CallOptions = {}): Promise<RedisHealthData> {
  return client.redis.info.query(undefined, opts)
}

// ---------------------------------------------------------------------------------------------------------------
// Breakers, Breaker detail, Requests and Events & audit pages (helper H). Types inferred from the client (types only).
// ---------------------------------------------------------------------------------------------------------------
import type { BreakerSummary } from '../../shared/schemas'

/** A breaker with its state timeline (`breakers.get`): `{ summary, timeline }`, timeline newest first. */
export type BreakerDetailData = Awaited<ReturnType<typeof client.breakers.get.query>>
/** One event: transition, commandApplied or commandIssued (`events.*`, breaker timeline). */
export type EventEntryData = BreakerDetailData['timeline'][number]
/** Progress of an issued command (`breakers.commandStatus`). */
export type CommandStatusData = Awaited<ReturnType<typeof client.breakers.commandStatus.query>>
/** A page of the sampled request log (`requests.list`). */
export type RequestsPageData = Awaited<ReturnType<typeof client.requests.list.query>>
/** One sampled request (slow or failed). */
export type RequestEntryData = RequestsPageData['entries'][number]
/** A window of the request log by offset (`requests.window`). */
export type RequestsWindowData = Awaited<ReturnType<typeof client.requests.window.query>>
/** A page of events (`events.list`). */
export type EventsPageData = Awaited<ReturnType<typeof client.events.list.query>>
/** A window of events by offset (`events.window`). */
export type EventsWindowData = Awaited<ReturnType<typeof client.events.window.query>>
/** A page of the audit log (`audit.list`). */
export type AuditPageData = Awaited<ReturnType<typeof client.audit.list.query>>
/** One audit entry: who, when, what, why, outcome. */
export type AuditEntryData = AuditPageData['entries'][number]
/** Event types the events stream holds. */
export type EventType = 'transition' | 'commandApplied' | 'commandIssued'

/** Every breaker of one service, or of all services. */
export function listBreakers(input: { service?: string }, opts: CallOptions = {}): Promise<BreakerSummary[]> {
  return client.breakers.list.query(input.service ? { service: input.service } : undefined, opts)
}

/** One breaker with its state timeline over `windowMs` (10 s … 30 days). 404 when unknown. */
export function getBreaker(input: { service: string; breaker: string; windowMs: number }, opts: CallOptions = {}): Promise<BreakerDetailData> {
  return client.breakers.get.query(input, opts)
}

/** "Applied on n/m" of an issued command. */
export function getCommandStatus(input: { service: string; commandId: string }, opts: CallOptions = {}): Promise<CommandStatusData> {
  return client.breakers.commandStatus.query(input, opts)
}

/** What the request log and the events stream are both paged by: a cursor (null/omitted: newest) and a limit. */
export interface LogPageQuery {
  service: string
  cursor?: string | null
  limit: number
  instance?: string
}

/**
 * Rows [offset, offset + limit) of a whole log (request log or events stream; limit ≤ 500), newest first; with
 * `untilId` (a stream ID) offset 0 is the newest entry at or before it.
 */
export interface LogWindowQuery {
  service: string
  offset: number
  limit: number
  untilId?: string
}

/** Filters of the request log (`status`: a code like `503` or a class like `5xx`). */
export interface RequestsQuery extends LogPageQuery {
  route?: string
  status?: string
  fromMs?: number
  toMs?: number
}

/** A filtered page of the request log, newest first. */
export function listRequests(input: RequestsQuery, opts: CallOptions = {}): Promise<RequestsPageData> {
  return client.requests.list.query(input, opts)
}

/** Rows [offset, offset + limit) of the whole request log (limit ≤ 500). */
export function getRequestsWindow(input: LogWindowQuery, opts: CallOptions = {}): Promise<RequestsWindowData> {
  return client.requests.window.query(input, opts)
}

/** Filters of the events stream. */
export interface EventsQuery extends LogPageQuery {
  breaker?: string
  type?: EventType
}

/** A filtered page of events, newest first. */
export function listEvents(input: EventsQuery, opts: CallOptions = {}): Promise<EventsPageData> {
  return client.events.list.query(input, opts)
}

/** Rows [offset, offset + limit) of the whole events stream (limit ≤ 500). */
export function getEventsWindow(input: LogWindowQuery, opts: CallOptions = {}): Promise<EventsWindowData> {
  return client.events.window.query(input, opts)
}

/** A page of the audit log, newest first. */
export function listAudit(
  input: { cursor?: string | null; limit: number; service?: string; actor?: string },
  opts: CallOptions = {},
): Promise<AuditPageData> {
  return client.audit.list.query(input, opts)
}
