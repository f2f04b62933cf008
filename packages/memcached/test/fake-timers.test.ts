// A service's own tests often run under jest's default fake timers, which fake queueMicrotask too. A tick's memjs
// reads are sent in one batch from a microtask, which must not wait for the clock (it was a queueMicrotask: every
// read hung where a raw memjs get answers). Against a real memcached this file starts.
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'
import memjs from 'memjs'
import { fromMemjs, memcachedStorage } from '../src'
import { type MemcachedServer, portFromEnv, startMemcached } from './memcached-server'

const PORT = portFromEnv('MEMCACHED_FAKE_TIMERS_PORT', 11338)
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
