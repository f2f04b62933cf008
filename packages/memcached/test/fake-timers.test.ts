// A service's own tests often run under jest's fake timers, which fake queueMicrotask too. memcached reads and
// writes are real I/O and must answer there as anywhere: the batch of a tick's reads is sent from a microtask that
// fake timers don't hold back. Against a real memcached this file starts.
import { afterAll, afterEach, beforeAll, expect, it, jest } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import memjs from 'memjs'
import { fromMemjs, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FAKE_TIMERS_PORT', 11338)
// Taken before any test fakes the clock: the bound on how long a read may take stays a real one.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout
let server: MemcachedServer
let client: memjs.Client

beforeAll(async () => {
  server = await startMemcached(PORT)
  client = memjs.Client.create(server.address, { logger: { log: () => undefined }, timeout: 2, retries: 1 })
}, 15_000)

afterEach(() => {
  jest.useRealTimers()
})

afterAll(async () => {
  client?.close()
  await server?.stop()
}, 15_000)

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

it('answers a read, a batch of reads, a cached hit and a miss while jest fakes the timers', async () => {
  const storage = memcachedStorage({ client: fromMemjs(client), prefix: `faketimers-${process.pid}` })
  await storage.set('ns', 'a', { v: 1 })
  await storage.set('ns', 'b', { v: 2 })
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
  expect(await within(Promise.all([storage.get('ns', 'a'), storage.get('ns', 'b')]), 2_000)).toMatchObject([
    { value: { v: 1 } },
    { value: { v: 2 } },
  ])
  expect(await within(storage.getMany?.('ns', ['b', 'a', 'none']) as Promise<unknown>, 2_000)).toMatchObject([
    { value: { v: 2 } },
    { value: { v: 1 } },
    undefined,
  ])
  expect(await within(cached(7), 2_000)).toEqual({ n: 7 })
  expect(runs).toBe(1)
  // A miss: its read, lease, computation and fenced write.
  expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
  expect(runs).toBe(2)
  expect(await within(cached(8), 2_000)).toEqual({ n: 8 })
  expect(runs).toBe(2)
  jest.useRealTimers()
  await storage.close?.()
})
