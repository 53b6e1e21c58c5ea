/**
 * Alerting vocabulary shared by the server and the dashboard (issue #14, docs/decisions/035): rules and their
 * conditions, alert instances and their states, silences, and the pure state machine an evaluation runs.
 * No I/O and no clock: callers pass `nowMs` (epoch ms).
 *
 * Semantics follow Prometheus alerting rules (https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/):
 * a rule yields one alert per label set its condition is true for; an alert is `pending` until it has been true for
 * the rule's `for` duration, then `firing`; when the condition stops holding a firing alert is `resolved` (a pending
 * one just ends). Silences follow Alertmanager's (https://prometheus.io/docs/alerting/latest/alertmanager/#silences):
 * label matchers with a start, an end and a comment; here only `=` and `!=` (no regular expressions — a rule's
 * author is not trusted with an unbounded regex engine on the evaluator).
 */
import { z } from 'zod'
import { Name } from './schemas'
import { HTTP_METHODS } from './vocabulary'

/** Alert severities, least to most urgent (Grafana / Alertmanager convention: a `severity` label). */
export const ALERT_SEVERITIES = ['warning', 'critical'] as const
export const AlertSeverity = z.enum(ALERT_SEVERITIES)
export type AlertSeverity = z.infer<typeof AlertSeverity>

/** Text without control characters, trimmed, `min`…`max` characters. */
const PlainText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, { error: 'control characters are not allowed' })

/**
 * Labels Fusebox sets on every alert from the rule and its condition (a rule cannot override them): OpenTelemetry
 * attribute names where one exists (`service.name` → `service`, as Prometheus exports it; `http.route`,
 * `http.request.method` → `route`, `method`).
 */
export const RESERVED_LABELS: ReadonlySet<string> = new Set(['alertname', 'severity', 'rule_id', 'service', 'breaker', 'instance', 'route', 'method', 'cache', 'queue'])

/** A label name as Prometheus allows it (`[a-zA-Z_][a-zA-Z0-9_]*`), ≤ 64 characters, not reserved (`__` prefix). */
export const LabelName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, { error: 'label names are [a-zA-Z_][a-zA-Z0-9_]*, ≤ 64 characters' })
  .refine((n) => !n.startsWith('__'), { error: 'label names starting with __ are reserved' })
/** A label value: ≤ 256 characters, no control characters (may be empty, as in Prometheus). */
export const LabelValue = z
  .string()
  .max(256)
  .regex(/^[^\p{Cc}]*$/u, { error: 'control characters are not allowed' })
/** Most labels one rule may add. */
export const MAX_RULE_LABELS = 16
/** A rule's own labels (added to every alert it yields). */
export const RuleLabels = z
  .record(LabelName, LabelValue)
  .refine((l) => Object.keys(l).length <= MAX_RULE_LABELS, { error: `at most ${MAX_RULE_LABELS} labels` })
  .refine((l) => !Object.keys(l).some((k) => RESERVED_LABELS.has(k)), { error: 'alertname, severity and the condition labels are set by Fusebox' })

/** A route of a service: HTTP method and route template (as the SDK records it). */
export const RouteRef = z.object({ method: z.enum(HTTP_METHODS), route: PlainText(1, 256) })
export type RouteRef = z.infer<typeof RouteRef>

/** A condition's look-back window, seconds: 10 s … 24 h. */
export const WindowS = z.number().int().min(10).max(86_400)
/** Percentiles a latency condition may watch (the ones every request figure carries). */
export const ALERT_PERCENTILES = ['p50', 'p95', 'p99', 'p99.9'] as const

/** `service` absent: the condition is evaluated for every service (one alert per service that meets it). */
const ServiceScope = { service: Name.optional() }

/**
 * What a rule watches. Each kind yields one alert per label set:
 * - `breaker_not_closed`: per (service, breaker) whose most severe live state is not CLOSED (OPEN, HALF_OPEN,
 *   FORCED_OPEN; FORCED_CLOSED counts as closed); `breaker` absent = any breaker. The alert's start is the earliest
 *   `lastTransitionAtMs` among the instances not CLOSED, so `for` counts from the breaker's own trip, not from the
 *   evaluation that first saw it.
 * - `error_rate`: per service (or one route) whose `errors ÷ requests` over the last `windowS` is above
 *   `abovePercent` and which served at least `minRequests` requests in it.
 * - `latency`: per service (or route) whose percentile over the last `windowS` is above `aboveMs`.
 * - `throughput`: per service (or route) whose requests per second over the last `windowS` are below `belowRps` or
 *   above `aboveRps` (a window with no data at all is not "below": that is what `instance_down` is for).
 * - `instance_down`: per instance that missed 3 heartbeats (reads/instances.ts) and is still listed (≤ 1 h).
 * - `cache_hit_ratio`: per (service, cache) whose `hits ÷ (hits + misses)` over `windowS` is below `belowPercent`
 *   with at least `minLookups` lookups.
 * - `queue_waiting`: per (service, queue) whose latest sample counts more than `above` waiting jobs;
 * - `queue_oldest_waiting`: per (service, queue) whose oldest waiting job is older than `aboveS`;
 * - `queue_failed_rate`: per (service, queue) whose jobs failed faster than `perMinuteAbove` per minute over `windowS`
 *   (counted by the instances' workers).
 * A queue's depth is read from its newest sample in the last 2 minutes (an older one is stale: no alert).
 * Figures are the ones the dashboard shows (shared/figures.ts, docs/METRICS.md), read the same way.
 */
export const AlertCondition = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('breaker_not_closed'), ...ServiceScope, breaker: Name.optional() }),
  z.object({
    kind: z.literal('error_rate'),
    ...ServiceScope,
    route: RouteRef.optional(),
    windowS: WindowS,
    abovePercent: z.number().min(0).max(100),
    minRequests: z.number().int().min(1).max(1_000_000_000).default(1),
  }),
  z.object({
    kind: z.literal('latency'),
    ...ServiceScope,
    route: RouteRef.optional(),
    windowS: WindowS,
    percentile: z.enum(ALERT_PERCENTILES),
    aboveMs: z.number().min(0).max(3_600_000),
  }),
  z
    .object({
      kind: z.literal('throughput'),
      ...ServiceScope,
      route: RouteRef.optional(),
      windowS: WindowS,
      belowRps: z.number().min(0).max(1e9).optional(),
      aboveRps: z.number().min(0).max(1e9).optional(),
    })
    .refine((c) => c.belowRps !== undefined || c.aboveRps !== undefined, { error: 'give belowRps, aboveRps or both' }),
  z.object({ kind: z.literal('instance_down'), ...ServiceScope }),
  z.object({ kind: z.literal('queue_waiting'), ...ServiceScope, queue: Name.optional(), above: z.number().int().min(0).max(1_000_000_000) }),
  z.object({ kind: z.literal('queue_oldest_waiting'), ...ServiceScope, queue: Name.optional(), aboveS: z.number().min(0).max(30 * 86_400) }),
  z.object({
    kind: z.literal('queue_failed_rate'),
    ...ServiceScope,
    queue: Name.optional(),
    windowS: WindowS,
    perMinuteAbove: z.number().min(0).max(1_000_000_000),
  }),
  z.object({
    kind: z.literal('cache_hit_ratio'),
    ...ServiceScope,
    cache: Name.optional(),
    windowS: WindowS,
    belowPercent: z.number().min(0).max(100),
    minLookups: z.number().int().min(1).max(1_000_000_000).default(1),
  }),
])
export type AlertCondition = z.infer<typeof AlertCondition>
/** One of the condition kinds. */
export type AlertConditionKind = AlertCondition['kind']

/** Longest `for` duration, s (24 h). */
export const MAX_FOR_S = 86_400

/** What an operator writes: a rule without its bookkeeping. `forS` 0 fires on the first evaluation that meets it. */
export const AlertRuleInput = z.object({
  name: PlainText(1, 120),
  enabled: z.boolean().default(true),
  severity: AlertSeverity,
  forS: z.number().int().min(0).max(MAX_FOR_S),
  condition: AlertCondition,
  labels: RuleLabels.default({}),
  /** One line for the notification and the alert bar; `{{value}}` is replaced by the observed value. */
  summary: PlainText(0, 500).default(''),
  /** A runbook to follow (http or https). */
  runbookUrl: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .max(2000)
    .optional(),
})
export type AlertRuleInput = z.infer<typeof AlertRuleInput>

/** An alert rule id: `r_` + 16 hex digits (random, made by the server). */
export const AlertRuleId = z.string().regex(/^r_[0-9a-f]{16}$/, { error: 'a rule id like r_0123456789abcdef' })

/** A stored rule (hash `alertRules`), as validated when read back from Redis. */
export const AlertRule = AlertRuleInput.extend({
  id: AlertRuleId,
  /** Bumped by every edit; an edit names the version it read (optimistic concurrency, 409 when stale). */
  version: z.number().int().min(1),
  createdAtMs: z.number().int(),
  createdBy: z.string().max(200),
  updatedAtMs: z.number().int(),
  updatedBy: z.string().max(200),
})
export type AlertRule = z.infer<typeof AlertRule>

/** States of one alert (an alert instance: a rule and one label set). `inactive` alerts are not stored. */
export const ALERT_STATES = ['pending', 'firing'] as const
export const AlertState = z.enum(ALERT_STATES)
export type AlertState = z.infer<typeof AlertState>

/** One alert: a rule's condition held for this label set (hash `alertStates`, field `alertField()`). */
export const AlertInstance = z.object({
  ruleId: AlertRuleId,
  /** The condition's own labels, canonical (`seriesKeyOf`): identifies the alert within its rule. */
  key: z.string().max(2000),
  /** Every label: the rule's, the condition's, `alertname`, `severity`, `rule_id`. */
  labels: z.record(z.string(), z.string()),
  state: AlertState,
  /** When the condition started to hold (epoch ms). */
  activeSinceMs: z.number().int(),
  /** When it turned firing (epoch ms), null while pending. */
  firingSinceMs: z.number().int().nullable(),
  /** The last observed value (percent, ms, req/s, count; null for breaker and instance states). */
  value: z.number().nullable(),
  /** The evaluation that last saw it (epoch ms). */
  lastEvalMs: z.number().int(),
  /**
   * True once its firing notification was queued: an alert that starts firing under a silence is notified when the
   * silence ends (Alertmanager's behaviour), and only a notified alert sends "resolved".
   */
  notified: z.boolean(),
})
export type AlertInstance = z.infer<typeof AlertInstance>

/** A silence matcher: label `name` equals (`=`) or differs from (`!=`) `value`. */
export const SilenceMatcher = z.object({ name: LabelName, op: z.enum(['=', '!=']).default('='), value: LabelValue })
export type SilenceMatcher = z.infer<typeof SilenceMatcher>
/** Longest silence: 30 days (ms). */
export const MAX_SILENCE_MS = 30 * 86_400_000

/** What an operator gives to create a silence: ≥ 1 matcher (at least one `=` with a non-empty value), an end, a reason. */
export const SilenceInput = z
  .object({
    matchers: z.array(SilenceMatcher).min(1).max(16),
    /** Epoch ms; default now. */
    startsAtMs: z.number().int().optional(),
    endsAtMs: z.number().int(),
    reason: PlainText(1, 500),
  })
  .refine((s) => s.matchers.some((m) => m.op === '=' && m.value !== ''), {
    error: 'at least one matcher must be label = non-empty value (a silence must not match everything)',
  })
export type SilenceInput = z.infer<typeof SilenceInput>

/** A stored silence (hash `alertSilences`). */
export const Silence = z.object({
  id: z.string().regex(/^s_[0-9a-f]{16}$/),
  matchers: z.array(SilenceMatcher).min(1).max(16),
  startsAtMs: z.number().int(),
  endsAtMs: z.number().int(),
  reason: z.string().max(500),
  createdBy: z.string().max(200),
  createdAtMs: z.number().int(),
  /** Set when an operator ends it early. */
  expiredBy: z.string().max(200).nullable().default(null),
})
export type Silence = z.infer<typeof Silence>

/** True when every matcher of `matchers` holds for `labels` (an absent label reads as ''). */
export function matchesAll(matchers: readonly SilenceMatcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => ((labels[m.name] ?? '') === m.value) === (m.op === '='))
}

/** The silence of `silences` active at `nowMs` that matches `labels` (the one ending last), else null. */
export function activeSilenceFor(silences: readonly Silence[], labels: Readonly<Record<string, string>>, nowMs: number): Silence | null {
  let best: Silence | null = null
  for (const s of silences) {
    if (s.startsAtMs > nowMs || s.endsAtMs <= nowMs || !matchesAll(s.matchers, labels)) continue
    if (!best || s.endsAtMs > best.endsAtMs) best = s
  }
  return best
}

/** The canonical key of a label set: `name=value` pairs sorted by name, joined by `,` (values JSON-quoted). */
export function seriesKeyOf(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')
}

/** What one evaluation saw for one label set of a rule's condition. */
export interface Observation {
  /** The condition's labels (service, breaker, route, …). */
  labels: Record<string, string>
  /** True when the condition holds now. */
  active: boolean
  /** The figure compared (null where there is none, e.g. a breaker state). */
  value: number | null
  /** When the condition began to hold, if the data says (e.g. a breaker's trip time); default: this evaluation. */
  activeSinceMs?: number
}

/** A change of an alert's state, as the history records it and notifications carry it. */
export type AlertTransition = 'pending' | 'firing' | 'resolved' | 'cleared'

/**
 * One step of an alert's state machine (Prometheus semantics):
 * - inactive + holds → `pending` (or straight to `firing` once `forS` has passed since `activeSinceMs`);
 * - pending + holds for ≥ `forS` → `firing`; pending + no longer holds → gone (`cleared`, no notification);
 * - firing + no longer holds → gone (`resolved`).
 * `next` null = inactive (remove the stored alert). `activeSinceMs` is clamped to `nowMs` (a clock ahead of ours
 * must not make an alert fire early) and kept from `prev` while the alert lives.
 */
export function stepAlert(
  prev: AlertInstance | undefined,
  obs: Observation | undefined,
  rule: Pick<AlertRule, 'id' | 'forS'>,
  labels: Record<string, string>,
  key: string,
  nowMs: number,
): { next: AlertInstance | null; transition: AlertTransition | null } {
  if (!obs?.active) {
    if (!prev) return { next: null, transition: null }
    return { next: null, transition: prev.state === 'firing' ? 'resolved' : 'cleared' }
  }
  const activeSinceMs = prev?.activeSinceMs ?? Math.min(nowMs, Math.floor(obs.activeSinceMs ?? nowMs))
  const due = nowMs - activeSinceMs >= rule.forS * 1000
  const firing = prev?.state === 'firing' || due
  const next: AlertInstance = {
    ruleId: rule.id,
    key,
    labels,
    state: firing ? 'firing' : 'pending',
    activeSinceMs,
    firingSinceMs: prev?.firingSinceMs ?? (firing ? nowMs : null),
    value: obs.value,
    lastEvalMs: nowMs,
    notified: prev?.notified ?? false,
  }
  const transition: AlertTransition | null = !prev ? next.state : prev.state === 'pending' && firing ? 'firing' : null
  return { next, transition }
}

/** `{{value}}` in a rule's summary replaced by the observed value (rounded to 3 significant digits). */
export function renderSummary(summary: string, value: number | null): string {
  const shown = value === null ? '' : Number(value.toPrecision(3)).toString()
  return summary.replaceAll('{{value}}', shown)
}

/**
 * Rules shipped as editable templates (the dashboard's "new rule from template"; none is active until an operator
 * saves one). Thresholds are the ones the monitoring Fusebox replaces used (issue #14): cache hit rate < 75 %
 * warning, < 65 % critical; API response time > 50 ms warning.
 */
export const ALERT_RULE_TEMPLATES: readonly { id: string; title: string; rule: AlertRuleInput }[] = [
  {
    id: 'breaker-open',
    title: 'A circuit breaker is not CLOSED for 1 min',
    rule: {
      name: 'Breaker not CLOSED',
      enabled: true,
      severity: 'critical',
      forS: 60,
      condition: { kind: 'breaker_not_closed' },
      labels: {},
      summary: 'A circuit breaker has not been CLOSED for a minute',
    },
  },
  {
    id: 'error-rate',
    title: 'Error rate above 5 % over 5 min',
    rule: {
      name: 'High error rate',
      enabled: true,
      severity: 'warning',
      forS: 60,
      condition: { kind: 'error_rate', windowS: 300, abovePercent: 5, minRequests: 20 },
      labels: {},
      summary: 'Error rate {{value}} % over 5 min',
    },
  },
  {
    id: 'latency-p95',
    title: 'p95 response time above 50 ms over 5 min',
    rule: {
      name: 'Slow responses (p95)',
      enabled: true,
      severity: 'warning',
      forS: 60,
      condition: { kind: 'latency', windowS: 300, percentile: 'p95', aboveMs: 50 },
      labels: {},
      summary: 'p95 {{value}} ms over 5 min',
    },
  },
  {
    id: 'throughput-low',
    title: 'Throughput below 0.1 req/s over 5 min',
    rule: {
      name: 'Traffic dropped',
      enabled: true,
      severity: 'warning',
      forS: 120,
      condition: { kind: 'throughput', windowS: 300, belowRps: 0.1 },
      labels: {},
      summary: 'Throughput {{value}} req/s over 5 min',
    },
  },
  {
    id: 'instance-down',
    title: 'An instance stopped sending heartbeats',
    rule: { name: 'Instance down', enabled: true, severity: 'critical', forS: 30, condition: { kind: 'instance_down' }, labels: {}, summary: 'Instance missed its heartbeats' },
  },
  {
    id: 'queue-backlog',
    title: 'More than 1,000 jobs waiting in a queue',
    rule: { name: 'Queue backlog', enabled: true, severity: 'warning', forS: 120, condition: { kind: 'queue_waiting', above: 1000 }, labels: {}, summary: '{{value}} jobs waiting' },
  },
  {
    id: 'queue-stuck',
    title: 'The oldest waiting job is older than 10 min',
    rule: { name: 'Queue stuck', enabled: true, severity: 'critical', forS: 60, condition: { kind: 'queue_oldest_waiting', aboveS: 600 }, labels: {}, summary: 'oldest waiting job {{value}} s old' },
  },
  {
    id: 'queue-failures',
    title: 'More than 10 failed jobs per minute over 5 min',
    rule: {
      name: 'Jobs failing',
      enabled: true,
      severity: 'warning',
      forS: 0,
      condition: { kind: 'queue_failed_rate', windowS: 300, perMinuteAbove: 10 },
      labels: {},
      summary: '{{value}} failed jobs per minute',
    },
  },
  {
    id: 'cache-hit-warning',
    title: 'Cache hit ratio below 75 % over 10 min (warning)',
    rule: {
      name: 'Cache hit ratio low',
      enabled: true,
      severity: 'warning',
      forS: 60,
      condition: { kind: 'cache_hit_ratio', windowS: 600, belowPercent: 75, minLookups: 20 },
      labels: {},
      summary: 'Cache hit ratio {{value}} %',
    },
  },
  {
    id: 'cache-hit-critical',
    title: 'Cache hit ratio below 65 % over 10 min (critical)',
    rule: {
      name: 'Cache hit ratio very low',
      enabled: true,
      severity: 'critical',
      forS: 60,
      condition: { kind: 'cache_hit_ratio', windowS: 600, belowPercent: 65, minLookups: 20 },
      labels: {},
      summary: 'Cache hit ratio {{value}} %',
    },
  },
]
