import { describe, expect, it } from 'vitest'
import { auditEntry, eventEntry, requestLogEntry, type StreamEntry } from './streams'

const request: StreamEntry = {
  id: '1700000000000-0',
  fields: { atMs: '1700000000000', method: 'GET', route: '/items/:id', status: '503', durationMs: '40', instance: 'b', errorType: 'ECONNRESET', kind: 'error' },
}
const event: StreamEntry = {
  id: '1700000000001-0',
  fields: { atMs: '1700000000001', type: 'transition', breaker: 'payments', instance: 'a', from: 'CLOSED', to: 'OPEN', reason: 'errors' },
}
const audit: StreamEntry = {
  id: '1700000000002-0',
  fields: { atMs: '1700000000002', actor: 'ops', service: 'shop', command: 'reset', breaker: 'payments', target: 'b', reason: 'why', generation: '3', outcome: 'ok' },
}

describe('stream entry filters', () => {
  it('map every entry without a filter, and with a filter whose values are all unset', () => {
    expect(requestLogEntry(request)).toMatchObject({ id: request.id, status: 503, route: '/items/:id', instance: 'b' })
    expect(requestLogEntry(request, { route: undefined, status: undefined, instance: undefined })).not.toBeNull()
    expect(eventEntry(event)).toMatchObject({ type: 'transition', breaker: 'payments', generation: null })
    expect(eventEntry(event, { breaker: undefined })).not.toBeNull()
    expect(auditEntry(audit, {})).toMatchObject({ action: 'reset', target: 'payments @ b', generation: 3 })
  })

  it('keep an entry only when every set field matches exactly', () => {
    expect(requestLogEntry(request, { route: '/items/:id', instance: 'b' })).not.toBeNull()
    expect(requestLogEntry(request, { route: '/items' })).toBeNull()
    expect(requestLogEntry(request, { instance: 'B' })).toBeNull()
    expect(eventEntry(event, { breaker: 'payments', instance: 'a', type: 'transition' })).not.toBeNull()
    expect(eventEntry(event, { breaker: 'payments', type: 'commandIssued' })).toBeNull()
    expect(auditEntry(audit, { service: 'shop', actor: 'ops' })).not.toBeNull()
    expect(auditEntry(audit, { actor: 'someone' })).toBeNull()
  })

  it('match a request status by code or by class', () => {
    expect(requestLogEntry(request, { status: '503' })).not.toBeNull()
    expect(requestLogEntry(request, { status: '5xx' })).not.toBeNull()
    expect(requestLogEntry(request, { status: '500' })).toBeNull()
    expect(requestLogEntry(request, { status: '4xx' })).toBeNull()
  })
})
