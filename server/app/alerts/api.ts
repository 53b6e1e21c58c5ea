/**
 * The alerting API (`alerts.*` in the tRPC router, issue #14): viewers read rules, alerts, silences, history and
 * the delivery log; operators create, edit, enable/disable and delete rules, create and expire silences, and
 * acknowledge alerts — each with a reason, each audited (store.ts). Refusals map to 404 (gone), 409 (changed by
 * someone else meanwhile: reload) and 400 (too many); a corrupt stored value is skipped and counted, never a 500.
 */
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { Name } from '../../../shared/schemas'
import { activeSilenceFor, ALERT_RULE_TEMPLATES, AlertRuleId, AlertRuleInput, MAX_SILENCE_MS, SilenceInput, type AlertInstance, type AlertRule, type Silence } from '../../../shared/alerts'
import { readKey } from '../reads/redisInput'
import { readStreamPage } from '../reads/streams'
import { deliveryEntry, historyEntry } from './alertStreams'
import { operatorProcedure, router, viewerProcedure, type Context } from '../trpc'
import type { Receiver } from './notify'
import {
  acknowledgeAlert,
  AlertChangeError,
  createRule,
  createSilence,
  deleteRule,
  expireSilence,
  readAlertStates,
  readRules,
  readSilences,
  updateRule,
  type AlertAck,
  type ChangeContext,
} from './store'

const Reason = z.string().trim().min(1, { error: 'a reason is required' }).max(500)
const Cursor = z.string().regex(/^\d{1,15}-\d{1,10}$/, { error: 'cursor must be a stream id like 1700000000000-0' })
/** Epoch ms (2000-01-01 … 2100-01-01): a time bound Redis can take as a stream id. */
const EpochMs = z.number().int().min(946_684_800_000).max(4_102_444_800_000)
const Paging = z.object({ cursor: Cursor.nullish(), limit: z.number().int().min(1).max(500).default(100) })

/** An alert as the dashboard shows it: its state plus rule, silence and acknowledgement. */
export interface AlertView extends AlertInstance {
  ruleName: string
  severity: string
  summary: string
  runbookUrl: string | null
  silencedBy: { id: string; reason: string; createdBy: string; endsAtMs: number } | null
  ack: AlertAck | null
}

/** Every stored alert with its rule, silence and acknowledgement, firing first, then by start. */
export function alertViews(alerts: Map<string, AlertInstance>, acks: Map<string, AlertAck>, rules: AlertRule[], silences: Silence[], nowMs: number): AlertView[] {
  const byId = new Map(rules.map((r) => [r.id, r]))
  const views: AlertView[] = []
  for (const [field, a] of alerts) {
    const rule = byId.get(a.ruleId)
    const silence = activeSilenceFor(silences, a.labels, nowMs)
    const ack = acks.get(field)
    views.push({
      ...a,
      ruleName: rule?.name ?? a.labels.alertname ?? a.ruleId,
      severity: rule?.severity ?? a.labels.severity ?? 'warning',
      summary: rule?.summary.replaceAll('{{value}}', a.value === null ? '' : String(Number(a.value.toPrecision(3)))) ?? '',
      runbookUrl: rule?.runbookUrl ?? null,
      silencedBy: silence ? { id: silence.id, reason: silence.reason, createdBy: silence.createdBy, endsAtMs: silence.endsAtMs } : null,
      ack: ack && ack.activeSinceMs === a.activeSinceMs ? ack : null,
    })
  }
  return views.sort((x, y) => (x.state === y.state ? x.activeSinceMs - y.activeSinceMs : x.state === 'firing' ? -1 : 1))
}

/** One firing episode of an alert, for chart annotations: epoch ms; `toMs` null while it still fires. */
export interface AlertEpisode {
  ruleId: string
  alertname: string
  severity: string
  fromMs: number
  toMs: number | null
}


/** The change context of a request: the session's actor, the request's clock, the app's audit bounds. */
function changeContext(ctx: Context & { session: NonNullable<Context['session']> }): ChangeContext {
  return { actor: ctx.session.actor, atMs: ctx.now(), retention: ctx.auditRetention }
}

/** Runs a change, mapping AlertChangeError to 404 / 409 / 400. */
async function change<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof AlertChangeError) {
      throw new TRPCError({ code: e.code === 'NOT_FOUND' ? 'NOT_FOUND' : e.code === 'CONFLICT' ? 'CONFLICT' : 'BAD_REQUEST', message: e.message })
    }
    throw e
  }
}

/** A receiver as the dashboard may show it: kind, id and host only (a webhook URL can hold a secret). */
function receiverView(r: Receiver): { id: string; kind: string; host: string } {
  return { id: r.id, kind: r.kind, host: new URL(r.url).host }
}

export const alertsRouter = router({
  /** Alerts pending or firing now, with rule, silence and acknowledgement; `firing` counts for the alert bar. */
  active: viewerProcedure.query(async ({ ctx }) => {
    const nowMs = ctx.now()
    const [{ alerts, acks }, rules, silences] = await Promise.all([readAlertStates(ctx.redis, ctx.keys), readRules(ctx.redis, ctx.keys), readSilences(ctx.redis, ctx.keys)])
    const views = alertViews(alerts, acks, rules.map((r) => r.rule), silences.map((s) => s.silence), nowMs)
    return { asOfMs: nowMs, alerts: views }
  }),

  /** Where notifications go (kind and host only), the evaluation interval, and whether this server evaluates now. */
  status: viewerProcedure.query(async ({ ctx }) => {
    const lease = await ctx.redis.get(ctx.keys.alerts('lease')).catch(() => null)
    const info = ctx.alerting
    return {
      receivers: (info?.receivers ?? []).map(receiverView),
      intervalMs: info?.intervalMs ?? null,
      evaluatedBy: typeof lease === 'string' ? lease.replace(/\|\d+$/, '') : null,
      thisServerEvaluates: info?.holding?.() ?? false,
      outboxPending: await ctx.redis.hlen(ctx.keys.alerts('outbox')).catch(() => null),
    }
  }),

  rules: router({
    /** Every rule, by name. */
    list: viewerProcedure.query(async ({ ctx }) => (await readRules(ctx.redis, ctx.keys)).map((r) => r.rule)),
    /** The shipped templates an operator starts a rule from (none is active until saved). */
    templates: viewerProcedure.query(() => ALERT_RULE_TEMPLATES),
    create: operatorProcedure
      .input(z.object({ rule: AlertRuleInput, reason: Reason }))
      .mutation(({ ctx, input }) => change(() => createRule(ctx.redis, ctx.keys, input.rule, input.reason, changeContext(ctx)))),
    /** Saves a new definition of rule `id` read at `version`: 409 when someone saved another version meanwhile. */
    update: operatorProcedure
      .input(z.object({ id: AlertRuleId, version: z.number().int().min(1), rule: AlertRuleInput, reason: Reason }))
      .mutation(({ ctx, input }) => change(() => updateRule(ctx.redis, ctx.keys, input.id, input.version, input.rule, input.reason, changeContext(ctx)))),
    delete: operatorProcedure
      .input(z.object({ id: AlertRuleId, reason: Reason }))
      .mutation(async ({ ctx, input }) => {
        await change(() => deleteRule(ctx.redis, ctx.keys, input.id, input.reason, changeContext(ctx)))
        return { ok: true as const }
      }),
  }),

  silences: router({
    /** Every stored silence (active, pending and ended within 7 days), latest end first. */
    list: viewerProcedure.query(async ({ ctx }) => {
      const nowMs = ctx.now()
      return (await readSilences(ctx.redis, ctx.keys)).map(({ silence }) => ({
        ...silence,
        active: silence.startsAtMs <= nowMs && nowMs < silence.endsAtMs,
        state: silence.endsAtMs <= nowMs ? ('ended' as const) : silence.startsAtMs > nowMs ? ('pending' as const) : ('active' as const),
      }))
    }),
    /** Silences the alerts matching every matcher until `endsAtMs` (≤ 30 days ahead), with a reason. */
    create: operatorProcedure.input(SilenceInput).mutation(({ ctx, input }) => {
      const nowMs = ctx.now()
      const startsAtMs = input.startsAtMs ?? nowMs
      if (input.endsAtMs <= Math.max(nowMs, startsAtMs)) throw new TRPCError({ code: 'BAD_REQUEST', message: 'a silence must end in the future, after it starts' })
      if (input.endsAtMs - startsAtMs > MAX_SILENCE_MS) throw new TRPCError({ code: 'BAD_REQUEST', message: 'a silence lasts at most 30 days' })
      return change(() => createSilence(ctx.redis, ctx.keys, { ...input, startsAtMs }, changeContext(ctx)))
    }),
    /** Ends a silence now. */
    expire: operatorProcedure
      .input(z.object({ id: z.string().regex(/^s_[0-9a-f]{16}$/), reason: Reason }))
      .mutation(({ ctx, input }) => change(() => expireSilence(ctx.redis, ctx.keys, input.id, input.reason, changeContext(ctx)))),
  }),

  /** Acknowledges the current episode of one alert: the dashboard shows who is on it (404 when it is not active). */
  acknowledge: operatorProcedure
    .input(z.object({ ruleId: AlertRuleId, key: z.string().min(1).max(2000), reason: Reason }))
    .mutation(({ ctx, input }) => change(() => acknowledgeAlert(ctx.redis, ctx.keys, input.ruleId, input.key, input.reason, changeContext(ctx)))),

  /** State changes (pending, firing, resolved, cleared), newest first, cursor-paged; kept 90 days. */
  history: viewerProcedure
    .input(Paging.extend({ ruleId: AlertRuleId.optional(), fromMs: EpochMs.optional(), toMs: EpochMs.optional() }).default({ limit: 100 }))
    .query(({ ctx, input }) =>
      readStreamPage(ctx.redis, ctx.keys.alerts('history'), input, (e) => {
        const h = historyEntry(e)
        return h && (input.ruleId === undefined || h.ruleId === input.ruleId) ? h : null
      }),
    ),

  /**
   * Firing episodes of one service's alerts that overlap `[fromMs, toMs]` (for chart annotations): each with the rule,
   * severity, when it turned firing and when it resolved (null: still firing). At most 200, oldest first; history read
   * from 24 h before `fromMs` so an episode that began earlier still has its start.
   */
  episodes: viewerProcedure
    .input(
      z
        .object({ service: Name, fromMs: EpochMs, toMs: EpochMs })
        .refine((q) => q.toMs >= q.fromMs && q.toMs - q.fromMs <= 31 * 86_400_000, { error: 'toMs must be ≥ fromMs, at most 31 days later' }),
    )
    .query(async ({ ctx, input }) => {
      const key = ctx.keys.alerts('history')
      const start = Math.max(0, input.fromMs - 86_400_000)
      const raw = await readKey(key, () => ctx.redis.xrange(key, String(start), String(input.toMs), 'COUNT', 20_000), [] as [string, string[]][])
      const open = new Map<string, AlertEpisode>()
      const done: AlertEpisode[] = []
      for (const [id, flat] of raw) {
        const fields: Record<string, string> = {}
        for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
        const h = historyEntry({ id, fields })
        if (!h || h.labels.service !== input.service) continue
        const episode = `${h.ruleId}\t${JSON.stringify(h.labels)}\t${h.activeSinceMs}`
        if (h.transition === 'firing') open.set(episode, { ruleId: h.ruleId, alertname: h.alertname, severity: h.severity, fromMs: h.atMs, toMs: null })
        else if (h.transition === 'resolved') {
          const e = open.get(episode)
          if (e) {
            open.delete(episode)
            done.push({ ...e, toMs: h.atMs })
          }
        }
      }
      return [...done, ...open.values()]
        .filter((e) => (e.toMs ?? Number.POSITIVE_INFINITY) >= input.fromMs && e.fromMs <= input.toMs)
        .sort((a, b) => a.fromMs - b.fromMs)
        .slice(-200)
    }),

  /** Every delivery attempt and its outcome, newest first, cursor-paged; kept 90 days. */
  deliveries: viewerProcedure
    .input(Paging.default({ limit: 100 }))
    .query(({ ctx, input }) => readStreamPage(ctx.redis, ctx.keys.alerts('deliveries'), input, deliveryEntry)),
})
