// Options, scope, table names, LIKE escaping and the pruning job; plus a script that never calls close().
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { ConfigError, createCodec } from '@memokit/core'
import { defaultPrefix } from '@memokit/core/backend'
import { type PgPoolLike, postgresStorage } from '@memokit/postgres'
import pg from 'pg'
import { createPruner, MAX_BATCHES_PER_ROUND } from '../src/prune'
import { poolConfig } from '../src/server'
import { startsWithPattern, statements, tableName } from '../src/sql'
import { portFromEnv, testServer, uniqueTable } from './server'

const ROOT = resolve(__dirname, '../../..')
const FIXTURE = resolve(__dirname, 'fixtures/no-close.ts')

let url = ''
let stopServer: () => Promise<void> = async () => undefined
let admin: pg.Pool
const tables = new Set<string>()

beforeAll(async () => {
  const server = await testServer(portFromEnv('MEMOKIT_PG_OPTIONS_PORT', 25434))
  url = server.url
  stopServer = server.stop
  admin = new pg.Pool({ connectionString: url, max: 2 })
}, 30_000)

afterAll(async () => {
  for (const name of tables) await admin.query(`DROP TABLE IF EXISTS ${name}`)
  await admin.end()
  await stopServer()
}, 30_000)

const exists = async (name: string): Promise<boolean> =>
  (await admin.query('SELECT to_regclass($1) AS r', [name])).rows[0].r !== null

/** Expects `make` to throw a ConfigError for `option` whose message matches `message`. */
function refuses(make: () => unknown, option: string, message?: RegExp): ConfigError {
  let error: unknown
  try {
    make()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(ConfigError)
  expect(error).toMatchObject({ option, code: 'E_CONFIG' })
  if (message !== undefined) expect((error as Error).message).toMatch(message)
  return error as ConfigError
}

const create = (options: unknown) => () => postgresStorage(options as Parameters<typeof postgresStorage>[0])

describe('options', () => {
  it('are checked before anything is created or connected', async () => {
    const table = uniqueTable('opts')
    tables.add(table)
    const pool = { connect: jest.fn(() => Promise.reject(new Error('must not connect'))) }
    refuses(create({ pool, table, tables: 'x' }), 'tables', /did you mean 'table'\?/)
    refuses(create({ url, table, ttl: 5 }), 'ttl', /valid options are url, pool, client, table/)
    refuses(create({ url, table, createTable: 'yes' }), 'createTable', /true or false/)
    refuses(create({ pool, table, operationTimeoutMs: 0 }), 'operationTimeoutMs')
    refuses(create({ pool, table, pruneIntervalMs: -1 }), 'pruneIntervalMs', /integer >= 0/)
    refuses(create({ pool, table, pruneIntervalMs: 1.5 }), 'pruneIntervalMs')
    refuses(create({ pool, table, pruneBatchSize: 0 }), 'pruneBatchSize', /integer >= 1/)
    refuses(create({ pool, table, codec: {} }), 'codec')
    refuses(create({ pool, table, prefix: '\uD800' }), 'prefix')
    expect(pool.connect).not.toHaveBeenCalled()
    expect(await exists(table)).toBe(false)
  })

  it('need exactly one of url, pool or client, each of the right kind; a URL never shows its password', () => {
    refuses(create({}), 'url', /exactly one of url, pool or client, got none/)
    refuses(create({ url, pool: new pg.Pool() }), 'pool', /got url and pool/)
    refuses(create({ pool: {} }), 'pool', /pg\.Pool/)
    refuses(create({ client: { connect() {} } }), 'client', /pg\.Client/)
    refuses(create({ connectionString: url }), 'connectionString', /pass the connection string as url/)
    const bad = refuses(create({ url: 'mysql://app:hunter2@db:3306/x' }), 'url', /postgres:\/\/ or postgresql:\/\//)
    expect(bad.message).not.toContain('hunter2')
    const asString = refuses(create('postgres://app:hunter2@db/x'), 'options', /pass \{ url \}/)
    expect(asString.message).not.toContain('hunter2')
  })

  it('take table names PostgreSQL and memokit agree on', () => {
    for (const bad of ['', 'Memo', '1abc', 'a-b', 'a.b.c', 'a b', '"x"', 'x;drop', 'a'.repeat(53)]) {
      refuses(() => tableName(bad), 'table')
    }
    refuses(create({ url, table: 7 }), 'table', /must be a string/)
    expect(tableName('a'.repeat(52))).toMatchObject({ index: `${'a'.repeat(52)}_expiry_idx` })
    expect(tableName('cache.memo')).toEqual({ name: 'cache.memo', sql: '"cache"."memo"', index: 'memo_expiry_idx' })
  })
})

describe('the pool built from url', () => {
  it('times out statements with the operation, commits without waiting for the WAL flush, lets the URL win', async () => {
    const pool = new pg.Pool({ ...poolConfig(url, 750), max: 1 })
    const show = async (name: string) => Object.values((await pool.query(`SHOW ${name}`)).rows[0])[0]
    expect(await show('statement_timeout')).toBe('750ms')
    expect(await show('synchronous_commit')).toBe('off')
    await pool.end()
    const sep = url.includes('?') ? '&' : '?'
    const own = new pg.Pool({ ...poolConfig(`${url}${sep}options=-c%20synchronous_commit%3Don`, 750), max: 1 })
    expect(Object.values((await own.query('SHOW synchronous_commit')).rows[0])[0]).toBe('on')
    await own.end()
  })
})

describe('scope', () => {
  it('names host, port, database, table and prefix, never credentials, the same by url, pool and client', async () => {
    const withPassword = url.replace(/^postgres:\/\/([^@/]*@)?/, 'postgres://app:hunter2@')
    const pool = new pg.Pool({ connectionString: withPassword })
    const client = new pg.Client({ connectionString: withPassword })
    const made = [
      postgresStorage({ url: withPassword, table: 'memo', prefix: 'a/b' }),
      postgresStorage({ pool, table: 'memo', prefix: 'a/b' }),
      postgresStorage({ client, table: 'memo', prefix: 'a/b' }),
    ]
    const { host, port } = new URL(url)
    const expected = `postgres://${host.replace(/:\d+$/, '')}:${port || 5432}${decodeURIComponent(new URL(url).pathname)}/memo?prefix=a%2Fb`
    expect(made.map((s) => s.scope)).toEqual([expected, expected, expected])
    for (const s of made) expect(s.scope).not.toContain('hunter2')
    expect(postgresStorage({ pool, table: 'other', prefix: 'a/b' }).scope).not.toBe(expected)
    for (const s of made) await s.close()
    await pool.end()
  })

  it('falls back to the object for a pool that does not tell where it connects', () => {
    const pool: PgPoolLike = { connect: () => Promise.reject(new Error('unused')) }
    const a = postgresStorage({ pool, table: 'memo', prefix: 'p' })
    const b = postgresStorage({ pool, table: 'memo', prefix: 'p' })
    const c = postgresStorage({ pool: { ...pool }, table: 'memo', prefix: 'p' })
    expect(a.scope).toMatch(/^postgres:\/\/pg-pool#\d+\/memo\?prefix=p$/)
    expect(b.scope).toBe(a.scope)
    expect(c.scope).not.toBe(a.scope)
  })

  it('uses the default prefix memokit/<package name>', async () => {
    const storage = postgresStorage({ url, table: 'memo' })
    expect(storage.scope).toContain(`?prefix=${encodeURIComponent(defaultPrefix('postgresStorage'))}`)
    expect(storage.scope).toContain('prefix=memokit%2Fmemokit-monorepo')
    await storage.close()
  })
})

describe('sql', () => {
  it('escapes LIKE characters in key prefixes', () => {
    expect(startsWithPattern('f(a_b):')).toBe('f(a\\_b):%')
    expect(startsWithPattern('100%\\')).toBe('100\\%\\\\%')
    expect(startsWithPattern('plain')).toBe('plain%')
  })

  it('creates the table with exactly the README statement', () => {
    const readme = readFileSync(resolve(__dirname, '../README.md'), 'utf8')
    const block = /```sql\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(block?.trim()).toBe(`${statements(tableName('memokit_cache'), false).create};`)
    expect(statements(tableName('memokit_cache'), true).create).toMatch(/^CREATE UNLOGGED TABLE IF NOT EXISTS /)
  })

  it('stores a codec payload as its UTF-8 bytes, with meta', async () => {
    const table = uniqueTable('bytes')
    tables.add(table)
    const codec = createCodec()
    const storage = postgresStorage({ url, table, prefix: 'p', codec })
    await storage.set('ns', 'k', 'ü', { meta: { promise: true } })
    const raw = (await admin.query(`SELECT value FROM ${table}`)).rows[0].value as Buffer
    expect(codec.decodeEntry(raw.toString('utf8'))).toMatchObject({ value: 'ü', meta: { promise: true } })
    await storage.close()
  })
})

describe('the pruning job', () => {
  afterAll(() => {
    jest.useRealTimers()
  })

  it('starts on first use, deletes batches until one comes back short (at most 10), never overlaps, stops', async () => {
    jest.useFakeTimers()
    const answers = [2, 2, 1, ...Array(30).fill(2)]
    const calls: number[] = []
    const pruner = createPruner(1000, 2, async () => {
      calls.push(Date.now())
      return answers.shift() as number
    })
    await jest.advanceTimersByTimeAsync(5000)
    expect(calls).toHaveLength(0)
    pruner.start()
    pruner.start()
    await jest.advanceTimersByTimeAsync(999)
    expect(calls).toHaveLength(0)
    await jest.advanceTimersByTimeAsync(101)
    expect(calls).toHaveLength(3)
    await jest.advanceTimersByTimeAsync(1100)
    expect(calls).toHaveLength(3 + MAX_BATCHES_PER_ROUND)
    await pruner.stop()
    await jest.advanceTimersByTimeAsync(10_000)
    expect(calls).toHaveLength(3 + MAX_BATCHES_PER_ROUND)
    jest.useRealTimers()
  })

  it('survives a failed round and is off with interval 0', async () => {
    jest.useFakeTimers()
    let n = 0
    const failing = createPruner(100, 5, async () => {
      n++
      throw new Error('down')
    })
    failing.start()
    await jest.advanceTimersByTimeAsync(350)
    expect(n).toBeGreaterThanOrEqual(2)
    await failing.stop()
    const off = createPruner(0, 5, async () => {
      n = -1000
      return 0
    })
    off.start()
    await jest.advanceTimersByTimeAsync(10_000)
    expect(n).toBeGreaterThan(0)
    jest.useRealTimers()
  })
})

describe('a script that never calls close()', () => {
  it('exits by itself right after its cache hit', async () => {
    const table = uniqueTable('noclose')
    tables.add(table)
    const started = performance.now()
    const result = await new Promise<{ stdout: string; failed: boolean }>((done) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', FIXTURE, url, table],
        { cwd: ROOT, timeout: 15_000, killSignal: 'SIGKILL' },
        (error, stdout) => done({ stdout, failed: error !== null }),
      )
    })
    expect(result.failed).toBe(false)
    expect(JSON.parse(result.stdout)).toEqual({ first: 49, second: 49, calls: 1 })
    // tsx start-up included; a pool or timer holding the event loop open would run into the 15 s kill instead.
    expect(performance.now() - started).toBeLessThan(8000)
  }, 20_000)
})
