// Adversarial probes of instrumentMemokit: no SDK at all, one series per outcome however many keys, counts equal to
// the wrapper's own .stats(), and a provider that throws while instrumenting (the last test failed before the fix
// committed with it: the metrics stayed subscribed with nothing to take them off).
import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from '@jest/globals'
import { CHANNELS, cacheValue, memoryStorage } from '@memokit/core'
import { instrumentMemokit, type MemokitInstrumentation } from '@memokit/otel'
import { metricsSdk, points, uniqueNamespace } from './sdk'

const running: MemokitInstrumentation[] = []
afterEach(() => {
  for (const instrumentation of running.splice(0)) instrumentation.uninstrument()
})

const tracing = (name: string) =>
  (diagnostics as unknown as { tracingChannel(n: string): { hasSubscribers: boolean } }).tracingChannel(name)

describe('instrumentMemokit, adversarially', () => {
  it('with no SDK registered (the no-op global providers), calls, errors and spans never throw', async () => {
    running.push(instrumentMemokit())
    const fetch = cacheValue(
      async (x: number) => {
        if (x < 0) throw new Error('negative')
        return x
      },
      { name: 'noSdk', namespace: uniqueNamespace(), observeKeys: 'raw' },
    )
    expect(await fetch(1)).toBe(1)
    expect(await fetch(1)).toBe(1)
    await expect(fetch(-1)).rejects.toThrow('negative')
    const id = cacheValue((x: number) => x, { name: 'noSdkSync', namespace: uniqueNamespace() })
    expect(id(2)).toBe(2)
    expect(id(2)).toBe(2)
  })

  it('keeps one memokit.calls series per outcome however many keys, with counts equal to .stats()', async () => {
    const sdk = metricsSdk()
    running.push(instrumentMemokit({ meterProvider: sdk.meterProvider, traces: false }))
    const namespace = uniqueNamespace()
    const square = cacheValue(
      (x: number) => {
        if (x < 0) throw new Error('negative')
        return x * x
      },
      { name: 'square', namespace, storage: memoryStorage(), stats: true },
    )
    for (let i = 0; i < 500; i++) square(i)
    for (let i = 0; i < 500; i++) square(i)
    square.refresh(1)
    expect(() => square(-1)).toThrow('negative')
    const byOutcome = Object.fromEntries(
      points((await sdk.collect()).get('memokit.calls')).map((p) => [p.attributes['memokit.outcome'], p.value]),
    )
    const stats = square.stats()
    expect(byOutcome).toEqual({ miss: stats.misses, hit: stats.hits, refreshed: stats.refreshes, error: stats.errors })
    expect(byOutcome).toEqual({ miss: 500, hit: 500, refreshed: 1, error: 1 })
    await sdk.shutdown()
  })

  it('a tracer provider that throws leaves nothing subscribed, and a later instrumentation counts each call once', async () => {
    const sdk = metricsSdk()
    const throwing = {
      getTracer(): never {
        throw new Error('tracer unavailable')
      },
    }
    expect(() => instrumentMemokit({ meterProvider: sdk.meterProvider, tracerProvider: throwing })).toThrow(
      'tracer unavailable',
    )
    expect(tracing(CHANNELS.call).hasSubscribers).toBe(false)
    expect(diagnostics.channel(CHANNELS.event).hasSubscribers).toBe(false)
    const again = metricsSdk()
    running.push(instrumentMemokit({ meterProvider: again.meterProvider, traces: false }))
    const id = cacheValue((x: number) => x, { name: 'once', namespace: uniqueNamespace(), storage: memoryStorage() })
    id(1)
    expect(points((await sdk.collect()).get('memokit.calls'))).toEqual([])
    expect(points((await again.collect()).get('memokit.calls'))).toHaveLength(1)
    await Promise.all([sdk.shutdown(), again.shutdown()])
  })
})
