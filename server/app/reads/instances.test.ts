import { describe, expect, it } from 'vitest'
import { parseInfo } from './instances'

describe('parseInfo', () => {
  it('splits INFO lines at the first colon, skipping section headers and blank lines', () => {
    const info = parseInfo('# Server\r\nredis_version:7.2.4\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\nmaster_host:a:b\r\n')
    expect([...info]).toEqual([
      ['redis_version', '7.2.4'],
      ['db0', 'keys=3,expires=0,avg_ttl=0'],
      ['master_host', 'a:b'],
    ])
  })
})
