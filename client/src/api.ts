/**
 * The dashboard's only door to the server: one tRPC client and a typed function per procedure it uses. Every
 * input and result type here is inferred from the server's `AppRouter` (a type-only import), so a contract drift
 * shows up at compile time, and the rest of the client never touches tRPC paths directly.
 */
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client'
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '../../server/app/router'
import { CSRF_HEADER } from '../../shared/vocabulary'
import { currentAppUrl } from './basePath'

/** Inputs of every procedure (what the client may send: zod input types, so defaulted fields are optional). */
type ApiInputs = inferRouterInputs<AppRouter>
/** Outputs of every procedure, inferred from the server's router type. */
type ApiOutputs = inferRouterOutputs<AppRouter>
/** An optional input once given (tRPC types an optional input as `T | void | undefined`). */
type Given<T> = Exclude<T, void | undefined>

/**
 * Absolute URL of the tRPC API: `trpc` under the dashboard's base (`<origin>/trpc`, or `<origin>/ops/fusebox/trpc`
 * when mounted there; basePath.ts). Same origin; the Vite dev server proxies it.
 */
export const TRPC_URL = currentAppUrl('trpc')

/** Non-simple header every non-subscription request carries (`{ [CSRF_HEADER]: '1' }`); the server requires it on mutations. */
export const CSRF_HEADERS = { [CSRF_HEADER]: '1' } as const

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

// ---------------------------------------------------------------------------------------------------------------
// Session and live snapshot.
// ---------------------------------------------------------------------------------------------------------------

/** The role of a session as `auth.login` reports it: `{ role }`. */
export type LoginResult = ApiOutputs['auth']['login']
/** The current session as `auth.me` reports it: `{ role, actor }`. */
export type SessionInfo = ApiOutputs['auth']['me']
/** Overview of every service and breaker over a window (`overview.get`, and each `live.snapshot` event). */
export type OverviewData = ApiOutputs['overview']['get']
/** One `live.snapshot` event's data: an overview snapshot (`asOfMs` is also the event id). */
export type LiveSnapshotData = ApiOutputs['live']['snapshot'] extends AsyncIterable<{ data: infer T }> ? T : never

/** Signs in with an access token (one-time link token or a configured one); sets the session cookie. 401 on a bad token. */
export function login(token: string): Promise<LoginResult> {
  return client.auth.login.mutate({ token })
}

/** Ends the session (clears the cookie); resolves to `{ ok: true }`. */
export function logout(): Promise<ApiOutputs['auth']['logout']> {
  return client.auth.logout.mutate()
}

/** "Sign out everywhere": ends every session of this session's access token (all devices); `{ ok, ended }`. */
export function logoutEverywhere(): Promise<ApiOutputs['auth']['logoutEverywhere']> {
  return client.auth.logoutEverywhere.mutate()
}

/** The role (and actor name) of the current session; 401 without one. */
export function me(opts: CallOptions = {}): Promise<SessionInfo> {
  return client.auth.me.query(undefined, opts)
}

/** Overview of every service and breaker over `windowMs` (server default 5 min) ending at `untilMs` (epoch ms, default now). */
export function getOverview(input: Given<ApiInputs['overview']['get']> = {}, opts: CallOptions = {}): Promise<OverviewData> {
  return client.overview.get.query(input, opts)
}

/** Callbacks of the live snapshot subscription. */
export interface LiveHandlers {
  /** A new snapshot (about once per second). */
  onSnapshot: (snapshot: LiveSnapshotData) => void
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
// Shell, Overview, Endpoints, Caches and Instances pages.
// ---------------------------------------------------------------------------------------------------------------

/** One service with instances up / total (`services.list`). */
export type ServiceListItem = ApiOutputs['services']['list'][number]
/** Input of `getSeries`: `{ service, windowMs? (10 s … 30 days), untilMs? (absolute window end, epoch ms), route?: { method, route } }`. */
export type SeriesQuery = ApiInputs['series']['get']
/**
 * A service's (or route's) series over a window: `{ tier, bucketMs, points, total }` (`series.get`); a point with
 * `noData` is a gap (every figure null), `total` is the window's SeriesStats.
 */
export type ServiceSeriesResult = ApiOutputs['series']['get']
/**
 * Input of `listEndpoints`: service, window (and `untilMs`, its absolute end), sort key and direction, `filter` (route or method, case-insensitive),
 * `offset` (first row, default 0) and `limit` (1–ENDPOINTS_MAX_LIMIT).
 */
export type EndpointsQuery = ApiInputs['endpoints']['list']
/** Sortable columns of the endpoints table (the server's sort keys). */
export type EndpointSortKey = NonNullable<EndpointsQuery['sortBy']>
/** One page of the endpoints table: `{ tier, total, rows, coveredMs, dataSinceMs }` (`endpoints.list`). */
export type EndpointsPage = ApiOutputs['endpoints']['list']
/**
 * One endpoints row: method, route, status counts and the route's SeriesStats — requests, errors, throughputRps
 * (null: no data), errorRate (0–1, null: no requests), p50Ms/p95Ms/p99Ms/p999Ms (ms or null).
 */
export type EndpointRowData = EndpointsPage['rows'][number]
/** Caches of a service over a window: `{ tier, caches }` (`caches.list`). */
export type CachesResult = ApiOutputs['caches']['list']
/** One cache: totals, hit ratio (0–1 or null) and per-bucket points. */
export type CacheSummaryData = CachesResult['caches'][number]
/** Input of `invalidateCacheTag`: `{ service, cache, tag, reason }` (reason 1–500 characters, audited). */
export type InvalidateTagInput = ApiInputs['caches']['invalidateTag']
/** One instance's health detail (`instances.list`). */
export type InstanceDetailData = ApiOutputs['instances']['list'][number]
/** Redis health (`redis.info`). */
export type RedisHealthData = ApiOutputs['redis']['info']

/** Every service that ever reported, sorted by name, with instances up / total. */
export function listServices(opts: CallOptions = {}): Promise<ServiceListItem[]> {
  return client.services.list.query(undefined, opts)
}

/** Series of a service, or of one route of it, over `windowMs` (10 s … 30 days; the server picks the tier) ending at `untilMs` (default now). */
export function getSeries(input: SeriesQuery, opts: CallOptions = {}): Promise<ServiceSeriesResult> {
  return client.series.get.query(input, opts)
}

/** One sorted, filtered page of a service's routes with rps, error rate and p50/p95/p99/p99.9. */
export function listEndpoints(input: EndpointsQuery, opts: CallOptions = {}): Promise<EndpointsPage> {
  return client.endpoints.list.query(input, opts)
}

/** Every cache of a service over `windowMs`: totals and per-bucket points. */
export function listCaches(input: ApiInputs['caches']['list'], opts: CallOptions = {}): Promise<CachesResult> {
  return client.caches.list.query(input, opts)
}

/** Removes every entry of `cache` tagged `tag` on all instances (operator; audited); resolves to `{ removed }`. 403 for viewers. */
export function invalidateCacheTag(input: InvalidateTagInput): Promise<ApiOutputs['caches']['invalidateTag']> {
  return client.caches.invalidateTag.mutate(input)
}

/** Instances of a service with health detail (CPU %, event-loop p99, heap, RSS, uptime, version, up). */
export function listInstances(input: ApiInputs['instances']['list'], opts: CallOptions = {}): Promise<InstanceDetailData[]> {
  return client.instances.list.query(input, opts)
}

/** Redis health: memory, ops/s, keyspace hit ratio, clients, keys, AOF. */
export function getRedisInfo(opts: CallOptions = {}): Promise<RedisHealthData> {
  return client.redis.info.query(undefined, opts)
}

// ---------------------------------------------------------------------------------------------------------------
// Breakers, Breaker detail, Requests and Events & audit pages.
// ---------------------------------------------------------------------------------------------------------------

/** Every breaker of one service or all (`breakers.list`): cluster state, agreement, per-instance reports. */
export type BreakerListData = ApiOutputs['breakers']['list']
/** A breaker with its state timeline (`breakers.get`): `{ summary, timeline }`, timeline newest first. */
export type BreakerDetailData = ApiOutputs['breakers']['get']
/** One event: transition, commandApplied or commandIssued (`events.*`, breaker timeline). */
export type EventEntryData = BreakerDetailData['timeline'][number]
/**
 * Input of a breaker command: `{ service, breaker, command, reason (1–500 characters, audited), instance? }`;
 * `instance` omitted: every instance.
 */
export type BreakerCommandInput = ApiInputs['breakers']['command']
/** What `breakers.command` returns: `{ commandId, generation }`. */
export type IssuedCommandData = ApiOutputs['breakers']['command']
/** Progress of an issued command (`breakers.commandStatus`). */
export type CommandStatusData = ApiOutputs['breakers']['commandStatus']
/** Filters of the request log (`status`: a code like `503` or a class like `5xx`), cursor paging, time bounds. */
export type RequestsQuery = ApiInputs['requests']['list']
/** A page of the sampled request log (`requests.list`). */
export type RequestsPageData = ApiOutputs['requests']['list']
/** One sampled request (slow or failed). */
export type RequestEntryData = RequestsPageData['entries'][number]
/**
 * Input of `getRequestsWindow`: rows [offset, offset + limit) (limit ≤ 500), newest first; with `untilId` (a stream
 * ID) offset 0 is the newest entry at or before it.
 */
export type RequestsWindowQuery = ApiInputs['requests']['window']
/** A window of the request log by offset (`requests.window`). */
export type RequestsWindowData = ApiOutputs['requests']['window']
/** Filters of the events stream (breaker, instance, type), cursor paging, time bounds. */
export type EventsQuery = ApiInputs['events']['list']
/** A page of events (`events.list`). */
export type EventsPageData = ApiOutputs['events']['list']
/** Input of `getEventsWindow`: as `RequestsWindowQuery`, over the events stream. */
export type EventsWindowQuery = ApiInputs['events']['window']
/** A window of events by offset (`events.window`). */
export type EventsWindowData = ApiOutputs['events']['window']
/** Input of `listAudit`: cursor paging (limit ≤ 500), optional service, actor and time bounds. */
export type AuditQuery = Given<ApiInputs['audit']['list']>
/** A page of the audit log (`audit.list`). */
export type AuditPageData = ApiOutputs['audit']['list']
/** One audit entry: who, when, what, why, outcome. */
export type AuditEntryData = AuditPageData['entries'][number]

/** Every breaker of one service, or of all services. */
export function listBreakers(input: Given<ApiInputs['breakers']['list']>, opts: CallOptions = {}): Promise<BreakerListData> {
  return client.breakers.list.query(input.service ? { service: input.service } : undefined, opts)
}

/** One breaker with its state timeline over `windowMs` (10 s … 30 days). 404 when unknown. */
export function getBreaker(input: ApiInputs['breakers']['get'], opts: CallOptions = {}): Promise<BreakerDetailData> {
  return client.breakers.get.query(input, opts)
}

/**
 * Issues a command on one breaker, on every instance or on `instance` only; 403 for viewers. Returns the
 * generation to watch for and the command id (`getCommandStatus`).
 */
export function issueBreakerCommand(input: BreakerCommandInput): Promise<IssuedCommandData> {
  return client.breakers.command.mutate(input)
}

/** "Applied on n/m" of an issued command. */
export function getCommandStatus(input: ApiInputs['breakers']['commandStatus'], opts: CallOptions = {}): Promise<CommandStatusData> {
  return client.breakers.commandStatus.query(input, opts)
}

/** A filtered page of the request log, newest first. */
export function listRequests(input: RequestsQuery, opts: CallOptions = {}): Promise<RequestsPageData> {
  return client.requests.list.query(input, opts)
}

/** Rows [offset, offset + limit) of the whole request log (limit ≤ 500). */
export function getRequestsWindow(input: RequestsWindowQuery, opts: CallOptions = {}): Promise<RequestsWindowData> {
  return client.requests.window.query(input, opts)
}

/** A filtered page of events, newest first. */
export function listEvents(input: EventsQuery, opts: CallOptions = {}): Promise<EventsPageData> {
  return client.events.list.query(input, opts)
}

/** Rows [offset, offset + limit) of the whole events stream (limit ≤ 500). */
export function getEventsWindow(input: EventsWindowQuery, opts: CallOptions = {}): Promise<EventsWindowData> {
  return client.events.window.query(input, opts)
}

/** A page of the audit log, newest first. */
export function listAudit(input: AuditQuery, opts: CallOptions = {}): Promise<AuditPageData> {
  return client.audit.list.query(input, opts)
}

/**
 * Path of the audit export (server/app/auditExport.ts) relative to the dashboard's base: JSON lines, oldest first,
 * for the signed-in session.
 */
export const AUDIT_EXPORT_PATH = 'api/audit.jsonl'

/**
 * Absolute URL of the audit log as JSON lines (under the dashboard's base): every entry kept, or those with
 * `fromMs ≤ time ≤ untilMs` (epoch ms) of one `service`. A plain GET with the session cookie (a download link; the
 * service worker leaves `api/` alone).
 */
export function auditExportUrl(q: { fromMs?: number; untilMs?: number; service?: string } = {}): string {
  const params = new URLSearchParams()
  if (q.fromMs !== undefined) params.set('fromMs', String(Math.floor(q.fromMs)))
  if (q.untilMs !== undefined) params.set('untilMs', String(Math.floor(q.untilMs)))
  if (q.service !== undefined) params.set('service', q.service)
  const query = params.toString()
  return currentAppUrl(query ? `${AUDIT_EXPORT_PATH}?${query}` : AUDIT_EXPORT_PATH)
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts page and the alert bar (issue #14).
// ---------------------------------------------------------------------------------------------------------------

/** Alerts pending or firing now, each with its rule, silence and acknowledgement (`alerts.active`). */
export type ActiveAlertsData = ApiOutputs['alerts']['active']
/** One alert of `ActiveAlertsData`. */
export type AlertViewData = ActiveAlertsData['alerts'][number]
/** A stored alert rule (`alerts.rules.list`). */
export type AlertRuleData = ApiOutputs['alerts']['rules']['list'][number]
/** A rule as an operator writes it (`alerts.rules.create` / `update`). */
export type AlertRuleInputData = ApiInputs['alerts']['rules']['create']['rule']
/** A shipped rule template (`alerts.rules.templates`). */
export type AlertRuleTemplateData = ApiOutputs['alerts']['rules']['templates'][number]
/** A silence with whether it is active now (`alerts.silences.list`). */
export type SilenceData = ApiOutputs['alerts']['silences']['list'][number]
/** Input of `createSilence`: matchers, end (epoch ms), reason. */
export type SilenceInputData = ApiInputs['alerts']['silences']['create']
/** A page of the alert history, newest first (`alerts.history`). */
export type AlertHistoryData = ApiOutputs['alerts']['history']
/** A page of the delivery log, newest first (`alerts.deliveries`). */
export type DeliveryLogData = ApiOutputs['alerts']['deliveries']
/** Receivers (kind and host), interval and who evaluates (`alerts.status`). */
export type AlertingStatusData = ApiOutputs['alerts']['status']

/** Alerts pending or firing now. */
export function getActiveAlerts(opts: CallOptions = {}): Promise<ActiveAlertsData> {
  return client.alerts.active.query(undefined, opts)
}

/** Receivers, evaluation interval, the evaluating server and the outbox size. */
export function getAlertingStatus(opts: CallOptions = {}): Promise<AlertingStatusData> {
  return client.alerts.status.query(undefined, opts)
}

/** Every alert rule, by name. */
export function listAlertRules(opts: CallOptions = {}): Promise<AlertRuleData[]> {
  return client.alerts.rules.list.query(undefined, opts)
}

/** The shipped rule templates. */
export function listAlertRuleTemplates(opts: CallOptions = {}): Promise<readonly AlertRuleTemplateData[]> {
  return client.alerts.rules.templates.query(undefined, opts)
}

/** Creates a rule (operator; audited with `reason`). */
export function createAlertRule(rule: AlertRuleInputData, reason: string): Promise<AlertRuleData> {
  return client.alerts.rules.create.mutate({ rule, reason })
}

/** Saves rule `id` read at `version` (409 CONFLICT when someone saved another version meanwhile). */
export function updateAlertRule(id: string, version: number, rule: AlertRuleInputData, reason: string): Promise<AlertRuleData> {
  return client.alerts.rules.update.mutate({ id, version, rule, reason })
}

/** Deletes rule `id`; its firing alerts resolve at the next evaluation. */
export function deleteAlertRule(id: string, reason: string): Promise<{ ok: true }> {
  return client.alerts.rules.delete.mutate({ id, reason })
}

/** Every silence (active, pending, ended within 7 days). */
export function listSilences(opts: CallOptions = {}): Promise<SilenceData[]> {
  return client.alerts.silences.list.query(undefined, opts)
}

/** Creates a silence (operator; audited). */
export function createSilence(input: SilenceInputData): Promise<ApiOutputs['alerts']['silences']['create']> {
  return client.alerts.silences.create.mutate(input)
}

/** Ends silence `id` now (operator; audited). */
export function expireSilence(id: string, reason: string): Promise<ApiOutputs['alerts']['silences']['expire']> {
  return client.alerts.silences.expire.mutate({ id, reason })
}

/** Acknowledges the current episode of one alert (operator; audited). */
export function acknowledgeAlert(ruleId: string, key: string, reason: string): Promise<ApiOutputs['alerts']['acknowledge']> {
  return client.alerts.acknowledge.mutate({ ruleId, key, reason })
}

/** A page of the alert history (state changes), newest first. */
export function listAlertHistory(input: Given<ApiInputs['alerts']['history']> = {}, opts: CallOptions = {}): Promise<AlertHistoryData> {
  return client.alerts.history.query(input, opts)
}

/** A page of the delivery log, newest first. */
export function listDeliveries(input: Given<ApiInputs['alerts']['deliveries']> = {}, opts: CallOptions = {}): Promise<DeliveryLogData> {
  return client.alerts.deliveries.query(input, opts)
}

/** Firing episodes of a service's alerts overlapping `[fromMs, toMs]`, for chart annotations. */
export function getAlertEpisodes(input: ApiInputs['alerts']['episodes'], opts: CallOptions = {}): Promise<ApiOutputs['alerts']['episodes']> {
  return client.alerts.episodes.query(input, opts)
}

/** BullMQ queues of a service over a window (`queues.list`): latest counts, rates, per-bucket points. */
export type QueuesResult = ApiOutputs['queues']['list']
/** One queue of `QueuesResult`. */
export type QueueSummaryData = QueuesResult['queues'][number]

/** The watched BullMQ queues of a service over `windowMs`. */
export function listQueues(input: ApiInputs['queues']['list'], opts: CallOptions = {}): Promise<QueuesResult> {
  return client.queues.list.query(input, opts)
}

/** Input of `issueQueueCommand`: service, queue, action, `olderThanS` (clean), reason. */
export type QueueCommandInput = ApiInputs['queues']['command']
/** Where a queue command stands (`queues.commandStatus`). */
export type QueueCommandStatusData = ApiOutputs['queues']['commandStatus']

/** Sends "retry failed" or "clean …" to a watched queue (operator; audited); an instance runs it within ~5 s. */
export function issueQueueCommand(input: QueueCommandInput): Promise<{ commandId: string }> {
  return client.queues.command.mutate(input)
}

/** Where a queue command stands: pending, running, done (jobs affected) or failed. */
export function getQueueCommandStatus(input: ApiInputs['queues']['commandStatus'], opts: CallOptions = {}): Promise<QueueCommandStatusData> {
  return client.queues.commandStatus.query(input, opts)
}
