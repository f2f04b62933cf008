// A service's own tests often run under jest's default fake timers, which also fake queueMicrotask, setImmediate and
// process.nextTick. docs/recipes.md promises that memokit's hits and misses answer there as with real timers: this
// file holds keyvStorage to it over an in-memory Keyv, so only memokit's own scheduling is under test.
import { afterEach, expect, it, jest } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import Keyv from 'keyv'
import { keyvStorage } from '../src'

// Taken before any test fakes the clock: the bound on how long a read may take stays a real one.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout

afterEach(() => {
  jest.useRealTimers()
})

/** `work`'s value, or 'no answer' when it has not settled after `ms` of real time. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'no answer'>((resolve) => {
    timer = realSetTimeout(() => resolve('no answer'), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    realClearTimeout(timer)
  }
}

it('answers a read, a cached hit and a miss while jest fakes the timers', async () => {
  const storage = keyvStorage(new Keyv(), { prefix: 'faketimers' })
  try {
    await storage.set('ns', 'a', { v: 1 })
    let runs = 0
    const cached = cacheValue(
      async (n: number) => {
        runs++
        return { n }
      },
      { storage, name: 'fake-timers', ttl: 60_000 },
    )
    expect(await cached(7)).toEqual({ n: 7 })

    jest.useFakeTimers()
    expect(await within(storage.get('ns', 'a'), 2_000)).toMatchObject({ value: { v: 1 } })
    expect(await within(cached(7), 2_000)).toEqual({ n: 7 })
    expect(runs).toBe(1)
    // A miss: its read, computation and write, then a hit.
    expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
    expect(runs).toBe(2)
    expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
    expect(runs).toBe(2)
  } finally {
    jest.useRealTimers()
    await storage.close?.()
  }
})
