/**
 * OpenTelemetry input: ended SERVER spans from the real OpenTelemetry JS SDK 2.x (BasicTracerProvider with the
 * collector's span processor) become request series in Redis — stable and pre-1.23 attribute names, errors, a span
 * without `http.route`, CLIENT/INTERNAL spans ignored — and a malformed span never throws into the tracer.
 */
import { SpanKind, SpanStatusCode, context } from '@opentelemetry/api'
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { collector, connected, freshPrefix, seriesOf, useTestRedis } from './collectorTesting.test-helpers'
import { requestFromSpan, SPAN_KIND_SERVER } from './otelSpans'
import type { RedisClient } from './redisTopology'

let redis: RedisClient
useTestRedis((r) => (redis = r))

describe('OpenTelemetry span processor', () => {
  it('records ended HTTP SERVER spans of the real OpenTelemetry SDK as request series, and nothing else', async () => {
    const prefix = freshPrefix()
    const c = collector(prefix, 'i1')
    await connected(c)
    const provider = new BasicTracerProvider({ spanProcessors: [c.otelSpanProcessor()] })
    const tracer = provider.getTracer('test')
    const serve = (attributes: Record<string, string | number>, opts: { kind?: SpanKind; error?: boolean } = {}) => {
      const span = tracer.startSpan('request', { kind: opts.kind ?? SpanKind.SERVER, attributes }, context.active())
      if (opts.error) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    }
    for (let i = 0; i < 30; i++) serve({ 'http.request.method': 'GET', 'http.route': '/users/:id', 'http.response.status_code': 200, 'url.path': `/users/${i}` })
    for (let i = 0; i < 5; i++) serve({ 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 503 })
    for (let i = 0; i < 4; i++) serve({ 'http.method': 'GET', 'http.route': '/legacy', 'http.status_code': 200 }) // pre-1.23 names
    serve({ 'http.request.method': 'GET', 'http.route': '/boom', 'http.response.status_code': 200, 'error.type': 'TimeoutError' }, { error: true })
    serve({ 'http.request.method': 'GET', 'http.response.status_code': 404, 'url.path': '/raw/123' }) // no template known
    serve({ 'http.request.method': 'GET', 'http.route': '/upstream', 'http.response.status_code': 200 }, { kind: SpanKind.CLIENT })
    serve({ 'db.system': 'redis' }, { kind: SpanKind.INTERNAL })
    serve({ 'rpc.system': 'grpc' }) // a SERVER span that is not HTTP
    await provider.forceFlush() // flushes the collector
    await c.flush()

    const series = await seriesOf(redis, prefix)
    expect(Object.fromEntries(Object.entries(series).map(([k, v]) => [k, [v.count, v.errors]]))).toEqual({
      'GET /users/:id': [30, 0],
      'POST /orders': [5, 5],
      'GET /legacy': [4, 0],
      'GET /boom': [1, 1],
      'GET (unmatched)': [1, 0],
    })
    expect(c.stats.droppedInvalidRequests).toBe(0)
    await provider.shutdown() // does not close the collector (the host owns it)
    c.recordRequest({ method: 'GET', route: '/after', status: 200, durationMs: 1 })
    await c.flush()
    expect((await seriesOf(redis, prefix))['GET /after']?.count).toBe(1)
  })

  it('drops and counts a SERVER span with no status code, and never throws into the tracer on a malformed span', async () => {
    const prefix = freshPrefix()
    const errors: string[] = []
    const c = collector(prefix, 'i1', { onError: (e, where) => errors.push(where) })
    const p = c.otelSpanProcessor()
    p.onEnd({ kind: SPAN_KIND_SERVER, attributes: { 'http.request.method': 'GET', 'http.route': '/x' }, duration: [0, 5e6] })
    expect(c.stats.droppedInvalidRequests).toBe(1)
    const hostile = [null, undefined, 42, { kind: SPAN_KIND_SERVER }, { kind: SPAN_KIND_SERVER, attributes: null, duration: 'x' }, { get kind(): number { throw new Error('getter') } }]
    for (const span of hostile) expect(() => p.onEnd(span as never)).not.toThrow()
    expect(errors.every((w) => w === 'otel')).toBe(true)
  })

  it('maps a span: duration from HrTime, stable names before legacy ones, error from the span status', () => {
    expect(
      requestFromSpan({
        kind: SPAN_KIND_SERVER,
        attributes: { 'http.request.method': 'PUT', 'http.method': 'GET', 'http.route': '/a/:b', 'http.response.status_code': 201, 'error.type': 'E' },
        duration: [1, 250_000_000],
        status: { code: 2 },
      }),
    ).toEqual({ method: 'PUT', route: '/a/:b', status: 201, durationMs: 1250, error: true, errorType: 'E' })
    expect(requestFromSpan({ kind: 3, attributes: { 'http.request.method': 'GET' }, duration: [0, 1] })).toBeNull()
  })
})
