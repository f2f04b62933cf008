// Adversarial probes of the serving-stale features that found nothing wrong, kept because no other test pins these
// behaviours: the exact edges of the swr window on the sync memory fast paths (the clock moved without running any
// timer) with the outcome counts of .stats(), and per-result ttl/swr functions answering what is not a duration.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { type CacheStats, cacheValue, type ErrorReport, memoryStorage } from '@memokit/core'
import { T0, tick, useFakeClock } from './controllable'
import { uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

describe('swr window edges, a sync fn over memoryStorage', () => {
  it.each([false, true])(
    'fresh before staleAt, stale at staleAt, stale 1 ms before swrUntil, a miss at it (stats: %p)',
    async (stats) => {
      const storage = memoryStorage()
      const namespace = uniqueNamespace()
      let n = 0
      const cached = cacheValue((k: string) => `${k}${++n}`, {
        storage,
        namespace,
        name: 'swrEdges',
        ttl: 1000,
        swr: 500,
        stats,
      })
      expect(cached('a')).toBe('a1')
      jest.setSystemTime(T0 + 999)
      expect(cached('a')).toBe('a1')
      await tick(0)
      expect(n).toBe(1)
      jest.setSystemTime(T0 + 1000)
      expect(cached('a')).toBe('a1')
      expect(n).toBe(1)
      await tick(0)
      // The refresh ran at T0 + 1000: staleAt T0 + 2000, swrUntil T0 + 2500.
      expect(n).toBe(2)
      jest.setSystemTime(T0 + 2499)
      expect(cached('a')).toBe('a2')
      await tick(0)
      // Refreshed at T0 + 2499: staleAt T0 + 3499, swrUntil T0 + 3999.
      expect(n).toBe(3)
      jest.setSystemTime(T0 + 3999)
      expect(cached('a')).toBe('a4')
      expect(n).toBe(4)
      if (stats) {
        const counts = (cached as unknown as { stats(): CacheStats }).stats()
        expect(counts).toEqual({ hits: 1, stale: 2, misses: 2, joins: 0, errors: 0, refreshes: 0, computations: 4 })
      }
    },
  )
})

describe('a per-result ttl or swr function answering what is not a duration', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1w'])(
    'ttl answers %p: the value is returned, nothing is stored, the write is reported',
    (bad) => {
      const storage = memoryStorage()
      const namespace = uniqueNamespace()
      const reports: ErrorReport[] = []
      let n = 0
      const cached = cacheValue(() => ++n, {
        storage,
        namespace,
        name: 'badTtl',
        ttl: () => bad as number,
        onError: (r) => reports.push(r),
      })
      expect(cached()).toBe(1)
      expect(storage.get(namespace, cached.keyFor())).toBeUndefined()
      expect(reports.map((r) => r.op)).toEqual(['set'])
      expect(cached()).toBe(2)
    },
  )

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'swr answers %p: the value is returned, nothing is stored (no window served past its end), reported',
    (bad) => {
      const storage = memoryStorage()
      const namespace = uniqueNamespace()
      const reports: ErrorReport[] = []
      let n = 0
      const cached = cacheValue(() => ++n, {
        storage,
        namespace,
        name: 'badSwr',
        ttl: 1000,
        swr: () => bad as number,
        onError: (r) => reports.push(r),
      })
      expect(cached()).toBe(1)
      expect(storage.get(namespace, cached.keyFor())).toBeUndefined()
      expect(reports.map((r) => r.op)).toEqual(['set'])
    },
  )
})
