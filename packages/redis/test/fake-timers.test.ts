// A service's own tests often run under jest's default fake timers, which also fake queueMicrotask, setImmediate and
// process.nextTick. docs/recipes.md promises that hits and misses over an ioredis client answer there as with real
// timers; this file holds that promise against the shared Redis. (node-redis's own get hangs there: not tested.)
import { afterEach, expect, it, jest } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import { redisStorage } from '@memokit/redis'
import { Redis } from 'ioredis'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
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

it('answers a read, a batch of reads, a cached hit and a miss over ioredis while jest fakes the timers', async () => {
  const client = new Redis(url)
  client.on('error', () => {})
  const prefix = `faketimers-${process.pid}-${Date.now()}`
  const storage = redisStorage({ client, prefix })
  try {
    await storage.set('ns', 'a', { v: 1 })
    await storage.set('ns', 'b', { v: 2 })
    let runs = 0
    const cached = cacheValue(
      async (n: number) => {
        runs++
        return { n }
      },
      { storage, name: 'fake-timers', namespace: 'fake-timers', ttl: 60_000 },
    )
    expect(await cached(7)).toEqual({ n: 7 })

    jest.useFakeTimers()
    expect(await within(storage.get('ns', 'a'), 2_000)).toMatchObject({ value: { v: 1 } })
    expect(await within(storage.getMany?.('ns', ['b', 'a', 'none']) as Promise<unknown>, 2_000)).toMatchObject([
      { value: { v: 2 } },
      { value: { v: 1 } },
      undefined,
    ])
    expect(await within(cached(7), 2_000)).toEqual({ n: 7 })
    expect(runs).toBe(1)
    // A miss: its read, computation and write, then a hit.
    expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
    expect(runs).toBe(2)
    expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
    expect(runs).toBe(2)
  } finally {
    jest.useRealTimers()
    await storage.clear('ns')
    await storage.clear('fake-timers')
    await storage.close()
    await client.quit()
  }
})
