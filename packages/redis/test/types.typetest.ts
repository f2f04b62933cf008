// Type tests of the public API, checked by `tsc` (not run by jest).
import type { AsyncStorage, Bus } from '@memokit/core'
import {
  type IoredisCompatibleClient,
  type RedisBus,
  type RedisCompatibleClient,
  type RedisStorage,
  redisBus,
  redisStorage,
} from '@memokit/redis'
import { expectTypeOf } from 'expect-type'
import { Cluster, Redis } from 'ioredis'
import { createClient, createCluster, createSentinel, RESP_TYPES } from 'redis'

// Every node-redis client kind fits the structural client type, without casts.
expectTypeOf(createClient()).toMatchTypeOf<RedisCompatibleClient>()
expectTypeOf(createCluster({ rootNodes: [] })).toMatchTypeOf<RedisCompatibleClient>()
expectTypeOf(createSentinel({ name: 'mymaster', sentinelRootNodes: [] })).toMatchTypeOf<RedisCompatibleClient>()
expectTypeOf(
  createClient().withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }),
).toMatchTypeOf<RedisCompatibleClient>()

// ioredis clients fit the structural ioredis type, without casts.
expectTypeOf(new Redis()).toMatchTypeOf<IoredisCompatibleClient>()
expectTypeOf(new Cluster([])).toMatchTypeOf<IoredisCompatibleClient>()

// The storage is an AsyncStorage whose add and close are always present.
expectTypeOf(redisStorage({ url: 'redis://127.0.0.1:6379' })).toEqualTypeOf<RedisStorage>()
expectTypeOf<RedisStorage>().toMatchTypeOf<AsyncStorage>()
expectTypeOf<RedisStorage['add']>().returns.toEqualTypeOf<Promise<boolean>>()
expectTypeOf<RedisStorage['close']>().returns.toEqualTypeOf<Promise<void>>()

// The bus is a core Bus whose close is always present: no `bus.close?.()` at shutdown.
expectTypeOf(redisBus({ url: 'redis://127.0.0.1:6379' })).toEqualTypeOf<RedisBus>()
expectTypeOf<RedisBus>().toMatchTypeOf<Bus>()
expectTypeOf<RedisBus['close']>().returns.toEqualTypeOf<Promise<void>>()

export function compileOnly(): void {
  redisStorage({ client: createClient(), prefix: 'app', operationTimeoutMs: 250 })
  redisStorage({ client: new Redis('redis://127.0.0.1:6379'), prefix: 'app' })
  redisStorage({ client: new Cluster([{ host: '10.0.0.1', port: 7000 }]) })
  // @ts-expect-error url and client are exclusive, for ioredis clients too
  redisStorage({ url: 'redis://127.0.0.1:6379', client: new Redis() })
  // @ts-expect-error url and client are exclusive
  redisStorage({ url: 'redis://127.0.0.1:6379', client: createClient() })
  // @ts-expect-error one of url or client is required
  redisStorage({ prefix: 'app' })
  // @ts-expect-error operationTimeoutMs is milliseconds as a number
  redisStorage({ url: 'redis://127.0.0.1:6379', operationTimeoutMs: '1s' })
  // @ts-expect-error an object that is not a Redis client
  redisStorage({ client: { get: () => 1 } })
}
