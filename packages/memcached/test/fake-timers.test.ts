// A service's own tests often run under jest's default fake timers, which fake queueMicrotask too. A tick's memjs
// reads are sent in one batch from a microtask, which must not wait for the clock (it was a queueMicrotask: every
// read hung where a raw memjs get answers). Against a real memcached this file starts.
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'
import memjs from 'memjs'
import { fromMemjs, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FAKE_TIMERS_PORT', 11338)
// Taken before any test fakes the clock.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout
let server: MemcachedServer
let client: memjs.Client

beforeAll(async () => {
  server = await startMemcached(PORT)
  client = memjs.Client.create(server.address, { logger: { log: () => undefined }, timeout: 2, retries: 1 })
}, 15_000)

afterAll(async () => {
  client?.close()
  await server?.stop()
}, 15_000)

runFakeTimersChecks(
  { describe, it },
  {
    name: 'memcached over memjs',
    open: ({ prefix }) => memcachedStorage({ client: fromMemjs(client), prefix }),
    fake: () => jest.useFakeTimers(),
    restore: () => jest.useRealTimers(),
  },
)

// A refused write's key stays ordered until a turn of the event loop after its last reply (a branch of the failed
// write may still send a command): that turn must be the event loop's, not a timer the test fakes.
describe('memcached under fake timers, after a refused write', () => {
  it('answers a delete of the key', async () => {
    const storage = memcachedStorage({ client: fromMemjs(client), prefix: `refused-${process.pid}` })
    jest.useFakeTimers()
    let timer: NodeJS.Timeout | undefined
    try {
      // Over memcached's 1 MB item limit: the server refuses it.
      await expect(storage.set('ns', 'k', 'x'.repeat(2_000_000))).rejects.toThrow(/refused/)
      const late = new Promise<'no answer'>((resolve) => {
        timer = realSetTimeout(() => resolve('no answer'), 2_000)
      })
      expect(await Promise.race([storage.delete('ns', 'k'), late])).toBe(false)
    } finally {
      realClearTimeout(timer)
      jest.useRealTimers()
      // Bounded: close() waits for the key's writes, which hang with the delete when they do.
      await Promise.race([storage.close(), new Promise((resolve) => realSetTimeout(resolve, 2_000))])
    }
  })
})
