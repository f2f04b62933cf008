// Type tests of the public API, checked by `tsc` (not run by jest).
import type { AsyncStorage } from '@memokit/core'
import { type MongoClientLike, type MongoStorage, mongoStorage } from '@memokit/mongodb'
import { expectTypeOf } from 'expect-type'
import { MongoClient } from 'mongodb'

// The official driver's client fits the structural client type, without casts.
expectTypeOf(new MongoClient('mongodb://127.0.0.1')).toMatchTypeOf<MongoClientLike>()

// The storage is an AsyncStorage whose add and close are always present.
expectTypeOf(mongoStorage({ url: 'mongodb://127.0.0.1' })).toEqualTypeOf<MongoStorage>()
expectTypeOf<MongoStorage>().toMatchTypeOf<AsyncStorage>()
expectTypeOf<MongoStorage['add']>().returns.toEqualTypeOf<Promise<boolean>>()
expectTypeOf<MongoStorage['close']>().returns.toEqualTypeOf<Promise<void>>()
// The lease members are always present, so core's singleFlight: 'distributed' accepts it without checks.
expectTypeOf<MongoStorage['acquireLease']>().toEqualTypeOf<
  (namespace: string, key: string, token: string, ttl: number) => Promise<boolean>
>()
expectTypeOf<MongoStorage['setIfLeased']>().returns.toEqualTypeOf<Promise<boolean>>()

export function compileOnly(client: MongoClient): void {
  mongoStorage({ client, database: 'app', collection: 'memo', prefix: 'api', operationTimeoutMs: 250 })
  mongoStorage({ url: 'mongodb://127.0.0.1', clientOptions: { tls: true, maxPoolSize: 20 }, createIndexes: false })
  // @ts-expect-error url and client are exclusive
  mongoStorage({ url: 'mongodb://127.0.0.1', client })
  // @ts-expect-error one of url or client is required
  mongoStorage({ database: 'app' })
  // @ts-expect-error clientOptions only with url
  mongoStorage({ client, clientOptions: {} })
  // @ts-expect-error operationTimeoutMs is milliseconds as a number
  mongoStorage({ url: 'mongodb://127.0.0.1', operationTimeoutMs: '1s' })
  // @ts-expect-error an object that is not a MongoDB client
  mongoStorage({ client: { db: () => 1 } })
}
