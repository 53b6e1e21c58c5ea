/**
 * `npm run bench`: every Fusebox benchmark in one run, each next to a reference measured in the same run, with
 * PASS/FAIL against its target. Loopback only; every redis-server and temp folder it makes is removed.
 * `npm run bench -- record flush` runs only the named topics (record, breaker, percentiles, flush, storage,
 * server, client, overviewLoad, fleet, lighthouse).
 *
 * Topics are imported lazily and run one by one: a topic that fails (e.g. while the SDK's storage is being
 * rewritten) prints its error and the others still run; the exit code is then 1.
 */
import { cpus, totalmem } from 'node:os'
import { renderTable, type Table } from './table'
import { startBenchRedis, type BenchRedis } from './redis'

type Topic = { name: string; run: (redis: () => Promise<BenchRedis>) => Promise<Table> }

const TOPICS: Topic[] = [
  { name: 'record', run: async () => (await import('./record')).benchRecord() },
  { name: 'breaker', run: async (redis) => (await import('./breaker')).benchBreaker(await redis()) },
  { name: 'percentiles', run: async () => (await import('./percentiles')).benchPercentiles() },
  { name: 'flush', run: async (redis) => (await import('./flush')).benchFlush(await redis()) },
  { name: 'storage', run: async () => (await import('./storage')).benchStorage() },
  { name: 'server', run: async () => (await import('./server')).benchServer() },
  { name: 'client', run: async () => (await import('./client')).benchClient() },
  { name: 'overviewLoad', run: async () => (await import('./overviewLoad')).benchOverviewLoad() },
  { name: 'fleet', run: async () => (await import('./fleet')).benchFleet() },
  { name: 'lighthouse', run: async () => (await import('./lighthouse')).benchLighthouse() },
]

async function main(): Promise<number> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
  const cpu = cpus()
  console.log('# Fusebox benchmarks')
  console.log('')
  console.log(`- date: ${new Date().toISOString()}`)
  console.log(`- node: ${process.version} (${process.platform} ${process.arch})`)
  console.log(`- cpu: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM`)
  console.log('')

  // One shared redis-server for the topics that need a live one (breaker, flush); storage starts its own.
  let shared: Promise<BenchRedis> | undefined
  const redis = () => (shared ??= startBenchRedis())
  let failed = 0
  try {
    for (const topic of TOPICS) {
      if (only.length > 0 && !only.includes(topic.name)) continue
      const startedAt = performance.now()
      try {
        const table = await topic.run(redis)
        console.log(renderTable(table))
      } catch (error) {
        failed++
        console.log(`### ${topic.name}: ERROR\n\n> ${error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 4).join('\n> ') : String(error)}`)
      }
      console.log(`\n_(${topic.name}: ${((performance.now() - startedAt) / 1000).toFixed(1)} s)_\n`)
    }
  } finally {
    if (shared) await (await shared.catch(() => undefined))?.stop()
  }
  return failed > 0 ? 1 : 0
}

// Exit explicitly: a benchmark must not linger on a handle a library left open (e.g. a reconnect timer).
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
