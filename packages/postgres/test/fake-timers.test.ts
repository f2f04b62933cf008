// A service's own tests often run under jest's default fake timers. docs/recipes.md promises that memokit's hits and
// misses answer there as with real timers: held here for PostgreSQL over the user's own pg.Client, against a real
// server. Not over a pg.Pool (a `url` or `pool`): pg-pool's checkout of an idle client waits on process.nextTick,
// so a raw pool.query waits for the clock too.
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals'
import { postgresStorage } from '@memokit/postgres'
import { runFakeTimersChecks } from '@memokit/storage-test-suite'
import pg from 'pg'
import { portFromEnv, testServer, uniqueTable } from './server'

const table = uniqueTable('faketimers')
let client: pg.Client
let stopServer: () => Promise<void> = async () => undefined

beforeAll(async () => {
  const server = await testServer(portFromEnv('MEMOKIT_PG_FAKE_TIMERS_PORT', 25437))
  stopServer = server.stop
  client = new pg.Client({ connectionString: server.url })
  client.on('error', () => undefined)
  await client.connect()
}, 30_000)

afterAll(async () => {
  await client?.query(`DROP TABLE IF EXISTS ${table}`)
  await client?.end()
  await stopServer()
}, 30_000)

runFakeTimersChecks(
  { describe, it },
  {
    name: 'postgres over a pg.Client',
    open: ({ prefix }) => postgresStorage({ client, table, prefix }),
    fake: () => jest.useFakeTimers(),
    restore: () => jest.useRealTimers(),
  },
)
