// @memokit/postgres against a real PostgreSQL: the contract suite three ways (url, own pool, own client), then
// what is specific to this backend. Every table here has a random name and is dropped at the end.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { CodecError, cacheValue, type ErrorReport, StorageError } from '@memokit/core'
import { type PostgresStorage, postgresStorage } from '@memokit/postgres'
import { runStorageContract } from '@memokit/storage-test-suite'
import pg from 'pg'
import { portFromEnv, rand, testServer, uniqueTable } from './server'

let url = ''
let stopServer: () => Promise<void> = async () => undefined
let admin: pg.Pool
let userPool: pg.Pool
let userClient: pg.Client
const table = uniqueTable('main')
const otherTable = `${table}_b`
const tables = new Set([table, otherTable])

beforeAll(async () => {
  const server = await testServer(portFromEnv('MEMOKIT_PG_PORT', 25433))
  url = server.url
  stopServer = server.stop
  admin = new pg.Pool({ connectionString: url, max: 2 })
  // Commits that don't wait for the WAL flush, as the pool built from a URL does: the suite's thousands of writes
  // take a third of the time on a busy machine.
  const options = '-c synchronous_commit=off'
  userPool = new pg.Pool({ connectionString: url, max: 4, options })
  userPool.on('error', () => undefined)
  userClient = new pg.Client({ connectionString: url, options })
  userClient.on('error', () => undefined)
  await userClient.connect()
}, 30_000)

afterAll(async () => {
  for (const name of tables) await admin.query(`DROP TABLE IF EXISTS ${name}`)
  await userClient.end()
  await userPool.end()
  await admin.end()
  await stopServer()
}, 30_000)

/** The same server under another spelling, with a password (trust auth ignores it) that must never show. */
const otherSpelling = (): string => url.replace(/^postgres:\/\/([^@/]*@)?/, 'postgresql://postgres:s3cret-pw@')

/**
 * Connected before the suite gets it: a new pool's first call waits for a new server process, which on a loaded
 * machine can take longer than the suite's TTL slack (40 ms) allows between two writes it times together.
 */
async function warm(storage: PostgresStorage): Promise<PostgresStorage> {
  await storage.get('warm', 'up')
  return storage
}

runStorageContract(
  // concurrent: the tests that wait on the real clock (TTLs, lease lapses; own storages) run side by side.
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'postgres (url)',
    create: ({ prefix }) => warm(postgresStorage({ url, table, prefix })),
    scope: {
      createSame: ({ prefix }) => postgresStorage({ url: otherSpelling(), table, prefix }),
      createElsewhere: ({ prefix }) => postgresStorage({ url, table: otherTable, prefix }),
      secrets: ['s3cret-pw'],
    },
  },
)

runStorageContract(
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'postgres (own pool)',
    create: ({ prefix }) => postgresStorage({ pool: userPool, table, prefix }),
    scope: { createSame: ({ prefix }) => postgresStorage({ url, table, prefix }) },
  },
)

runStorageContract(
  { describe, it, concurrent: it.concurrent, beforeAll, afterAll },
  {
    name: 'postgres (own client)',
    create: ({ prefix }) => postgresStorage({ client: userClient, table, prefix }),
    scope: { createSame: ({ prefix }) => postgresStorage({ pool: userPool, table, prefix }) },
  },
)

/** A storage on a fresh table of its own (dropped in afterAll). */
function fresh(options: Record<string, unknown> = {}) {
  const name = (options.table as string | undefined) ?? uniqueTable('t')
  tables.add(name)
  return { storage: postgresStorage({ pool: userPool, prefix: `p-${rand()}`, ...options, table: name }), name }
}

const rows = async (name: string, where = 'true'): Promise<number> =>
  Number((await admin.query(`SELECT count(*)::int AS n FROM ${name} WHERE ${where}`)).rows[0].n)

describe('the table', () => {
  it('is created once, on first use, with its expiry index; UNLOGGED on request', async () => {
    const { storage, name } = fresh({ unlogged: true })
    const exists = async () => (await admin.query('SELECT to_regclass($1) AS r', [name])).rows[0].r !== null
    expect(await exists()).toBe(false)
    await Promise.all([storage.get('ns', 'a'), storage.set('ns', 'b', 1)])
    expect(await exists()).toBe(true)
    const info = await admin.query('SELECT relpersistence FROM pg_class WHERE oid = $1::regclass', [name])
    expect(info.rows[0].relpersistence).toBe('u')
    const columns = await admin.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
      [name],
    )
    expect(columns.rows.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable}`)).toEqual([
      'prefix bytea NO',
      'namespace bytea NO',
      'key bytea NO',
      'value bytea NO',
      'expires_at bigint YES',
    ])
    const indexes = await admin.query('SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1', [name])
    expect(indexes.rows.map((r) => r.indexname)).toEqual([`${name}_expiry_idx`, `${name}_pkey`])
    await storage.close()
  })

  it('is logged by default, and two storages creating it at once both succeed', async () => {
    const name = uniqueTable('race')
    const a = fresh({ table: name }).storage
    const b = postgresStorage({ url, table: name, prefix: 'x' })
    await Promise.all([a.set('ns', 'k', 1), b.set('ns', 'k', 2)])
    const info = await admin.query('SELECT relpersistence FROM pg_class WHERE oid = $1::regclass', [name])
    expect(info.rows[0].relpersistence).toBe('p')
    await Promise.all([a.close(), b.close()])
  })

  it('createTable: false never creates it, names it in the error, and works once the README SQL made it', async () => {
    const { storage, name } = fresh({ createTable: false })
    const error = await storage.get('ns', 'k').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as Error).message).toMatch(new RegExp(`postgres get on 127\\.0\\.0\\.1:\\d+/\\w+, table ${name}`))
    expect((error as Error).message).toContain('see the README, "Table"')
    expect((await admin.query('SELECT to_regclass($1) AS r', [name])).rows[0].r).toBeNull()
    await admin.query((await readmeSql()).replaceAll('memokit_cache', name))
    await storage.set('ns', 'k', 'v')
    expect((await storage.get('ns', 'k'))?.value).toBe('v')
    await storage.close()
  })

  it('may live in a schema', async () => {
    const schema = `memokit_s_${rand()}`
    await admin.query(`CREATE SCHEMA ${schema}`)
    try {
      const storage = postgresStorage({ url, table: `${schema}.cache`, prefix: 'p' })
      await storage.set('ns', 'k', 'v')
      expect(await rows(`${schema}.cache`)).toBe(1)
      expect(storage.scope).toContain(`/${schema}.cache?prefix=p`)
      await storage.close()
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    }
  })
})

async function readmeSql(): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const text = await readFile(new URL('../README.md', `file://${__filename}`), 'utf8')
  const block = /```sql\n([\s\S]*?)```/.exec(text)?.[1]
  if (block === undefined) throw new Error('README has no sql block')
  return block
}

describe('expiry', () => {
  it('hides an expired row from get, delete and add, though it is still stored', async () => {
    const { storage, name } = fresh()
    await storage.set('ns', 'k', 'old', { ttl: 20 })
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(await storage.get('ns', 'k')).toBeUndefined()
    expect(await rows(name)).toBe(1)
    expect(await storage.add('ns', 'k', 'new')).toBe(true)
    expect((await storage.get('ns', 'k'))?.value).toBe('new')
    await storage.set('ns', 'gone', 1, { ttl: 20 })
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(await storage.delete('ns', 'gone')).toBe(false)
    await storage.close()
  })

  it('counts a row whose expires_at is now as expired for get, delete and add', async () => {
    const { storage } = fresh()
    const written = Date.now()
    const clock = jest.spyOn(Date, 'now').mockReturnValue(written)
    try {
      for (const k of ['get', 'delete', 'add']) await storage.set('ns', k, k, { ttl: 1000 })
      clock.mockReturnValue(written + 1000)
      expect(await storage.get('ns', 'get')).toBeUndefined()
      expect(await storage.delete('ns', 'delete')).toBe(false)
      expect(await storage.add('ns', 'add', 'added')).toBe(true)
      expect((await storage.get('ns', 'add'))?.value).toBe('added')
    } finally {
      clock.mockRestore()
      await storage.close()
    }
  })

  it('prunes expired rows in the background (all prefixes), leaving live ones; close() stops it', async () => {
    const { storage, name } = fresh({ pruneIntervalMs: 100, pruneBatchSize: 2 })
    const other = postgresStorage({ pool: userPool, table: name, prefix: 'other', pruneIntervalMs: 0 })
    for (let i = 0; i < 5; i++) await storage.set('ns', `dead${i}`, i, { ttl: 1 })
    await other.set('ns', 'dead', 1, { ttl: 1 })
    await other.set('ns', 'live', 1)
    await storage.set('ns', 'live', 1, { ttl: 60_000 })
    const start = Date.now()
    while ((await rows(name)) > 2 && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20))
    expect(await rows(name)).toBe(2)
    await storage.close()
    await other.set('ns', 'dead2', 1, { ttl: 1 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await rows(name)).toBe(3)
    await other.close()
  })

  it('stores the expiry as whole ms in expires_at, and none without a ttl', async () => {
    const { storage, name } = fresh()
    const before = Date.now()
    await storage.set('ns', 'k', 1, { ttl: 1000.2 })
    await storage.set('ns', 'forever', 1)
    const result = await admin.query(`SELECT expires_at FROM ${name} ORDER BY expires_at NULLS LAST`)
    const at = Number(result.rows[0].expires_at)
    expect(at).toBeGreaterThanOrEqual(before + 1001)
    expect(at).toBeLessThanOrEqual(Date.now() + 1001)
    expect((await storage.get('ns', 'k'))?.expiresAt).toBe(at)
    expect(result.rows[1].expires_at).toBeNull()
    await storage.close()
  })
})

describe('add', () => {
  it('of one new key by many callers at once: exactly one wins', async () => {
    const { storage, name } = fresh()
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => storage.add('ns', 'lock', i)))
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await rows(name)).toBe(1)
    await storage.close()
  })

  it('over an expired row by many callers at once: exactly one wins, over separate pools', async () => {
    const { storage, name } = fresh()
    const prefix = `p-${rand()}`
    const a = postgresStorage({ url, table: name, prefix })
    const b = postgresStorage({ url, table: name, prefix })
    await a.set('ns', 'lock', 'old', { ttl: 1 })
    await new Promise((resolve) => setTimeout(resolve, 10))
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).add('ns', 'lock', i)))
    expect(results.filter(Boolean)).toHaveLength(1)
    const winner = results.indexOf(true)
    expect((await a.get('ns', 'lock'))?.value).toBe(winner)
    await Promise.all([storage.close(), a.close(), b.close()])
  })
})

describe('clear', () => {
  it('by key prefix treats LIKE characters literally', async () => {
    const { storage } = fresh()
    const keys = ['a%b', 'a_b', 'axb', 'a\\b', 'ab', 'a%', 'a\\%']
    for (const key of keys) await storage.set('ns', key, key)
    const left = async () => {
      const present: string[] = []
      for (const key of keys) if ((await storage.get('ns', key)) !== undefined) present.push(key)
      return present
    }
    await storage.clear('ns', 'a%')
    expect(await left()).toEqual(['a_b', 'axb', 'a\\b', 'ab', 'a\\%'])
    await storage.clear('ns', 'a_')
    expect(await left()).toEqual(['axb', 'a\\b', 'ab', 'a\\%'])
    await storage.clear('ns', 'a\\')
    expect(await left()).toEqual(['axb', 'ab'])
    await storage.close()
  })
})

describe('rows', () => {
  it('a corrupt value makes get throw a CodecError (core reads it as a miss)', async () => {
    const { storage, name } = fresh()
    await storage.set('ns', 'k', 'v')
    await admin.query(`UPDATE ${name} SET value = '\\x00ff'::bytea`)
    await expect(storage.get('ns', 'k')).rejects.toBeInstanceOf(CodecError)
    await storage.close()
  })

  it('keys and namespaces are stored as their UTF-8 bytes, NUL and all', async () => {
    const { storage, name } = fresh()
    await storage.set('n\0s', 'k\0ü', 1)
    const row = await admin.query(`SELECT namespace, key, value FROM ${name}`)
    expect(row.rows[0].namespace).toEqual(Buffer.from('n\0s'))
    expect(row.rows[0].key).toEqual(Buffer.from('k\0ü'))
    expect(row.rows[0].value.toString('utf8')).toMatch(/^e\d+,,/)
    await expect(storage.set('ns', '\uD800', 1)).rejects.toBeInstanceOf(StorageError)
    await storage.close()
  })
})

describe('through cacheValue', () => {
  it('caches a call in the table', async () => {
    const { storage, name } = fresh()
    let calls = 0
    const double = cacheValue(
      async (n: number) => {
        calls++
        return n * 2
      },
      { storage, name: `double-${rand()}`, ttl: 60_000 },
    )
    expect(await double(21)).toBe(42)
    expect(await double(21)).toBe(42)
    expect(calls).toBe(1)
    expect(await rows(name)).toBe(1)
    await storage.close()
  })

  it('a missing table fails open and tells onError, naming the server and the table', async () => {
    const { storage, name } = fresh({ createTable: false })
    const reports: ErrorReport[] = []
    const double = cacheValue(async (n: number) => n * 2, {
      storage,
      name: `double-${rand()}`,
      onError: (report) => reports.push(report),
    })
    expect(await double(2)).toBe(4)
    expect(reports[0]?.error).toBeInstanceOf(StorageError)
    expect(String((reports[0]?.error as Error | undefined)?.message)).toContain(`table ${name}`)
    await storage.close()
  })
})

describe('a client passed in', () => {
  it('runs one query at a time on it: pg 8 queues the rest with a deprecation warning, pg 9 not at all', async () => {
    let active = 0
    let most = 0
    // The user's client as memokit sees it, counting the queries under way at once.
    const counting = {
      query: async (config: { text: string; values?: unknown[] }) => {
        active++
        most = Math.max(most, active)
        try {
          return await userClient.query(config)
        } finally {
          active--
        }
      },
    }
    const storage = postgresStorage({ client: counting, table, prefix: `one-${Date.now()}` })
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    await Promise.all(keys.map((key, i) => storage.set('ns', key, i)))
    const values = await Promise.all(keys.map((key) => storage.get('ns', key)))
    expect(values.map((entry) => entry?.value)).toEqual(keys.map((_, i) => i))
    await Promise.all(keys.map((key) => storage.delete('ns', key)))
    expect(most).toBe(1)
    await storage.close()
  })
})

describe('close', () => {
  it('ends the pool built from url, leaves a pool or client passed in open; later calls reject', async () => {
    const name = uniqueTable('close')
    tables.add(name)
    const own = postgresStorage({ url, table: name, prefix: 'p' })
    const pooled = postgresStorage({ pool: userPool, table: name, prefix: 'p' })
    const single = postgresStorage({ client: userClient, table: name, prefix: 'p' })
    for (const s of [own, pooled, single]) await s.set('ns', 'k', 1)
    await Promise.all([own.close(), pooled.close(), single.close()])
    await own.close()
    expect((await userPool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    expect((await userClient.query('SELECT 1 AS one')).rows[0].one).toBe(1)
    for (const s of [own, pooled, single]) {
      await expect(s.get('ns', 'k')).rejects.toMatchObject({ name: 'StorageError', op: 'get' })
    }
  })
})
