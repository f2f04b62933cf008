// Metrics through the real OpenTelemetry SDK (in-memory exporter): one count per call by outcome, computations and
// storage operations timed, breaker state and events; nothing left subscribed after uninstrument().
import diagnostics from 'node:diagnostics_channel'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from '@jest/globals'
import { CHANNELS, ConfigError, cacheValue, memoryStorage } from '@memokit/core'
import { fileStorageSync } from '@memokit/file'
import { instrumentMemokit, type MemokitInstrumentation } from '@memokit/otel'
import { faultyFileStorage, metricsSdk, points, sleep, sumWhere, uniqueNamespace } from './sdk'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function setup() {
  const sdk = metricsSdk()
  const instrumentation = instrumentMemokit({ meterProvider: sdk.meterProvider, traces: false })
  cleanups.push(sdk.shutdown, () => instrumentation.uninstrument())
  return { ...sdk, instrumentation }
}

describe('memokit.calls', () => {
  it('counts 50 cold concurrent calls as 1 miss and 49 joined, then a hit, with namespace, function and tier', async () => {
    const { collect } = setup()
    const namespace = uniqueNamespace()
    let release: (value: number) => void = () => {}
    const slow = cacheValue((_id: number) => new Promise<number>((resolve) => (release = resolve)), {
      storage: memoryStorage(),
      namespace,
      name: 'slow',
    })
    const all = Array.from({ length: 50 }, () => slow(1))
    const during = await collect()
    expect(sumWhere(during.get('memokit.compute.active'), { 'memokit.function': 'slow' })).toBe(1)
    release(7)
    await Promise.all(all)
    await slow(1)

    const metrics = await collect()
    const calls = points(metrics.get('memokit.calls'))
    expect(calls).toHaveLength(3)
    const base = { 'memokit.namespace': namespace, 'memokit.function': 'slow', 'memokit.tier': 'local' }
    expect(calls).toEqual(
      expect.arrayContaining([
        { attributes: { ...base, 'memokit.outcome': 'miss' }, value: 1 },
        { attributes: { ...base, 'memokit.outcome': 'joined' }, value: 49 },
        { attributes: { ...base, 'memokit.outcome': 'hit' }, value: 1 },
      ]),
    )
    expect(points(metrics.get('memokit.compute.duration'))).toEqual([
      {
        attributes: {
          'memokit.namespace': namespace,
          'memokit.function': 'slow',
          'memokit.background': false,
          'memokit.reason': 'miss',
          'memokit.result': 'ok',
        },
        value: 1,
      },
    ])
    expect(sumWhere(metrics.get('memokit.compute.active'), { 'memokit.function': 'slow' })).toBe(0)
    expect(metrics.get('memokit.compute.duration')?.descriptor.unit).toBe('s')
  })

  it('counts sync calls at their end, and errors as error with a failed computation', async () => {
    const { collect } = setup()
    const namespace = uniqueNamespace()
    const parse = cacheValue(
      (text: string) => {
        if (text === '') throw new Error('empty')
        return text.length
      },
      { storage: memoryStorage(), namespace, name: 'parse' },
    )
    parse('ab')
    parse('ab')
    expect(() => parse('')).toThrow('empty')
    const metrics = await collect()
    expect(sumWhere(metrics.get('memokit.calls'), { 'memokit.outcome': 'miss' })).toBe(1)
    expect(sumWhere(metrics.get('memokit.calls'), { 'memokit.outcome': 'hit' })).toBe(1)
    expect(sumWhere(metrics.get('memokit.calls'), { 'memokit.outcome': 'error' })).toBe(1)
    expect(sumWhere(metrics.get('memokit.compute.duration'), { 'memokit.result': 'error' })).toBe(1)
  })
})

describe('memokit.storage.duration, memokit.breaker.state, memokit.events', () => {
  it('times storage operations by op and result, over an async and a sync storage', async () => {
    const { collect } = setup()
    const file = faultyFileStorage()
    cleanups.push(file.remove)
    const cached = cacheValue(async (n: number) => n * 2, {
      storage: file.storage,
      namespace: uniqueNamespace(),
      name: 'double',
    })
    await cached(1)
    await cached(1)
    const dir = mkdtempSync(join(tmpdir(), 'memokit-otel-sync-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const triple = cacheValue((n: number) => n * 3, {
      storage: fileStorageSync({ dir, prefix: 'otel-test' }),
      namespace: uniqueNamespace(),
      name: 'triple',
    })
    expect(triple(1)).toBe(3)
    expect(triple(1)).toBe(3)

    const storage = (await collect()).get('memokit.storage.duration')
    for (const name of ['faulty-file', 'file']) {
      const of = (op: string, result: string) =>
        sumWhere(storage, { 'memokit.storage': name, 'memokit.op': op, 'memokit.result': result })
      expect([of('get', 'miss'), of('set', 'ok'), of('get', 'hit')]).toEqual([1, 1, 1])
    }
  })

  it('reports the breaker open then closed per storage, and counts the events', async () => {
    const { collect } = setup()
    const file = faultyFileStorage()
    cleanups.push(file.remove)
    const namespace = uniqueNamespace()
    const cached = cacheValue(async (n: number) => n, {
      storage: file.storage,
      namespace,
      name: 'guarded',
      onError: () => {},
      circuitBreaker: { failures: 1, cooldownMs: 20 },
      random: () => 0.5,
    })
    await cached(1)
    file.down.get = true
    expect(await cached(2)).toBe(2)
    let metrics = await collect()
    expect(points(metrics.get('memokit.breaker.state'))).toEqual([
      { attributes: { 'memokit.storage': 'faulty-file' }, value: 1 },
    ])
    expect(sumWhere(metrics.get('memokit.calls'), { 'memokit.outcome': 'bypass' })).toBe(1)
    expect(sumWhere(metrics.get('memokit.storage.duration'), { 'memokit.op': 'get', 'memokit.result': 'error' })).toBe(
      1,
    )

    file.down.get = false
    await sleep(40)
    await cached(3)
    metrics = await collect()
    expect(points(metrics.get('memokit.breaker.state'))).toEqual([
      { attributes: { 'memokit.storage': 'faulty-file' }, value: 0 },
    ])
    const events = metrics.get('memokit.events')
    expect(sumWhere(events, { 'memokit.event': 'breaker-open', 'memokit.storage': 'faulty-file' })).toBe(1)
    expect(sumWhere(events, { 'memokit.event': 'breaker-close', 'memokit.storage': 'faulty-file' })).toBe(1)
  })

  it('counts stale-if-error events with the function they served', async () => {
    const { collect } = setup()
    const namespace = uniqueNamespace()
    let fail = false
    const cached = cacheValue(
      (n: number) => {
        if (fail) throw new Error('down')
        return n
      },
      { storage: memoryStorage(), namespace, name: 'fallback', ttl: 10, staleIfError: 60_000, onError: () => {} },
    )
    cached(1)
    await sleep(20)
    fail = true
    expect(cached(1)).toBe(1)
    const metrics = await collect()
    expect(sumWhere(metrics.get('memokit.calls'), { 'memokit.outcome': 'stale-if-error' })).toBe(1)
    expect(
      sumWhere(metrics.get('memokit.events'), {
        'memokit.event': 'stale-if-error',
        'memokit.namespace': namespace,
        'memokit.function': 'fallback',
      }),
    ).toBe(1)
  })
})

describe('instrumentMemokit', () => {
  const tracing = (name: string) =>
    (diagnostics as unknown as { tracingChannel(n: string): { hasSubscribers: boolean } }).tracingChannel(name)

  it('leaves no subscriber behind after uninstrument(), so memokit is back on its unobserved path', async () => {
    const { collect, instrumentation } = setup()
    const both: MemokitInstrumentation = instrumentation
    expect(tracing(CHANNELS.call).hasSubscribers).toBe(true)
    both.uninstrument()
    both.uninstrument()
    for (const name of [CHANNELS.call, CHANNELS.compute, CHANNELS.storage])
      expect(tracing(name).hasSubscribers).toBe(false)
    expect(diagnostics.channel(CHANNELS.event).hasSubscribers).toBe(false)
    const cached = cacheValue((n: number) => n, { storage: memoryStorage(), namespace: uniqueNamespace(), name: 'id' })
    cached(1)
    expect(points((await collect()).get('memokit.calls'))).toEqual([])
  })

  it('rejects a second instrumentation while one runs, unknown options and wrong providers', () => {
    setup()
    expect(() => instrumentMemokit()).toThrow(/already instrumented; call uninstrument\(\)/)
    expect(() => instrumentMemokit({ meterProviders: {} } as never)).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG',
        option: 'meterProviders',
        message: expect.stringMatching(/did you mean 'meterProvider'/),
      }),
    )
    expect(() => instrumentMemokit({ tracerProvider: {} as never })).toThrow(ConfigError)
    expect(() => instrumentMemokit({ traces: 'yes' as never })).toThrow(/traces must be true or false/)
  })
})
