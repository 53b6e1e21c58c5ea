/**
 * `npm run login-link`: prints a new one-time login link for servers that run without configured tokens (the
 * `npm start` default). The link's token is stored in Redis as a hash (server/app/auth.ts `issueLoginLink`) and is
 * consumed by whichever server process sees it first, so this works with any number of server processes.
 *
 * Redis: REDIS_CLUSTER_NODES (seeds of a Redis Cluster, redisTopology.ts `parseClusterSeeds`), else REDIS_URL, else the embedded Redis `npm start` recorded in `.fusebox/run.json`. Key prefix: FUSEBOX_PREFIX
 * (default `fusebox`). Link base: FUSEBOX_PUBLIC_URL, else the dashboard URL in `.fusebox/run.json`, else
 * http://127.0.0.1:3000. Exit codes: 0 printed, 1 Redis unreachable, 2 nothing to connect to / bad configuration.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { DEFAULT_PREFIX } from '../../shared/keys'
import { PREFIX_PATTERN } from '../../shared/vocabulary'
import { parseClusterSeeds, type ClusterSeeds } from '../sdk/redisTopology'
import { printLoginLink } from './loginLink'

/** What `npm start` records about the running stack (server/bootstrap/start.mjs). */
const RunFile = z.object({ redisUrl: z.string().optional(), dashboardUrl: z.string().optional() })

/** Path of the run file `npm start` writes. */
export const RUN_FILE = join(fileURLToPath(new URL('../..', import.meta.url)), '.fusebox', 'run.json')

function readRunFile(): z.infer<typeof RunFile> {
  try {
    const parsed = RunFile.safeParse(JSON.parse(readFileSync(RUN_FILE, 'utf8')))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
  }
}

async function main(): Promise<number> {
  const run = readRunFile()
  let target: string | { cluster: ClusterSeeds } | undefined
  if (process.env.REDIS_CLUSTER_NODES) {
    if (process.env.REDIS_URL) {
      console.error('Set only one of REDIS_URL and REDIS_CLUSTER_NODES.')
      return 2
    }
    try {
      target = { cluster: parseClusterSeeds(process.env.REDIS_CLUSTER_NODES) }
    } catch (e) {
      console.error(`REDIS_CLUSTER_NODES: ${(e as Error).message}`)
      return 2
    }
  } else {
    target = process.env.REDIS_URL || run.redisUrl
  }
  if (!target) {
    console.error('No Redis to use: set REDIS_URL or REDIS_CLUSTER_NODES (or start Fusebox with `npm start`, which records its embedded Redis).')
    return 2
  }
  const prefix = process.env.FUSEBOX_PREFIX || DEFAULT_PREFIX
  if (!PREFIX_PATTERN.test(prefix)) {
    console.error(`FUSEBOX_PREFIX must match ${String(PREFIX_PATTERN)}`)
    return 2
  }
  if (process.env.FUSEBOX_OPERATOR_TOKENS || process.env.FUSEBOX_VIEWER_TOKENS || process.env.FUSEBOX_TOKENS_FILE) {
    console.error('note: tokens are configured in this environment; servers with configured tokens do not accept login links.')
  }
  return printLoginLink(target, prefix, process.env.FUSEBOX_PUBLIC_URL || run.dashboardUrl || 'http://127.0.0.1:3000/')
}

void main().then((code) => process.exit(code))
