// Type tests, checked by `tsc` (not run by jest): the public API as a user's editor sees it.
import type { AsyncStorage } from '@memokit/core'
import {
  type PgClientLike,
  type PgPoolLike,
  type PostgresStorage,
  type PostgresStorageOptions,
  postgresStorage,
} from '@memokit/postgres'
import { expectTypeOf } from 'expect-type'
import type pg from 'pg'

// node-postgres's own pool and client fit the structural types, so users need no casts.
expectTypeOf<pg.Pool>().toExtend<PgPoolLike>()
expectTypeOf<pg.Client>().toExtend<PgClientLike>()
expectTypeOf<pg.PoolClient>().toExtend<PgClientLike>()

expectTypeOf(postgresStorage).returns.toEqualTypeOf<PostgresStorage>()
expectTypeOf<PostgresStorage>().toExtend<AsyncStorage>()
expectTypeOf<PostgresStorage['add']>().returns.toEqualTypeOf<Promise<boolean>>()
expectTypeOf<PostgresStorage['scope']>().toEqualTypeOf<string>()

declare const pool: pg.Pool
declare const client: pg.Client
postgresStorage({ pool, table: 'cache.memo', unlogged: true, pruneIntervalMs: 0 })
postgresStorage({ client, createTable: false })
postgresStorage({ url: 'postgres://127.0.0.1:5432/app', operationTimeoutMs: 250, pruneBatchSize: 500 })
// @ts-expect-error one of url, pool or client is required
postgresStorage({ table: 'memo' })
// @ts-expect-error url and pool exclude each other
postgresStorage({ url: 'postgres://127.0.0.1/app', pool })
// @ts-expect-error the storage's members are readonly
postgresStorage({ pool }).name = 'x'
const options: PostgresStorageOptions = { pool, prefix: 'p' }
// @ts-expect-error options are readonly
options.prefix = 'q'
