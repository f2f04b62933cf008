// errorBackoff's memory: each key served stale after a failure is remembered until its backoff ends. A key was
// forgotten only when asked for again, so an origin outage over a large key space kept one entry per key for the life
// of the process. The keys whose backoff has ended are swept as new ones arrive: the map stays within about twice
// the keys backing off at one time, and a key still backing off is never dropped.
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals'
import { cacheValue, memoryStorage } from '@memokit/core'
import { claimIdentity } from '../src/identity'
import { tickTo, useFakeClock } from './controllable'
import { uniqueNamespace } from './helpers'

beforeEach(useFakeClock)
afterEach(() => {
  jest.useRealTimers()
})

it('forgets the keys whose errorBackoff has ended as new keys back off, and keeps those still backing off', async () => {
  const PHASES = 6
  const KEYS = 2000
  const storage = memoryStorage({ maxEntries: PHASES * KEYS * 2 })
  const namespace = uniqueNamespace()
  let calls = 0
  let failing = false
  const fn = (k: number): string => {
    calls++
    if (failing) throw new Error('origin down')
    return `v${k}`
  }
  const cached = cacheValue(fn, {
    storage,
    namespace,
    name: 'account',
    ttl: 1000,
    staleIfError: '1h',
    errorBackoff: '5s',
    onError: () => {},
  })
  const { backoff } = claimIdentity(storage, namespace, 'account', fn, false)
  for (let k = 0; k < PHASES * KEYS; k++) expect(cached(k)).toBe(`v${k}`)
  failing = true

  const sizes: number[] = []
  for (let phase = 0; phase < PHASES; phase++) {
    // Each phase starts after the previous phase's backoff ended; its own keys are all stale and fail.
    await tickTo(2000 + phase * 6000)
    const keys = Array.from({ length: KEYS }, (_, i) => phase * KEYS + i)
    for (const k of keys) expect(cached(k)).toBe(`v${k}`)
    sizes.push(backoff.size)
    // Still backing off: served stale again without running fn, whatever the sweeps dropped.
    const before = calls
    for (const k of keys) expect(cached(k)).toBe(`v${k}`)
    expect(calls).toBe(before)
  }
  // Without the sweep the map would hold every key that ever backed off: PHASES * KEYS.
  expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * KEYS + 1)
  expect(sizes[0]).toBe(KEYS)

  // A key of an earlier phase, its backoff long over, is tried again.
  const before = calls
  expect(cached(0)).toBe('v0')
  expect(calls).toBe(before + 1)
})
