import { TRPCClientError } from '@trpc/client'
import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('./session', () => ({ sessionEnded: vi.fn() }))

const { sessionEnded } = await import('./session')
const { useSessionStore } = await import('./store')
const { handleCallFailure } = await import('./usePolled')

function serverError(code: string, httpStatus: number) {
  return TRPCClientError.from({ error: { code: -32000, message: code, data: { code, httpStatus, path: 'x.y' } } })
}

describe('handleCallFailure', () => {
  beforeEach(() => {
    vi.mocked(sessionEnded).mockClear()
    useSessionStore.setState({ linkDown: false })
  })

  it('ignores an abort: nothing to show, no banner', () => {
    const abort = TRPCClientError.from(new DOMException('This operation was aborted', 'AbortError'))
    expect(handleCallFailure(abort)).toBeNull()
    expect(useSessionStore.getState().linkDown).toBe(false)
    expect(sessionEnded).not.toHaveBeenCalled()
  })

  it('ends the session on a 401 and leaves nothing to show', () => {
    expect(handleCallFailure(serverError('UNAUTHORIZED', 401))).toBeNull()
    expect(sessionEnded).toHaveBeenCalledOnce()
    expect(useSessionStore.getState().linkDown).toBe(false)
  })

  it('raises the offline banner on a network failure and returns the failure', () => {
    const failure = handleCallFailure(TRPCClientError.from(new TypeError('Failed to fetch')))
    expect(failure).toEqual({ kind: 'network', message: 'Failed to fetch' })
    expect(useSessionStore.getState().linkDown).toBe(true)
  })

  it('returns any other server failure as is, without the banner', () => {
    expect(handleCallFailure(serverError('NOT_FOUND', 404))).toMatchObject({ kind: 'server', code: 'NOT_FOUND' })
    expect(useSessionStore.getState().linkDown).toBe(false)
    expect(sessionEnded).not.toHaveBeenCalled()
  })
})
