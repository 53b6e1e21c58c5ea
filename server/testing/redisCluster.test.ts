/**
 * The test cluster of redisClusterGlobalSetup.ts is what #13 asks for: 3 masters and 3 replicas, every slot served,
 * AOF on, and keys of different hash tags on different masters (so a mixed pipeline is refused, as on a real one).
 */
import { describe, expect, it } from 'vitest'
import { openTestCluster, seedList, testClusterSeeds } from './redisCluster'

describe('test Redis Cluster', () => {
  it('has 3 masters with one replica each, AOF on, and spreads tagged keys over the masters', async () => {
    const cluster = openTestCluster()
    try {
      await cluster.ping()
      expect(seedList(testClusterSeeds())).toHaveLength(6)
      const masters = cluster.nodes('master')
      expect(masters).toHaveLength(3)
      const lines = ((await cluster.cluster('NODES')) as string).trim().split('\n')
      expect(lines.filter((l) => / master /.test(` ${l.split(' ')[2]!.replace('myself,', '')} `))).toHaveLength(3)
      expect(lines.filter((l) => /slave/.test(l.split(' ')[2]!))).toHaveLength(3)
      for (const m of masters) {
        expect(await m.config('GET', 'appendonly')).toEqual(['appendonly', 'yes'])
        expect(await m.cluster('INFO')).toContain('cluster_state:ok')
      }
      // Slots of {a}…{z}: served by more than one master.
      const owners = new Set<string>()
      for (const c of 'abcdefghij') {
        const slot = (await cluster.cluster('KEYSLOT', `{${c}}:x`)) as number
        const node = masters.find((m) => cluster.slots[slot]?.[0] === `${m.options.host}:${m.options.port}`)
        owners.add(`${node?.options.port}`)
      }
      expect(owners.size).toBeGreaterThan(1)
      // A pipeline across two masters is refused client-side, as on any real cluster.
      await expect(cluster.pipeline().set('{a}:x', '1').set('{b}:x', '1').set('{c}:x', '1').set('{d}:x', '1').exec()).rejects.toThrow(/same slots allocation group/)
    } finally {
      await cluster.quit()
    }
  })
})
