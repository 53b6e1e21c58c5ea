import { describe, expect, it } from 'vitest'
import { parseClusterSeeds } from './redisTopology'

describe('parseClusterSeeds', () => {
  it('reads host:port, [ipv6]:port and redis:// seeds, with spaces and a trailing comma', () => {
    expect(parseClusterSeeds(' 127.0.0.1:7000, [::1]:7001 ,redis://redis-a.internal:7002/,')).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'redis-a.internal', port: 7002 },
      ],
      redisOptions: {},
    })
  })

  it('takes auth from any seed and turns TLS on for every node when one seed is rediss://', () => {
    expect(parseClusterSeeds('rediss://fusebox:s%40cret@a:7000,b:7001')).toEqual({
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      redisOptions: { username: 'fusebox', password: 's@cret', tls: {} },
    })
    expect(parseClusterSeeds('redis://:pw@a:7000').redisOptions).toEqual({ password: 'pw' })
  })

  it.each([
    ['', /at least one/],
    ['a', /host:port/],
    ['a:0', /1-65535/],
    ['a:70000', /1-65535/],
    ['redis://a:7000/2', /database 0/],
    ['redis://a', /port/],
    ['http://a:7000', /redis:\/\//],
    ['redis://a:7000?x=1', /query/],
    ['redis://u:p@a:7000,redis://u:q@b:7001', /credentials differ/],
    [Array.from({ length: 65 }, (_, i) => `h${i}:7000`).join(','), /at most 64/],
  ])('refuses %j', (text, why) => {
    expect(() => parseClusterSeeds(text)).toThrow(why)
  })
})
