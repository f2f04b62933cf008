/** The options of {@link postgresStorage}: their types, their checks, and the connection and scope they resolve to. */
import { type Codec, ConfigError, resolveCodec } from '@memokit/core'
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  describeValue,
  objectLabel,
  redactUrl,
  rejectUnknownOptions,
  resolveOperationTimeout,
  resolvePrefix,
} from '@memokit/core/backend'
import pg from 'pg'
import { clientExecute, type Execute, type PgClientLike, type PgPoolLike, poolExecute } from './client'
import { poolConfig, serverOf } from './server'
import { DEFAULT_TABLE, type TableName, tableName } from './sql'

/** Options shared by every form of {@link PostgresStorageOptions}. */
export interface PostgresStorageSharedOptions {
  /**
   * The table entries live in: lowercase letters, digits and `_`, optionally schema-qualified (`'cache.memo'`),
   * at most 52 characters for the table part. Without a schema, the connection's `search_path` picks it.
   * @default 'memokit_cache'
   */
  readonly table?: string
  /**
   * Create the table and its expiry index on first use when absent (`CREATE TABLE IF NOT EXISTS`, once per
   * storage). Turn off when the database user may not create tables; create them from the README's SQL instead.
   * @default true
   */
  readonly createTable?: boolean
  /**
   * Create the table `UNLOGGED`: writes skip the write-ahead log (faster), the table is emptied after a crash and
   * isn't replicated to standbys. Only applies when memokit creates the table.
   * @default false
   */
  readonly unlogged?: boolean
  /**
   * Storage-level prefix, stored in column `prefix` of every row; storages with different prefixes sharing one
   * table never see or clear each other's entries. Default: `'memokit/<name>'`, `<name>` being your application's
   * package.json `name` (see README, "Default prefix").
   */
  readonly prefix?: string
  /** Codec for values and entry metadata. @default createCodec() */
  readonly codec?: Codec
  /**
   * Upper bound in ms for every operation, including checking out a connection and creating the table on first
   * use; past it the call rejects with a `StorageError` (and a query still running on a pool connection is
   * cancelled on the server; the connection is destroyed only if the server has not ended the query another
   * `operationTimeoutMs` later). For a pool built from `url`, also the server's `statement_timeout` and, at 90%, the pool's
   * `connectionTimeoutMillis`.
   * @default 1000
   */
  readonly operationTimeoutMs?: number
  /**
   * How often, in ms, to delete expired rows (up to {@link pruneBatchSize} rows per statement, at most 10 statements
   * per round), on an unref'd timer started by the first operation and stopped by `close()`. `0` turns it off
   * (reads never return expired rows either way). Each round comes 0-10% later than this, so replicas spread out.
   * @default 60000
   */
  readonly pruneIntervalMs?: number
  /**
   * Rows one pruning `DELETE` removes at most; a round repeats while a statement removed this many, up to 10.
   * @default 1000
   */
  readonly pruneBatchSize?: number
}

/** {@link postgresStorage} with a connection string: the storage owns its pool. */
export interface PostgresStorageUrlOptions extends PostgresStorageSharedOptions {
  /**
   * A `postgres://` or `postgresql://` connection string (node-postgres's `connectionString`, `?sslmode=…`
   * included). The storage creates a `pg.Pool` and ends it in `close()`.
   * @example 'postgres://app:secret@10.0.0.5:5432/app'
   */
  readonly url: string
  readonly pool?: undefined
  readonly client?: undefined
}

/** {@link postgresStorage} with your own pool: the storage never ends it. */
export interface PostgresStoragePoolOptions extends PostgresStorageSharedOptions {
  /** Your `pg.Pool` (node-postgres 8.x), typed structurally. Give it an `'error'` listener, as pg asks. */
  readonly pool: PgPoolLike
  readonly url?: undefined
  readonly client?: undefined
}

/** {@link postgresStorage} with your own connected client: the storage never ends it. */
export interface PostgresStorageClientOptions extends PostgresStorageSharedOptions {
  /**
   * Your connected `pg.Client`. It runs one query at a time, and a query hung on the server blocks those behind
   * it (each still times out): prefer a pool.
   */
  readonly client: PgClientLike
  readonly url?: undefined
  readonly pool?: undefined
}

/** Options of {@link postgresStorage}: exactly one of `url`, `pool` or `client`. */
export type PostgresStorageOptions =
  | PostgresStorageUrlOptions
  | PostgresStoragePoolOptions
  | PostgresStorageClientOptions

/** Default `operationTimeoutMs` of {@link postgresStorage}: 1000 ms. */
export { DEFAULT_OPERATION_TIMEOUT_MS }
/** Default `pruneIntervalMs` of {@link postgresStorage}: 60000 ms. */
export const DEFAULT_PRUNE_INTERVAL_MS = 60_000
/** Default `pruneBatchSize` of {@link postgresStorage}: 1000 rows. */
export const DEFAULT_PRUNE_BATCH_SIZE = 1000

const OWNER = 'postgresStorage'
const USAGE = "postgresStorage({ url: 'postgres://127.0.0.1:5432/app' })"
const OPTIONS = [
  'url',
  'pool',
  'client',
  'table',
  'createTable',
  'unlogged',
  'prefix',
  'codec',
  'operationTimeoutMs',
  'pruneIntervalMs',
  'pruneBatchSize',
] as const

/** The checked options, with defaults applied and the connection made ready to use. */
export interface ResolvedOptions {
  readonly execute: Execute
  /** The pool built from `url`, which `close()` ends; `undefined` for a pool or client passed in. */
  readonly ownPool: pg.Pool | undefined
  readonly table: TableName
  readonly createTable: boolean
  readonly unlogged: boolean
  readonly prefix: string
  readonly codec: Codec
  readonly operationTimeoutMs: number
  readonly pruneIntervalMs: number
  readonly pruneBatchSize: number
  /** `postgres://<host>:<port>/<database>/<table>?prefix=<prefix>`, no credentials. */
  readonly scope: string
  /** `<host>:<port>/<database>, table <table>`, for messages. */
  readonly where: string
}

/** Checks every option before anything is opened (a ConfigError names the bad one), then builds the pool. */
export function resolveOptions(options: PostgresStorageOptions): ResolvedOptions {
  if (typeof options === 'object' && options !== null && 'connectionString' in options) {
    throw new ConfigError('connectionString', `${OWNER}: pass the connection string as url, e.g. ${USAGE}`)
  }
  rejectUnknownOptions(OWNER, options, OPTIONS, USAGE)
  const table = tableName(options.table ?? DEFAULT_TABLE)
  const createTable = flag('createTable', options.createTable, true)
  const unlogged = flag('unlogged', options.unlogged, false)
  const operationTimeoutMs = resolveOperationTimeout(OWNER, options.operationTimeoutMs)
  const pruneIntervalMs = count('pruneIntervalMs', options.pruneIntervalMs, DEFAULT_PRUNE_INTERVAL_MS, 0)
  const pruneBatchSize = count('pruneBatchSize', options.pruneBatchSize, DEFAULT_PRUNE_BATCH_SIZE, 1)
  const codec = resolveCodec(options.codec, OWNER)
  const connection = checkConnection(options)
  // Last among the checks: the default is derived from the application's package.json, and says so when none.
  const prefix = resolvePrefix(OWNER, options.prefix)
  let ownPool: pg.Pool | undefined
  let execute: Execute
  let server: string
  if (connection.url !== undefined) {
    const config = poolConfig(connection.url, operationTimeoutMs)
    server = serverOf(config, 'url') ?? '…'
    ownPool = new pg.Pool(config)
    // An idle connection whose server went away emits 'error' on the pool; unheard, it would crash the process.
    // The next operation reports the outage instead.
    ownPool.on('error', () => undefined)
    execute = poolExecute(ownPool, operationTimeoutMs)
  } else if (connection.pool !== undefined) {
    const { options: poolOptions } = connection.pool as { options?: unknown }
    server = serverOf(poolOptions, 'pool') ?? objectLabel('pg-pool', connection.pool)
    execute = poolExecute(connection.pool, operationTimeoutMs)
  } else {
    const client = connection.client as PgClientLike
    server = serverOf(client, 'client') ?? objectLabel('pg-client', client)
    execute = clientExecute(client)
  }
  return {
    execute,
    ownPool,
    table,
    createTable,
    unlogged,
    prefix,
    codec,
    operationTimeoutMs,
    pruneIntervalMs,
    pruneBatchSize,
    scope: `postgres://${server}/${table.name}?prefix=${encodeURIComponent(prefix)}`,
    where: `${server}, table ${table.name}`,
  }
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value === 'boolean') return value
  throw new ConfigError(option, `${OWNER}: ${option} must be true or false, got ${describeValue(value)}`)
}

function count(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value
  throw new ConfigError(
    option,
    `${OWNER}: ${option} must be an integer >= ${min}, got ${describeValue(value)}; omit it for ${fallback}`,
  )
}

function checkConnection(options: PostgresStorageOptions): { url?: string; pool?: PgPoolLike; client?: unknown } {
  const given = (['url', 'pool', 'client'] as const).filter((name) => options[name] !== undefined)
  if (given.length !== 1) {
    throw new ConfigError(
      given[1] ?? 'url',
      `${OWNER} needs exactly one of url, pool or client, got ${given.length === 0 ? 'none' : given.join(' and ')}; e.g. ${USAGE}`,
    )
  }
  const { url, pool, client } = options
  if (pool !== undefined && typeof (pool as { connect?: unknown })?.connect !== 'function') {
    throw new ConfigError('pool', `${OWNER}: pool must be a pg.Pool, got ${describeValue(pool)}`)
  }
  if (client !== undefined && typeof (client as { query?: unknown })?.query !== 'function') {
    throw new ConfigError('client', `${OWNER}: client must be a pg.Client, got ${describeValue(client)}`)
  }
  if (url !== undefined && (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url))) {
    const got = typeof url === 'string' ? JSON.stringify(redactUrl(url)) : describeValue(url)
    throw new ConfigError('url', `${OWNER}: url must be a postgres:// or postgresql:// connection string, got ${got}`)
  }
  return { url, pool, client }
}
