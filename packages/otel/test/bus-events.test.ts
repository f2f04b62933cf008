// A two-tier storage's bus events through the real OpenTelemetry SDK: memokit.events counts bus-down, bus-up and the
// L1 drops, by type, storage and reason.
import { afterEach, describe, expect, it } from '@jest/globals'
import { memoryBus, memoryStorage, tieredStorage } from '@memokit/core'
import { instrumentMemokit } from '@memokit/otel'
import { faultyFileStorage, metricsSdk, points, sumWhere, uniqueNamespace } from './sdk'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('memokit.events from a tieredStorage over memoryBus', () => {
  it('counts bus-down, bus-dropped (up) and bus-up as the bus goes down and up again, and bus-gap on a lost message', async () => {
    const sdk = metricsSdk()
    const instrumentation = instrumentMemokit({ meterProvider: sdk.meterProvider, traces: false })
    cleanups.push(sdk.shutdown, () => instrumentation.uninstrument())
    const file = faultyFileStorage()
    cleanups.push(file.remove)
    const bus = memoryBus()
    const channel = `otel-${uniqueNamespace()}`
    const tiers = [0, 1].map(() => tieredStorage({ l1: memoryStorage(), l2: file.storage, bus, channel }))
    cleanups.push(() => Promise.all(tiers.map((t) => t.close())))
    await Promise.all(tiers.map((t) => t.ready))
    const [a] = tiers as [(typeof tiers)[0]]
    const ns = uniqueNamespace()
    await a.set(ns, 'k', 1)
    await settle()
    const before = await sdk.collect()
    const storage = a.name
    const count = (metrics: typeof before, type: string, reason?: string) =>
      sumWhere(metrics.get('memokit.events'), {
        'memokit.event': type,
        'memokit.storage': storage,
        ...(reason === undefined ? {} : { 'memokit.reason': reason }),
      })

    bus.setState('down')
    bus.setState('up')
    bus.dropNext()
    await a.set(ns, 'k', 2)
    await settle()
    await a.set(ns, 'k', 3)
    await settle()

    const after = await sdk.collect()
    const added = (type: string, reason?: string) => count(after, type, reason) - count(before, type, reason)
    expect(added('bus-down', 'transport')).toBe(2)
    expect(added('bus-up', 'transport')).toBe(2)
    expect(added('bus-dropped', 'up')).toBe(2)
    // Both tiers hear the publisher's sequence skip a number (the publisher's own messages included).
    expect(added('bus-gap', 'gap')).toBeGreaterThanOrEqual(1)
    expect(added('bus-dropped', 'gap')).toBe(added('bus-gap', 'gap'))
    // The events carry no function: bus events belong to the storage.
    const busPoints = points(after.get('memokit.events')).filter((p) =>
      String(p.attributes['memokit.event']).startsWith('bus-'),
    )
    expect(busPoints.every((p) => p.attributes['memokit.function'] === undefined)).toBe(true)
  })
})
