/**
 * A valid input for every procedure of the API, for the router-wide security tests (authMatrix.test.ts,
 * fuzz.test.ts). Every procedure path of `appRouter` needs an entry here: the authorization matrix fails, naming
 * the path, when one is missing — so a new procedure cannot slip past the matrix and the fuzzer.
 *
 * `setup` writes the Redis data the procedure needs to succeed for an operator (e.g. a known breaker).
 */
import type { RedisClient } from '../../sdk/redisTopology'
import type { KeySpace } from '../../../shared/keys'
import type { AlertInstance, AlertRuleInput } from '../../../shared/alerts'
import { alertField, createRule, createSilence } from '../alerts/store'
import { issueBreakerCommand } from '../breakerCommands'
import { issueQueueCommand } from '../queueCommands'
import { appRouter } from '../router'
import { OPERATOR_TOKEN, type ProcedureType } from './testServer'

/** What a sample's `setup` may use: the test server's Redis and key space. */
export interface SampleContext {
  redis: RedisClient
  keys: KeySpace
}

/**
 * A valid input for one procedure and the data it needs. `input: undefined` sends no input. When `setup` resolves
 * to a value, that value is the input (for inputs that name data created at setup, e.g. a command id).
 */
export interface ProcedureSample {
  input: unknown
  setup?: (ctx: SampleContext) => Promise<unknown>
}

/** The service, breaker and cache the samples use (registered by `setup` where a procedure needs them). */
export const SAMPLE_SERVICE = 'storefront'
export const SAMPLE_BREAKER = 'payments'
export const SAMPLE_CACHE = 'products'

const knownBreaker = async ({ redis, keys }: SampleContext): Promise<void> => {
  await redis.sadd(keys.services(), SAMPLE_SERVICE)
  await redis.sadd(keys.breakers(SAMPLE_SERVICE), SAMPLE_BREAKER)
}

const service = { service: SAMPLE_SERVICE }

/** An alert rule the samples create and edit. */
const SAMPLE_RULE: AlertRuleInput = {
  name: 'storefront error rate',
  enabled: true,
  severity: 'warning',
  forS: 60,
  condition: { kind: 'error_rate', service: SAMPLE_SERVICE, windowS: 300, abovePercent: 5, minRequests: 10 },
  labels: {},
  summary: '',
}

/** Path → valid sample. Keep inputs minimal and in line with the zod schemas in router.ts. */
export const PROCEDURE_SAMPLES: Record<string, ProcedureSample> = {
  'auth.login': { input: { token: OPERATOR_TOKEN } },
  'auth.logout': { input: undefined },
  'auth.logoutEverywhere': { input: undefined },
  'auth.me': { input: undefined },
  'services.list': { input: undefined },
  'overview.get': { input: { windowMs: 60_000 } },
  'series.get': { input: { ...service, windowMs: 15 * 60_000, route: { method: 'GET', route: '/products/:id' } } },
  'endpoints.list': { input: { ...service, sortBy: 'throughputRps', descending: true, filter: 'products', offset: 0, limit: 50 } },
  'requests.list': { input: { ...service, limit: 50, status: '5xx' } },
  'requests.window': { input: { ...service, offset: 0, limit: 50 } },
  'events.list': { input: { ...service, limit: 50, breaker: SAMPLE_BREAKER, type: 'transition' } },
  'events.window': { input: { ...service, offset: 0, limit: 50 } },
  'audit.list': { input: { limit: 50, service: SAMPLE_SERVICE } },
  'breakers.list': { input: service },
  'breakers.get': { input: { ...service, breaker: SAMPLE_BREAKER, windowMs: 3_600_000 }, setup: knownBreaker },
  'breakers.command': {
    input: { ...service, breaker: SAMPLE_BREAKER, command: 'reset', reason: 'security test' },
    setup: knownBreaker,
  },
  'breakers.commandStatus': {
    input: { ...service, commandId: '00000000-0000-4000-8000-000000000000' },
    // A real command (through the code breakers.command uses), so its status exists.
    setup: async (ctx) => {
      await knownBreaker(ctx)
      const cmd = { ...service, breaker: SAMPLE_BREAKER, command: 'reset' as const, reason: 'security test', actor: 'test' }
      const { commandId } = await issueBreakerCommand(ctx.redis, ctx.keys, cmd, Date.now())
      return { ...service, commandId }
    },
  },
  'caches.list': { input: { ...service, windowMs: 15 * 60_000 } },
  'caches.invalidateTag': { input: { ...service, cache: SAMPLE_CACHE, tag: 'sku-1', reason: 'security test' } },
  'instances.list': { input: service },
  'queues.list': { input: { ...service, windowMs: 15 * 60_000 } },
  'queues.command': { input: { ...service, queue: 'emails', action: 'cleanCompleted', olderThanS: 3600, reason: 'security test' } },
  'queues.commandStatus': {
    input: { ...service, commandId: '00000000-0000-4000-8000-000000000000' },
    setup: async ({ redis, keys }) => {
      const { commandId } = await issueQueueCommand(redis, keys, { service: SAMPLE_SERVICE, queue: 'emails', action: 'retryFailed', olderThanS: 0, reason: 'setup', actor: 'test' }, Date.now())
      return { ...service, commandId }
    },
  },
  'redis.info': { input: undefined },
  'live.snapshot': { input: { windowMs: 60_000 } },
  'alerts.active': { input: undefined },
  'alerts.status': { input: undefined },
  'alerts.rules.list': { input: undefined },
  'alerts.rules.templates': { input: undefined },
  'alerts.rules.create': { input: { rule: SAMPLE_RULE, reason: 'security test' } },
  'alerts.rules.update': {
    input: { id: 'r_0000000000000000', version: 1, rule: SAMPLE_RULE, reason: 'security test' },
    setup: async ({ redis, keys }) => {
      const rule = await createRule(redis, keys, SAMPLE_RULE, 'setup', { actor: 'test', atMs: Date.now() })
      return { id: rule.id, version: rule.version, rule: { ...SAMPLE_RULE, forS: 30 }, reason: 'security test' }
    },
  },
  'alerts.rules.delete': {
    input: { id: 'r_0000000000000000', reason: 'security test' },
    setup: async ({ redis, keys }) => ({ id: (await createRule(redis, keys, SAMPLE_RULE, 'setup', { actor: 'test', atMs: Date.now() })).id, reason: 'security test' }),
  },
  'alerts.silences.list': { input: undefined },
  'alerts.silences.create': {
    input: { matchers: [{ name: 'service', op: '=', value: SAMPLE_SERVICE }], endsAtMs: 4_000_000_000_000, reason: 'security test' },
    // An end within the 30 days a silence may last, from now.
    setup: () => Promise.resolve({ matchers: [{ name: 'service', op: '=', value: SAMPLE_SERVICE }], endsAtMs: Date.now() + 3_600_000, reason: 'security test' }),
  },
  'alerts.silences.expire': {
    input: { id: 's_0000000000000000', reason: 'security test' },
    setup: async ({ redis, keys }) => {
      const silence = await createSilence(redis, keys, { matchers: [{ name: 'service', op: '=', value: SAMPLE_SERVICE }], endsAtMs: Date.now() + 3_600_000, reason: 'setup' }, { actor: 'test', atMs: Date.now() })
      return { id: silence.id, reason: 'security test' }
    },
  },
  'alerts.acknowledge': {
    input: { ruleId: 'r_0000000000000000', key: 'service="storefront"', reason: 'security test' },
    // A firing alert as the evaluator stores it (alerts/evaluator.ts), so there is something to acknowledge.
    setup: async ({ redis, keys }) => {
      const ruleId = 'r_00000000000000ac'
      const key = `service=${JSON.stringify(SAMPLE_SERVICE)}`
      const alert: AlertInstance = {
        ruleId, key, labels: { alertname: 'x', severity: 'warning', service: SAMPLE_SERVICE }, state: 'firing',
        activeSinceMs: Date.now() - 60_000, firingSinceMs: Date.now(), value: 1, lastEvalMs: Date.now(), notified: true,
      }
      await redis.hset(keys.alerts('states'), alertField(ruleId, key), JSON.stringify(alert))
      return { ruleId, key, reason: 'security test' }
    },
  },
  'alerts.history': { input: { limit: 50 } },
  'alerts.episodes': { input: { service: SAMPLE_SERVICE, fromMs: 1_700_000_000_000, toMs: 1_700_003_600_000 } },
  'alerts.deliveries': { input: { limit: 50 } },
}

/** Runs the sample's setup against `ctx` and returns the input to send. */
export async function prepareSample(path: string, ctx: SampleContext): Promise<unknown> {
  const sample = sampleFor(path)
  const fromSetup = await sample.setup?.(ctx)
  return fromSetup === undefined ? sample.input : fromSetup
}

/** Procedures that need no session, by design. Everything else must answer 401 anonymously. */
export const PUBLIC_PROCEDURES: ReadonlySet<string> = new Set(['auth.login'])

/**
 * Mutations on the caller's own session, open to any session (a viewer must be able to sign out). Every other
 * mutation is operator-only (docs/PRODUCT.md "Security").
 */
export const SESSION_MUTATIONS: ReadonlySet<string> = new Set(['auth.logout', 'auth.logoutEverywhere'])

/** One procedure of the router. `hasInput`: it declares an input parser (without one, tRPC ignores the input). */
export interface ProcedureInfo {
  path: string
  type: ProcedureType
  hasInput: boolean
}

/**
 * Every procedure of `appRouter`, from the router itself (`_def.procedures` is tRPC v11's flat record
 * `path → procedure`). Throws when the router has lazy sub-routers, whose procedures would not be listed yet.
 */
export function listProcedures(): ProcedureInfo[] {
  const def = appRouter._def as unknown as {
    procedures: Record<string, { _def: { type: ProcedureType; inputs: unknown[] } }>
    lazy: Record<string, unknown>
  }
  const lazy = Object.keys(def.lazy ?? {})
  if (lazy.length > 0) throw new Error(`lazy routers (${lazy.join(', ')}) are not enumerated by the security tests`)
  return Object.entries(def.procedures)
    .map(([path, procedure]) => ({ path, type: procedure._def.type, hasInput: procedure._def.inputs.length > 0 }))
    .sort((a, b) => a.path.localeCompare(b.path))
}

/** Procedure paths without a sample, and samples whose procedure no longer exists. */
export function sampleCoverage(): { missing: string[]; stale: string[] } {
  const paths = new Set(listProcedures().map((p) => p.path))
  return {
    missing: [...paths].filter((p) => !Object.hasOwn(PROCEDURE_SAMPLES, p)),
    stale: Object.keys(PROCEDURE_SAMPLES).filter((p) => !paths.has(p)),
  }
}

/** The sample of a path; throws the "add a sample" message when there is none. */
export function sampleFor(path: string): ProcedureSample {
  if (!Object.hasOwn(PROCEDURE_SAMPLES, path)) throw new Error(`add a sample for ${path} in server/app/testing/procedureSamples.ts`)
  return PROCEDURE_SAMPLES[path]!
}
