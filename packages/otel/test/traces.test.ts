// Spans through the real OpenTelemetry SDK (in-memory exporter) and the AsyncLocalStorage context manager: memokit's
// spans nest under the caller's active span, spans started inside fn nest under memokit.compute, a background refresh
// is a root span linked to the call that triggered it, and storage operations over an async storage are spans.
import { afterEach, describe, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { instrumentMemokit } from '@memokit/otel'
import { type Span, SpanStatusCode } from '@opentelemetry/api'
import { faultyFileStorage, parentOf, sleep, tracesSdk, uniqueNamespace } from './sdk'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** `register`: the SDK registered globally, as in production, and instrumentMemokit() with no providers. */
function setup(register = true) {
  const sdk = tracesSdk(register)
  const instrumentation = instrumentMemokit(
    register ? { metrics: false } : { tracerProvider: sdk.tracerProvider, metrics: false },
  )
  cleanups.push(sdk.shutdown, () => instrumentation.uninstrument())
  const tracer = sdk.tracerProvider.getTracer('test')
  /** Runs `work` inside an active span named `name`, like an HTTP server's request span. */
  const request = async <T>(name: string, work: () => Promise<T> | T): Promise<{ result: T; span: Span }> =>
    tracer.startActiveSpan(name, async (span) => {
      try {
        return { result: await work(), span }
      } finally {
        span.end()
      }
    })
  return { ...sdk, tracer, request }
}

const id = (span: { spanContext(): { spanId: string } } | undefined) => span?.spanContext().spanId

describe('with the SDK registered globally (NodeTracerProvider: the AsyncLocalStorage context manager)', () => {
  it("nests memokit.call under the caller's span, memokit.compute under the call, and fn's own spans under compute", async () => {
    const { request, named, tracer } = setup()
    const namespace = uniqueNamespace()
    const load = cacheValue(
      async (n: number) => {
        await sleep(1)
        tracer.startSpan('SELECT users').end()
        return n
      },
      { storage: memoryStorage(), namespace, name: 'users.byId' },
    )
    const first = await request('GET /users/1', () => load(1))
    const second = await request('GET /users/1 again', () => load(1))

    const [miss, hit] = named('memokit.call')
    expect(parentOf(miss)).toBe(id(first.span))
    expect(parentOf(hit)).toBe(id(second.span))
    expect(miss?.attributes).toMatchObject({
      'memokit.namespace': namespace,
      'memokit.function': 'users.byId',
      'memokit.storage': 'memory',
      'memokit.tier': 'local',
      'memokit.outcome': 'miss',
      'memokit.cache_hit': false,
    })
    expect(hit?.attributes).toMatchObject({ 'memokit.outcome': 'hit', 'memokit.cache_hit': true })
    const [compute] = named('memokit.compute')
    expect(named('memokit.compute')).toHaveLength(1)
    expect(parentOf(compute)).toBe(id(miss))
    expect(compute?.attributes).toMatchObject({ 'memokit.reason': 'miss', 'memokit.background': false })
    expect(parentOf(named('SELECT users')[0])).toBe(id(compute))
    expect(miss?.spanContext().traceId).toBe(first.span.spanContext().traceId)
  })

  it('nests the spans of a sync call over a sync storage too, and marks a thrown error', async () => {
    const { request, named } = setup()
    const parse = cacheValue(
      (text: string) => {
        if (text === '') throw new Error('empty')
        return text.length
      },
      { storage: memoryStorage(), namespace: uniqueNamespace(), name: 'parse' },
    )
    const { span } = await request('job', () => {
      parse('abc')
      expect(() => parse('')).toThrow('empty')
    })
    const calls = named('memokit.call')
    expect(calls.map((c) => parentOf(c))).toEqual([id(span), id(span)])
    expect(calls[1]?.attributes['memokit.outcome']).toBe('error')
    expect(calls[1]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'empty' })
    expect(calls[1]?.events.map((e) => e.name)).toContain('exception')
    expect(named('memokit.compute').map((c) => parentOf(c))).toEqual(calls.map((c) => id(c)))
  })

  it('starts a background refresh as a new root span linked to the call that triggered it', async () => {
    const { request, named, spans } = setup()
    let version = 0
    const config = cacheValue(
      async () => {
        await sleep(1)
        return ++version
      },
      { storage: memoryStorage(), namespace: uniqueNamespace(), name: 'config', ttl: 20, swr: 60_000 },
    )
    await request('GET /a', () => config())
    await sleep(30)
    const stale = await request('GET /b', () => config())
    expect(stale.result).toBe(1)
    // The request has ended; the refresh it triggered runs on (after setImmediate, then fn's sleep).
    for (let i = 0; i < 400 && named('memokit.compute').length < 2; i++) await sleep(5)

    const staleCall = named('memokit.call').find((c) => c.attributes['memokit.outcome'] === 'stale')
    expect(parentOf(staleCall)).toBe(id(stale.span))
    const background = named('memokit.compute').find((c) => c.attributes['memokit.background'] === true)
    expect(background?.attributes).toMatchObject({ 'memokit.reason': 'swr' })
    expect(background?.parentSpanContext).toBeUndefined()
    expect(background?.spanContext().traceId).not.toBe(stale.span.spanContext().traceId)
    expect(background?.links.map((l) => l.context.spanId)).toEqual([id(staleCall)])
    expect(background?.links[0]?.context.traceId).toBe(stale.span.spanContext().traceId)
    // Nothing else joined the request's trace after it ended.
    const inRequest = spans().filter((s) => s.spanContext().traceId === stale.span.spanContext().traceId)
    expect(inRequest.map((s) => s.name).sort()).toEqual(['GET /b', 'memokit.call'])
  })

  it('traces storage operations over an async storage as memokit.storage.<op> under the call, errors marked', async () => {
    const { request, named } = setup()
    const file = faultyFileStorage()
    cleanups.push(file.remove)
    const cached = cacheValue(async (n: number) => n * 2, {
      storage: file.storage,
      namespace: uniqueNamespace(),
      name: 'double',
      onError: () => {},
      circuitBreaker: false,
    })
    const first = await request('first', () => cached(1))
    await request('second', () => cached(1))
    file.down.get = true
    const third = await request('third', () => cached(2))
    expect(third.result).toBe(4)

    const calls = named('memokit.call')
    expect(calls.map((c) => c.attributes['memokit.outcome'])).toEqual(['miss', 'hit', 'bypass'])
    expect(parentOf(calls[0])).toBe(id(first.span))
    const gets = named('memokit.storage.get')
    expect(gets.map((g) => g.attributes['memokit.result'])).toEqual(['miss', 'hit', 'error'])
    expect(gets.map((g) => parentOf(g))).toEqual(calls.map((c) => id(c)))
    expect(gets[2]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'disk gone' })
    const [set] = named('memokit.storage.set')
    expect(set?.attributes).toMatchObject({
      'memokit.storage': 'faulty-file',
      'memokit.op': 'set',
      'memokit.result': 'ok',
    })
    expect(set?.spanContext().traceId).toBe(first.span.spanContext().traceId)
    expect(named('memokit.storage.set')).toHaveLength(1)
  })

  it('puts the key on spans only when the wrapper publishes keys', async () => {
    const { named } = setup()
    const storage = memoryStorage()
    cacheValue((n: number) => n, { storage, namespace: uniqueNamespace(), name: 'hidden' })(1)
    cacheValue((n: number) => n, { storage, namespace: uniqueNamespace(), name: 'shown', observeKeys: 'raw' })(1)
    expect(named('memokit.call').map((c) => c.attributes['memokit.key'])).toEqual([undefined, 'shown:[1]'])
  })
})

describe('without a context manager', () => {
  it('still nests memokit.compute under memokit.call through a store of its own', async () => {
    const { named } = setup(false)
    const cached = cacheValue(async (n: number) => n, {
      storage: memoryStorage(),
      namespace: uniqueNamespace(),
      name: 'x',
    })
    await cached(1)
    const [call] = named('memokit.call')
    expect(parentOf(call)).toBeUndefined()
    expect(parentOf(named('memokit.compute')[0])).toBe(id(call))
  })
})
