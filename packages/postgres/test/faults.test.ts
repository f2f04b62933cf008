// Faults of a real PostgreSQL of our own (it gets killed): hung (every process stopped), killed by PID with a write
// in flight and then restarted, and nothing listening. Calls must fail open within operationTimeoutMs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { type AsyncStorage, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { postgresStorage } from '@memokit/postgres'
import pg from 'pg'
import { startProxy } from '../../storage-test-suite/test/fixtures/holding-proxy'
import { type OwnServer, portFromEnv, portInUse, rand, startPostgres } from './server'

// The first bytes after the length of a CancelRequest (code 80877102), as the proxy's latin1 text.
const CANCEL_REQUEST = '\x04\xd2\x16\x2e'

const PORT = portFromEnv('MEMOKIT_PG_FAULT_PORT', 25432)
const TIMEOUT_MS = 400
// Timers fire late on a loaded machine: a failure must come within the timeout plus this.
const SLACK_MS = 600
const table = `memokit_faults_${rand()}`

let server: OwnServer

beforeAll(async () => {
  server = await startPostgres(PORT)
}, 60_000)

afterAll(async () => {
  await server?.stop()
}, 30_000)

/** Runs `op`, expects a StorageError, returns it and how long it took. */
async function failsWithin(op: () => Promise<unknown>): Promise<{ error: StorageError; ms: number }> {
  const start = Date.now()
  const error = await op().then(
    (value) => new Error(`expected a StorageError, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  )
  const ms = Date.now() - start
  expect(error).toBeInstanceOf(StorageError)
  expect(ms).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS)
  return { error: error as StorageError, ms }
}

const everyOp = (storage: AsyncStorage): Array<[string, () => Promise<unknown>]> => [
  ['get', () => storage.get('ns', 'k')],
  ['set', () => storage.set('ns', 'k', 'v', { ttl: 60_000 })],
  ['add', () => (storage.add as NonNullable<AsyncStorage['add']>)('ns', 'k2', 'v')],
  ['delete', () => storage.delete('ns', 'k')],
  ['clear', () => storage.clear('ns')],
  ['clear', () => storage.clear('ns', 'fn:')],
]

/** Retries `op` until it resolves, for up to `ms` (a pool reconnecting after a restart). */
async function eventually<T>(op: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    try {
      return await op()
    } catch (error) {
      if (Date.now() > end) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

function cachedDouble(storage: AsyncStorage, reports: ErrorReport[]) {
  return cacheValue(async (n: number) => n * 2, {
    storage,
    name: `double-${rand()}`,
    ttl: 60_000,
    onError: (report) => reports.push(report),
  })
}

describe('a hung server (SIGSTOP)', () => {
  it('fails every operation within operationTimeoutMs, and the pool recovers after more timeouts than connections', async () => {
    const storage = postgresStorage({ url: server.url, table, prefix: `p-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    await storage.set('ns', 'k', 1)
    server.freeze()
    try {
      for (const [op, run] of everyOp(storage)) {
        const { error } = await failsWithin(run)
        expect(error).toMatchObject({ storage: 'postgres', op, code: 'E_STORAGE' })
        expect(error.message).toContain(`127.0.0.1:${PORT}/postgres, table ${table}`)
      }
      // Twice the pool's 10 connections at once: each timed-out query gives its connection up.
      await Promise.all(Array.from({ length: 20 }, () => failsWithin(() => storage.get('ns', 'k'))))
      const reports: ErrorReport[] = []
      const start = Date.now()
      expect(await cachedDouble(storage, reports)(21)).toBe(42)
      expect(Date.now() - start).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS)
      expect(reports[0]?.error).toBeInstanceOf(StorageError)
    } finally {
      server.thaw()
    }
    expect((await eventually(() => storage.get('ns', 'k'), 5000))?.value).toBe(1)
    await storage.close()
  }, 60_000)
})

describe('statements stuck on a row lock', () => {
  it('give their pool connections up when they time out, so other keys still get served', async () => {
    // A pool of the user's without statement_timeout: only memokit's deadline ends the wait.
    const pool = new pg.Pool({ connectionString: server.url, max: 3 })
    pool.on('error', () => undefined)
    const storage = postgresStorage({ pool, table, prefix: `p-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    await storage.set('ns', 'locked', 'old')
    await storage.set('ns', 'free', 'ok')
    const holder = new pg.Client({ connectionString: server.url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query(`SELECT 1 FROM ${table} WHERE key = $1 FOR UPDATE`, [Buffer.from('locked')])
      // Twice the pool's connections, all stuck behind the lock until their deadline.
      await Promise.all(Array.from({ length: 6 }, () => failsWithin(() => storage.set('ns', 'locked', 'new'))))
      expect((await storage.get('ns', 'free'))?.value).toBe('ok')
    } finally {
      await holder.query('ROLLBACK')
      await holder.end()
    }
    await storage.close()
    await pool.end()
  }, 30_000)
})

describe('a cancel that reaches the server after its statement ended', () => {
  // PostgreSQL cancels what a connection runs when the cancel arrives, not the statement it was sent for. A
  // proxy (a fault a server can't produce on demand) holds the cancel back while the statement ends on its own.
  it('keeps the connection out of the pool until the server acted on it, so a query of the user that gets it next runs', async () => {
    const proxy = await startProxy(PORT)
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, max: 1 })
    pool.on('error', () => undefined)
    // The cancel is held for less than the timeout: memokit gives up a cancel the server has not read by then.
    const storage = postgresStorage({ pool, table, prefix: `p-${rand()}`, operationTimeoutMs: 2000 })
    await storage.set('ns', 'locked', 'old')
    const holder = new pg.Client({ connectionString: server.url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query(`SELECT 1 FROM ${table} WHERE key = $1 FOR UPDATE`, [Buffer.from('locked')])
      // 1.5 s: the set must end on its own (below) before its cancel arrives, however loaded the machine.
      const cancel = proxy.holdNext(CANCEL_REQUEST, 1500)
      await expect(storage.set('ns', 'locked', 'new')).rejects.toThrow('timed out after 2000 ms')
      // The lock goes: the set ends on its own while its cancel is still held back.
      await holder.query('ROLLBACK')
      // The pool's one connection: before the fix, the user's query got it at once and the cancel ended it.
      const { rows } = await pool.query('SELECT pg_sleep(2), 1 AS done')
      expect(rows[0]?.done).toBe(1)
      expect(cancel.received()).toContain(CANCEL_REQUEST)
      expect((await storage.get('ns', 'locked'))?.value).toBe('new')
    } finally {
      await holder.end()
      await storage.close()
      await pool.end()
      proxy.close()
    }
  }, 30_000)
})

describe('a killed server (SIGKILL by PID)', () => {
  it('fails a write in flight and the next cached calls open within the timeout, reports them, and resumes after a restart', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 4 })
    pool.on('error', () => undefined)
    const storage = postgresStorage({ pool, table, prefix: `p-${rand()}`, operationTimeoutMs: TIMEOUT_MS })
    const reports: ErrorReport[] = []
    const double = cachedDouble(storage, reports)
    expect(await double(1)).toBe(2)
    await storage.set('ns', 'held', 'old')
    // Another session holds the row, so this write waits on the server when the server dies.
    const holder = new pg.Client({ connectionString: server.url })
    holder.on('error', () => undefined)
    await holder.connect()
    await holder.query('BEGIN')
    await holder.query(`SELECT 1 FROM ${table} FOR UPDATE`)
    const start = Date.now()
    const inFlight = failsWithin(() => storage.set('ns', 'held', 'new'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    server.kill()
    const { error } = await inFlight
    expect(error).toMatchObject({ storage: 'postgres', op: 'set' })
    expect(Date.now() - start).toBeLessThanOrEqual(50 + TIMEOUT_MS + SLACK_MS)

    for (const n of [2, 3]) {
      const callStart = Date.now()
      expect(await double(n)).toBe(n * 2)
      expect(Date.now() - callStart).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS)
    }
    expect(reports.length).toBeGreaterThanOrEqual(2)
    for (const report of reports) {
      expect(report.error).toBeInstanceOf(StorageError)
      expect((report.error as Error).message).toContain(`127.0.0.1:${PORT}/postgres`)
    }

    await server.restart()
    await eventually(() => storage.set('ns', 'back', 1), 5000)
    expect((await storage.get('ns', 'back'))?.value).toBe(1)
    await holder.end().catch(() => undefined)
    await storage.close()
    await pool.end()
  }, 60_000)
})

describe('a user that may not create tables', () => {
  it('gets an error saying to create the table and pass createTable: false, which then works', async () => {
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    const role = `memokit_limited_${rand()}`
    const limitedTable = `memokit_limited_${rand()}`
    // PostgreSQL 15 no longer lets every user create tables in schema public: this role can only use them.
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    const url = server.url.replace('postgres://postgres@', `postgres://${role}@`)
    const storage = postgresStorage({ url, table: limitedTable, prefix: 'p', operationTimeoutMs: 2000 })
    const error = await storage.set('ns', 'k', 1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(/permission denied.*pass createTable: false/)
    await admin.query(`CREATE TABLE ${limitedTable} (LIKE ${table} INCLUDING ALL)`)
    await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${limitedTable} TO ${role}`)
    const granted = postgresStorage({ url, table: limitedTable, prefix: 'p', createTable: false })
    await granted.set('ns', 'k', 1)
    expect((await granted.get('ns', 'k'))?.value).toBe(1)
    await Promise.all([storage.close(), granted.close()])
    await admin.end()
  }, 30_000)
})

describe('nothing listening', () => {
  it('fails every operation within the timeout, naming the server and the refusal', async () => {
    const port = portFromEnv('MEMOKIT_PG_DEAD_PORT', 25435)
    expect(await portInUse(port)).toBe(false)
    const storage = postgresStorage({
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      table,
      prefix: 'p',
      operationTimeoutMs: TIMEOUT_MS,
    })
    for (const [op, run] of everyOp(storage)) {
      const { error } = await failsWithin(run)
      expect(error).toMatchObject({ op })
      expect(error.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}/postgres.*ECONNREFUSED`))
    }
    await storage.close()
  }, 30_000)
})
