/**
 * Server configuration, parsed once from the environment with zod (fails fast with a readable list).
 * Every variable is documented in `.env.example`.
 */
import { z } from 'zod'
import { PREFIX_PATTERN } from '../../shared/vocabulary'

const tokenList = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0))
  .refine((list) => list.every((t) => t.length >= 16), { error: 'each token must be at least 16 characters' })

const EnvSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  FUSEBOX_PREFIX: z.string().regex(PREFIX_PATTERN).default('fusebox'),
  FUSEBOX_OPERATOR_TOKENS: tokenList,
  FUSEBOX_VIEWER_TOKENS: tokenList,
  FUSEBOX_SESSION_TTL_S: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(12 * 3600),
  FUSEBOX_STATIC_DIR: z.string().min(1).default('dist'),
  FUSEBOX_PUBLIC_URL: z.url().optional(),
  FUSEBOX_METRICS_TOKEN: z.string().min(16).optional(),
  /** Express `trust proxy`: a hop count or proxy addresses/subnets; unset = trust none (X-Forwarded-For ignored). */
  FUSEBOX_TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' || v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v))
    .refine((v) => v !== 'true', { error: 'list the proxy addresses or a hop count; "true" would trust anyone' }),
})

/** Parsed server configuration. */
export type Env = z.infer<typeof EnvSchema>

/**
 * Parses `source` (default `process.env`).
 * @throws Error listing every invalid variable, one per line.
 */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = EnvSchema.safeParse(source)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`)
  }
  return result.data
}
