/** A throwaway redis-server for a benchmark: temp folder, free loopback port, stopped and deleted by `stop()`. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { parseInfo } from '../server/app/reads/instances'
import { startEmbeddedRedis } from '../server/bootstrap/redis.mjs'

/** A running benchmark Redis: its URL and port, an admin client, and `stop()` (stops it and removes its folder). */
export interface BenchRedis {
  url: string
  port: number
  admin: Redis
  stop: () => Promise<void>
}

/**
 * Starts redis-server (AOF as the embedded default has it) in a fresh temp folder named `fusebox-bench-<name>-…`;
 * `adminCommandTimeoutMs` bounds the admin client's commands (default: none, ioredis' default).
 */
export async function startBenchRedis({ name = 'redis', adminCommandTimeoutMs }: { name?: string; adminCommandTimeoutMs?: number } = {}): Promise<BenchRedis> {
  const dir = await mkdtemp(join(tmpdir(), `fusebox-bench-${name}-`))
  try {
    const redis = await startEmbeddedRedis({ dir, quiet: true })
    const admin = new Redis(redis.url, adminCommandTimeoutMs === undefined ? {} : { commandTimeout: adminCommandTimeoutMs })
    return {
      url: redis.url,
      port: redis.port,
      admin,
      stop: async () => {
        admin.disconnect()
        await redis.stop()
        await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** `INFO commandstats` as command → calls. */
export async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const [k, v] of parseInfo(await admin.info('commandstats'))) {
    const calls = /calls=(\d+)/.exec(v)
    if (k.startsWith('cmdstat_') && calls) out.set(k.slice('cmdstat_'.length), Number(calls[1]))
  }
  return out
}

/** Difference of two commandstats snapshots, without `info` itself (our own measuring). */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0)
    if (d > 0 && cmd !== 'info') out.set(cmd, d)
  }
  return out
}
