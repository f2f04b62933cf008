// Adversarial probe of instrumentMemokit taken off and put back (a new MeterProvider, as after reconfiguring the SDK)
// while a computation runs: the new instrumentation hears the end of a computation whose start it never saw. It must
// not count it as finished: memokit.compute.active went to -1 for good on the new provider and memokit.compute.duration
// recorded a 0 s run. Failed before the fix committed with it.
import { afterEach, describe, expect, it } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { instrumentMemokit, type MemokitInstrumentation } from '@memokit/otel'
import { metricsSdk, points, sumWhere, uniqueNamespace } from './sdk'

const running: MemokitInstrumentation[] = []
afterEach(() => {
  for (const instrumentation of running.splice(0)) instrumentation.uninstrument()
})

describe('instrumentMemokit replaced while a computation runs', () => {
  it('the new instrumentation counts neither an end without a start nor its duration', async () => {
    const first = metricsSdk()
    const second = metricsSdk()
    const one = instrumentMemokit({ meterProvider: first.meterProvider, traces: false })
    running.push(one)
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = cacheValue(
      async (n: number) => {
        await gate
        return n
      },
      { name: 'slowRun', namespace: uniqueNamespace(), storage: memoryStorage() },
    )
    const call = slow(1)
    one.uninstrument()
    running.push(instrumentMemokit({ meterProvider: second.meterProvider, traces: false }))
    release()
    expect(await call).toBe(1)
    const metrics = await second.collect()
    const active = points(metrics.get('memokit.compute.active')).filter(
      (p) => p.attributes['memokit.function'] === 'slowRun',
    )
    expect(active.every((p) => p.value === 0)).toBe(true)
    expect(sumWhere(metrics.get('memokit.compute.duration'), { 'memokit.function': 'slowRun' })).toBe(0)
    // A computation that starts and ends under it is counted as before.
    expect(await slow(2)).toBe(2)
    const after = await second.collect()
    expect(sumWhere(after.get('memokit.compute.duration'), { 'memokit.function': 'slowRun' })).toBe(1)
    expect(sumWhere(after.get('memokit.compute.active'), { 'memokit.function': 'slowRun' })).toBe(0)
    await first.shutdown()
    await second.shutdown()
  })
})
