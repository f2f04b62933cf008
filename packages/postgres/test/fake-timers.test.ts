// A service's own tests often run under jest's default fake timers, which also fake queueMicrotask, setImmediate and
// process.nextTick. docs/recipes.md promises that hits and misses over a network storage answer there as with real
// timers: this file holds PostgreSQL's storage to it over the user's own pg.Client, against a real server. Not over
// a pg.Pool (a `url` or `pool`): pg-pool's checkout of an idle client waits on process.nextTick, so a raw pool.query
// hangs there too.
import { afterAll, afterEach, beforeAll, expect, it, jest } from '@jest/globals'
import { cacheValue } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'
import pg from 'pg'
import { portFromEnv, testServer, uniqueTable } from './server'

const table = uniqueTable('faketimers')
// Taken before any test fakes the clock: the bound on how long a read may take stays a real one.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout
let url = ''
let client: pg.Client
let stopServer: () => Promise<void> = async () => undefined

beforeAll(async () => {
  const server = await testServer(portFromEnv('MEMOKIT_PG_FAKE_TIMERS_PORT', 25437))
  url = server.url
  stopServer = server.stop
  client = new pg.Client({ connectionString: url })
  client.on('error', () => undefined)
  await client.connect()
}, 30_000)

afterEach(() => {
  jest.useRealTimers()
})

afterAll(async () => {
  await client?.query(`DROP TABLE IF EXISTS ${table}`)
  await client?.end()
  await stopServer()
}, 30_000)

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
  const storage = postgresStorage({ client, table, prefix: 'faketimers' })
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
    await storage.close()
  }
})
