// A server of the test file's own with a table name of its own, an admin pool (to slow the table down with a trigger
// function named `slow`) and a pool of the user's own: the setup the write-order tests share.
import { afterAll, beforeAll } from '@jest/globals'
import pg from 'pg'
import { portFromEnv, testServer, uniqueTable } from './server'

export interface SlowablePools {
  /** The storage's table: a fresh name. */
  readonly table: string
  /** The name of the trigger function (and trigger) a test creates to slow writes; dropped at the end. */
  readonly slow: string
  readonly admin: pg.Pool
  /** A pool of the user's own, without statement_timeout: nothing on the server ends a slow statement by itself. */
  readonly userPool: pg.Pool
}

/**
 * Registers the file's beforeAll (starts the server on the port in `portVariable`, `defaultPort` when unset, and
 * opens the pools) and afterAll (drops the table and `slow`, ends the pools, stops the server). The pools are
 * there once beforeAll ran.
 */
export function useSlowablePools(label: string, portVariable: string, defaultPort: number): SlowablePools {
  const table = uniqueTable(label)
  const slow = `${table}_slow`
  let stopServer: () => Promise<void> = async () => undefined
  // Set by beforeAll, before any test reads them.
  let admin!: pg.Pool
  let userPool!: pg.Pool

  beforeAll(async () => {
    const server = await testServer(portFromEnv(portVariable, defaultPort))
    stopServer = server.stop
    admin = new pg.Pool({ connectionString: server.url, max: 2 })
    userPool = new pg.Pool({ connectionString: server.url, max: 4 })
    userPool.on('error', () => undefined)
  }, 30_000)

  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`)
    await admin.query(`DROP FUNCTION IF EXISTS ${slow}() CASCADE`)
    await userPool.end()
    await admin.end()
    await stopServer()
  }, 30_000)

  return {
    table,
    slow,
    get admin() {
      return admin
    },
    get userPool() {
      return userPool
    },
  }
}
