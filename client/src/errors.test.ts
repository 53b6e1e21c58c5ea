import { describe, expect, it } from 'vitest'
import { TRPCClientError } from '@trpc/client'
import { classifyError, hasErrorCode, isNetworkError } from './errors'

describe('classifyError', () => {
  it('treats a fetch that never reached the server as a network failure', () => {
    const err = TRPCClientError.from(new TypeError('Failed to fetch'))
    expect(classifyError(err)).toEqual({ kind: 'network', message: 'Failed to fetch' })
    expect(isNetworkError(err)).toBe(true)
  })

  it('treats a request timeout as a network failure', () => {
    const timeout = new DOMException('The operation timed out.', 'TimeoutError')
    expect(isNetworkError(TRPCClientError.from(timeout))).toBe(true)
  })

  it('treats an abort by the app as neither a network nor a server failure', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError')
    expect(classifyError(TRPCClientError.from(abort))).toEqual({ kind: 'aborted' })
  })

  it('reports the tRPC code and HTTP status when the server answered with an error', () => {
    const err = TRPCClientError.from({
      error: { code: -32001, message: 'UNAUTHORIZED', data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'auth.me' } },
    })
    expect(classifyError(err)).toEqual({ kind: 'server', code: 'UNAUTHORIZED', httpStatus: 401, message: 'UNAUTHORIZED' })
    expect(hasErrorCode(err, 'UNAUTHORIZED')).toBe(true)
    expect(hasErrorCode(err, 'FORBIDDEN')).toBe(false)
    expect(isNetworkError(err)).toBe(false)
  })
})
