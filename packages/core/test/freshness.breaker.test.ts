// The circuit breaker as the freshness work reshaped it: one breaker per storage, shared by every wrapper on it
// (100 wrappers on one failing storage try it `failures` times in all), and a cooldown of
// cooldownMs * (0.8 + 0.4 * random()) with the injectable `random`.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type AsyncStorage, CodecError, cacheValue, type ErrorReport } from '@memokit/core'
import { tickTo, useFakeClock } from './controllable'
import { faultyStorage, uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('one breaker per storage', () => {
  it.each([
    ['an async storage', true],
    ['a sync storage', false],
  ] as const)(
    'over %s: 100 wrappers on one failing storage try it 5 times in all, then all skip it',
    async (_l, async) => {
      const { storage, failing, calls } = faultyStorage(async)
      failing.add('get')
      failing.add('set')
      const namespace = uniqueNamespace()
      const reports: ErrorReport[] = []
      const wrappers = Array.from({ length: 100 }, (_, i) =>
        cacheValue((n: number) => n * 2 + i, {
          storage,
          namespace,
          name: `fn${i}`,
          ttl: 1000,
          swr: '1m',
          onError: (r) => reports.push(r),
        }),
      )
      // Every wrapper is called, one after another: each call still gets fn's value (fail-open).
      for (let round = 0; round < 2; round++) {
        for (const [i, wrapper] of wrappers.entries()) expect(await wrapper(1)).toBe(2 + i)
      }
      expect(calls.get).toBe(5)
      expect(calls.set).toBe(0)
      expect(reports.filter((r) => r.error.message.includes('circuitBreaker'))).toHaveLength(1)
    },
  )
})

describe('the breaker cooldown is jittered by the injected random', () => {
  it.each([
    [0, 800],
    [0.5, 1000],
    [0.75, 1100],
  ])('random() = %s: with cooldownMs 1000 the storage is skipped for %s ms', async (draw, cooldown) => {
    const { storage, failing, calls } = faultyStorage(true)
    failing.add('get')
    const cached = cacheValue(async (n: number) => n, {
      storage,
      namespace: uniqueNamespace(),
      name: 'cooled',
      onError: () => {},
      circuitBreaker: { failures: 1, cooldownMs: 1000 },
      random: () => draw,
    })
    await cached(1)
    expect(calls.get).toBe(1)
    await tickTo(cooldown - 1)
    await cached(2)
    expect(calls.get).toBe(1)
    await tickTo(cooldown)
    await cached(3)
    expect(calls.get).toBe(2)
  })

  it('random() close to 1 gives close to +20%', async () => {
    const { storage, failing, calls } = faultyStorage(false)
    failing.add('get')
    const cached = cacheValue((n: number) => n, {
      storage,
      namespace: uniqueNamespace(),
      name: 'cooledHigh',
      onError: () => {},
      circuitBreaker: { failures: 2, cooldownMs: 10_000 },
      random: () => 0.9999,
    })
    cached(1)
    cached(2)
    expect(calls.get).toBe(2)
    await tickTo(11_990)
    cached(3)
    expect(calls.get).toBe(2)
    await tickTo(12_000)
    cached(4)
    expect(calls.get).toBe(3)
  })
})

describe('the probe after the cooldown', () => {
  it('ends when it finds a corrupt payload, even with nothing written after it: later calls use the storage', async () => {
    const inner = faultyStorage(true).storage
    let mode: 'down' | 'corrupt' | 'up' = 'down'
    let reads = 0
    const storage: AsyncStorage = {
      ...inner,
      name: 'probed-corrupt',
      get: async (ns, key) => {
        reads++
        if (mode === 'down') throw new Error('connection lost')
        if (mode === 'corrupt') throw new CodecError('corrupt payload')
        return inner.get(ns, key)
      },
    }
    let originDown = false
    const cached = cacheValue(
      async (n: number) => {
        if (originDown) throw new Error('origin down')
        return n
      },
      {
        storage,
        namespace: uniqueNamespace(),
        name: 'probedCorrupt',
        onError: () => {},
        circuitBreaker: { failures: 2, cooldownMs: 1000 },
        random: () => 0.5,
      },
    )
    await cached(1)
    await cached(1)
    expect(reads).toBe(2) // open
    await tickTo(1000)
    mode = 'corrupt'
    originDown = true
    // The probe: the storage answered (a corrupt entry), fn failed, so no write tells the breaker either.
    await expect(cached(1)).rejects.toThrow('origin down')
    expect(reads).toBe(3)
    mode = 'up'
    originDown = false
    await tickTo(60_000)
    await expect(cached(2)).resolves.toBe(2)
    await expect(cached(2)).resolves.toBe(2)
    expect(reads).toBe(5)
  })
})
