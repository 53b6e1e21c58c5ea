/**
 * Where alert notifications go and what they carry (issue #14, docs/decisions/035):
 * - a **webhook**: the JSON body of Prometheus Alertmanager's webhook receiver (version "4":
 *   https://prometheus.io/docs/alerting/latest/configuration/#webhook_config), so receivers written for
 *   Alertmanager work unchanged; or, prefixed `slack:`, a Slack-compatible `{ text }` body (incoming webhooks);
 * - **Alertmanager**: its v2 API, `POST <url>/api/v2/alerts` with `[{ labels, annotations, startsAt, endsAt,
 *   generatorURL }]` (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml). Like Prometheus,
 *   a firing alert is re-sent every minute with `endsAt` 4 min ahead, so Alertmanager keeps it while Fusebox runs
 *   and resolves it on its own if every Fusebox server stops; a resolution is sent with `endsAt` = its time.
 * Each notification is queued in the outbox in the same fenced script as the state change that caused it
 * (evaluator.ts); delivery retries with exponential backoff (node-retry's `createTimeout`: 1 s × 2^attempt,
 * randomised ×1–2, at most 30 s apart) for 24 h, and logs every attempt.
 */
import { createHash } from 'node:crypto'
import retry from 'retry'
import { z } from 'zod'
import { AlertSeverity } from '../../../shared/alerts'

/** One configured receiver: a webhook (Alertmanager-webhook JSON or Slack text) or an Alertmanager. */
export interface Receiver {
  /** Stable id from its kind and URL (`webhook:<8 hex>`): the same on every server with the same configuration. */
  id: string
  kind: 'webhook' | 'slack' | 'alertmanager'
  url: string
}

/** The receiver id of `kind` + `url`: a hash, so the URL (which may hold a secret) is not written to Redis. */
function receiverId(kind: Receiver['kind'], url: string): string {
  return `${kind}:${createHash('sha256').update(url).digest('hex').slice(0, 8)}`
}

/**
 * Parses FUSEBOX_ALERT_WEBHOOKS (comma-separated http(s) URLs, each optionally prefixed `slack:`) and
 * FUSEBOX_ALERTMANAGER_URL (its base URL) into receivers. @throws Error naming the bad entry
 */
export function parseReceivers(webhooks: string | undefined, alertmanagerUrl: string | undefined): Receiver[] {
  const out: Receiver[] = []
  const check = (raw: string, what: string): string => {
    let u: URL
    try {
      u = new URL(raw)
    } catch {
      throw new Error(`${what}: not a URL: ${raw.slice(0, 80)}`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what}: only http and https URLs, not ${u.protocol}`)
    return u.toString()
  }
  for (const entry of (webhooks ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const slack = entry.startsWith('slack:')
    const url = check(slack ? entry.slice('slack:'.length) : entry, 'FUSEBOX_ALERT_WEBHOOKS')
    const kind = slack ? 'slack' : 'webhook'
    out.push({ id: receiverId(kind, url), kind, url })
  }
  if (alertmanagerUrl) {
    const url = check(alertmanagerUrl, 'FUSEBOX_ALERTMANAGER_URL').replace(/\/+$/, '')
    out.push({ id: receiverId('alertmanager', url), kind: 'alertmanager', url })
  }
  const ids = out.map((r) => r.id)
  const dup = ids.find((id, i) => ids.indexOf(id) !== i)
  if (dup) throw new Error(`a receiver is listed twice (${dup})`)
  return out
}

/** What one notification says about one alert: Alertmanager's alert shape plus Fusebox's rule and value. */
export const AlertNotification = z.object({
  /** Unique per transition and receiver; sent as `Idempotency-Key` so a receiver can drop a re-sent one. */
  id: z.string().max(100),
  status: z.enum(['firing', 'resolved']),
  ruleId: z.string().max(40),
  severity: AlertSeverity,
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  /** Epoch ms the alert started (its condition began to hold). */
  startsAtMs: z.number().int(),
  /** Epoch ms it resolved; null while firing. */
  endsAtMs: z.number().int().nullable(),
  value: z.number().nullable(),
  /** Link back to the dashboard's Alerts page. */
  generatorURL: z.string().max(2000),
})
export type AlertNotification = z.infer<typeof AlertNotification>

/** A queued delivery of one notification to one receiver (hash `outbox`, field `id`). */
export const OutboxEntry = z.object({
  id: z.string().max(140),
  receiver: z.string().max(40),
  /** The alert (states field) it is about: deliveries of one alert to one receiver go in order. */
  alert: z.string().max(2100),
  notification: AlertNotification,
  createdAtMs: z.number().int(),
  attempts: z.number().int().min(0),
  nextAttemptMs: z.number().int(),
  lastError: z.string().max(300).nullable(),
})
export type OutboxEntry = z.infer<typeof OutboxEntry>

/** Retry schedule (node-retry `createTimeout` options): 1 s × 2^attempt, ×1–2 random, ≤ 30 s. */
export const RETRY_OPTIONS = { minTimeout: 1000, factor: 2, maxTimeout: 30_000, randomize: true } as const
/** A delivery still failing this long after it was queued is given up (logged), ms: 24 h. */
export const GIVE_UP_AFTER_MS = 24 * 3_600_000
/** One attempt's time limit, ms. */
export const DELIVERY_TIMEOUT_MS = 5000

/** When to try again after `attempts` failed attempts (epoch ms from `nowMs`). */
export function nextAttemptAt(attempts: number, nowMs: number): number {
  return nowMs + retry.createTimeout(Math.max(0, attempts - 1), RETRY_OPTIONS)
}

/** ISO 8601 of epoch ms (Alertmanager's time format). */
const iso = (ms: number) => new Date(ms).toISOString()
/** Alertmanager's "no end" (Go's zero time), as its webhook receiver sends for a firing alert. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z'

/** The alert object of an Alertmanager webhook body and of its v2 API. */
function amAlert(n: AlertNotification, endsAt: string) {
  return { labels: n.labels, annotations: n.annotations, startsAt: iso(n.startsAtMs), endsAt, generatorURL: n.generatorURL }
}

/**
 * The HTTP request one notification makes to one receiver: the webhook body (Alertmanager webhook version 4), the
 * Slack text, or the Alertmanager v2 alert list. `externalURL` is the dashboard's base URL.
 */
export function notificationRequest(receiver: Receiver, n: AlertNotification, externalURL: string, nowMs: number, resendEndsInMs = 4 * 60_000): { url: string; body: unknown } {
  const endsAt = n.endsAtMs !== null ? iso(n.endsAtMs) : null
  switch (receiver.kind) {
    case 'alertmanager':
      return { url: `${receiver.url}/api/v2/alerts`, body: [amAlert(n, endsAt ?? iso(nowMs + resendEndsInMs))] }
    case 'slack': {
      const icon = n.status === 'firing' ? (n.severity === 'critical' ? ':rotating_light:' : ':warning:') : ':white_check_mark:'
      const where = Object.entries(n.labels)
        .filter(([k]) => !['alertname', 'severity', 'rule_id'].includes(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')
      const summary = n.annotations.summary ? ` — ${n.annotations.summary}` : ''
      const runbook = n.annotations.runbook_url ? ` <${n.annotations.runbook_url}|runbook>` : ''
      return { url: receiver.url, body: { text: `${icon} [${n.status.toUpperCase()}] ${n.labels.alertname ?? n.ruleId} (${n.severity}) ${where}${summary} <${n.generatorURL}|Fusebox>${runbook}` } }
    }
    case 'webhook':
      return {
        url: receiver.url,
        body: {
          version: '4',
          groupKey: `{}:{alertname=${JSON.stringify(n.labels.alertname ?? '')}}`,
          truncatedAlerts: 0,
          status: n.status,
          receiver: receiver.id,
          groupLabels: { alertname: n.labels.alertname ?? '' },
          commonLabels: n.labels,
          commonAnnotations: n.annotations,
          externalURL,
          alerts: [{ status: n.status, ...amAlert(n, endsAt ?? GO_ZERO_TIME), fingerprint: createHash('sha256').update(JSON.stringify(n.labels)).digest('hex').slice(0, 16) }],
          fusebox: { notificationId: n.id, ruleId: n.ruleId, value: n.value },
        },
      }
  }
}

/** The outcome of one attempt: delivered (2xx), or failed with why (HTTP status or network error). */
export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string }

/** Posts `body` as JSON to `url` within DELIVERY_TIMEOUT_MS. Never throws. */
export async function postJson(url: string, body: unknown, idempotencyKey: string, userAgent: string): Promise<AttemptResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey, 'User-Agent': userAgent },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'error',
    })
    // Drain the body so the connection is reused (and a huge body is not buffered: cancel it).
    await res.body?.cancel().catch(() => undefined)
    if (res.ok) return { ok: true, status: res.status }
    return { ok: false, status: res.status, error: `HTTP ${res.status}` }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    const why = err.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : (err.cause?.code ?? err.message)
    return { ok: false, status: null, error: String(why).slice(0, 300) }
  }
}
