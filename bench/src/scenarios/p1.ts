import { randomBytes } from 'node:crypto'
import { createCodec } from '@memokit/core'
import pg from 'pg'
import { type BenchConfig, type Contender, compileLoop, measure, type Row, rowsTable } from '../harness'
import { loadMemokit } from '../memokit'
import { HOT, hitLoop, message, TTL_MS, type Value, valueFor } from '../redis-common'
import { assertSame, type Scenario } from './types'

// node-postgres's default pool size: every contender has that many connections.
const IN_FLIGHT = 10

type Call = (k: number) => Promise<unknown>

interface PostgresModule {
  readonly postgresStorage: (options: Record<string, unknown>) => {
    get(namespace: string, key: string): Promise<unknown>
    close(): Promise<void>
  }
}

const count = (r: string): string => `if (${r} !== undefined) s++`
const LOOPS = { hitN: hitLoop(IN_FLIGHT, count), hit1: hitLoop(1, count) } as const

async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (error) {
    return message(error)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The rows memokit wrote for the hot keys, by the `id` of their value: the raw baseline selects exactly these rows
 * with the statement memokit's `get` sends.
 */
async function rowsById(pool: pg.Pool, table: string, prefix: string): Promise<[Buffer, Buffer][]> {
  const codec = createCodec()
  const result = await pool.query(`SELECT namespace, key, value FROM ${table} WHERE prefix = $1`, [Buffer.from(prefix)])
  const rows: [Buffer, Buffer][] = []
  for (const row of result.rows) {
    const { id } = codec.decodeEntry((row.value as Buffer).toString('utf8')).value as Value
    rows[id] = [row.namespace, row.key]
  }
  if (rows.filter(Boolean).length !== HOT) throw new Error(`P1: expected ${HOT} rows, found ${result.rows.length}`)
  return rows
}

/** P1: a Postgres hit through memokit against a raw `pg` SELECT of the same row. */
export const p1: Scenario = {
  id: 'P1',
  title: 'PostgreSQL, ~1 KB JSON value (baseline: pg SELECT of the same row)',
  async run(cfg: BenchConfig, log) {
    const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
    const skip = (why: string) => ({ id: 'P1', title: this.title, rows: [], lines: [`P1 skipped: ${why}`] })
    const down = await reachable(url)
    if (down !== undefined) return skip(`PostgreSQL at ${url} unreachable (${down})`)
    const [mk, mp] = await Promise.all([
      loadMemokit(),
      import('@memokit/postgres').then(
        (m) => m as unknown as PostgresModule,
        (error: unknown) => message(error),
      ),
    ])
    if (!mk.cacheValue) return skip(`memokit: ${mk.reason}`)
    if (typeof mp === 'string') return skip(`@memokit/postgres failed to load: ${mp}`)

    const table = `mkbench_${process.pid}_${randomBytes(4).toString('hex')}`
    const prefix = 'mkbench'
    const lines = [`server ${url}, table ${table} (dropped at the end), TTL ${TTL_MS / 1000} s`]
    const pool = new pg.Pool({ connectionString: url, max: IN_FLIGHT })
    const storagePool = new pg.Pool({ connectionString: url, max: IN_FLIGHT })
    const storage = mp.postgresStorage({ pool: storagePool, table, prefix, pruneIntervalMs: 0 })
    try {
      const failures: unknown[] = []
      const cached = mk.cacheValue(async (k: number) => valueFor(k), {
        storage,
        name: 'bench.p1',
        ttl: TTL_MS,
        onError: (report: { error: unknown }) => failures.push(report.error),
      }) as (k: number) => Promise<Value>
      const want = Array.from({ length: HOT }, (_, k) => valueFor(k))
      // One at a time: the first call creates the table, and a fill must not race its own timeouts.
      for (let k = 0; k < HOT; k++) await cached(k)
      assertSame('memokit', await Promise.all(want.map((_, k) => cached(k))), want)
      if (failures.length > 0) throw new Error(`P1: the storage failed while filling: ${message(failures[0])}`)

      const rows = await rowsById(pool, table, prefix)
      const sql = `SELECT value FROM "${table}" WHERE prefix = $1 AND namespace = $2 AND key = $3 AND (expires_at IS NULL OR expires_at > $4)`
      const prefixBytes = Buffer.from(prefix)
      const raw: Call = async (k) => {
        const [namespace, key] = rows[k] as [Buffer, Buffer]
        const result = await pool.query({ text: sql, values: [prefixBytes, namespace, key, Date.now()] })
        return result.rows[0]?.value
      }
      const codec = createCodec()
      const decoded = await Promise.all(
        want.map(async (_, k) => codec.decodeEntry(((await raw(k)) as Buffer).toString('utf8')).value),
      )
      assertSame('raw pg SELECT', decoded, want)

      const entries: [string, string, Call][] = [
        ['pg SELECT of the same row', 'raw: pool.query of memokit’s row, value left as bytes', raw],
        [
          'postgresStorage.get',
          'the storage alone: key bytes, deadline, codec decode',
          async (k) => {
            const [namespace, key] = rows[k] as [Buffer, Buffer]
            return storage.get(namespace.toString('utf8'), key.toString('utf8'))
          },
        ],
        ['memokit', 'cacheValue + postgresStorage (own pg.Pool, 10 connections)', cached],
      ]
      for (const [mode, label] of [
        ['hitN', `hits, ${IN_FLIGHT} calls in flight`],
        ['hit1', 'hits, 1 call in flight (sequential)'],
      ] as const) {
        log(`  P1 ${label}`)
        const [base, ...rest] = entries.map(
          ([name, note, call]): Contender => ({
            name,
            note,
            unit: mode === 'hitN' ? IN_FLIGHT : 1,
            loop: compileLoop({ call, st: { next: 0 } }, LOOPS[mode], 'async'),
          }),
        )
        const config = cfg.quick ? cfg : { ...cfg, sliceMs: Math.max(cfg.sliceMs, 250) }
        const measured: Row[] = await measure(config, base as Contender, rest, log)
        lines.push(`\n### P1 ${label}`, rowsTable(measured))
      }
    } finally {
      await storage.close().catch(() => undefined)
      await storagePool.end().catch(() => undefined)
      await pool.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined)
      await pool.end().catch(() => undefined)
    }
    return { id: 'P1', title: this.title, rows: [], lines }
  },
}
