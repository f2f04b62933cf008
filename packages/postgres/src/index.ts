export type { PgClientLike, PgPoolClientLike, PgPoolLike, PgQuery, PgQueryResultLike } from './client'
export type {
  PostgresStorageClientOptions,
  PostgresStorageOptions,
  PostgresStoragePoolOptions,
  PostgresStorageSharedOptions,
  PostgresStorageUrlOptions,
} from './options'
export { DEFAULT_OPERATION_TIMEOUT_MS, DEFAULT_PRUNE_BATCH_SIZE, DEFAULT_PRUNE_INTERVAL_MS } from './options'
export { DEFAULT_TABLE } from './sql'
export type { PostgresStorage } from './storage'
export { postgresStorage } from './storage'
