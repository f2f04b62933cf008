// Type tests, checked by `tsc` (not run by jest): the public API as a user's editor sees it.
import type { AsyncStorage } from '@memokit/core'
import { expectTypeOf } from 'expect-type'
import type { MemcacheClient } from 'memcache-client'
import type memjs from 'memjs'
import {
  fromMemcacheClient,
  fromMemjs,
  type MemcacheClientLike,
  type MemcachedClient,
  type MemcachedStorage,
  type MemcachedStorageOptions,
  type MemjsClientLike,
  memcachedStorage,
} from '../src'

// The real clients fit the structural types, so users need no casts.
expectTypeOf<memjs.Client>().toExtend<MemjsClientLike>()
expectTypeOf<MemcacheClient>().toExtend<MemcacheClientLike>()
expectTypeOf(fromMemjs).returns.toEqualTypeOf<MemcachedClient>()
expectTypeOf(fromMemcacheClient).returns.toEqualTypeOf<MemcachedClient>()

expectTypeOf(memcachedStorage).returns.toEqualTypeOf<MemcachedStorage>()
expectTypeOf<MemcachedStorage>().toMatchTypeOf<AsyncStorage>()
expectTypeOf<MemcachedStorage['close']>().toEqualTypeOf<() => Promise<void>>()
expectTypeOf<MemcachedStorage['scope']>().toEqualTypeOf<string>()
expectTypeOf<MemcachedStorageOptions['client']>().toEqualTypeOf<MemcachedClient>()
expectTypeOf<Parameters<MemcachedClient['set']>>().toEqualTypeOf<[key: string, value: string, exptime: number]>()
expectTypeOf<MemcachedClient['getMulti']>().toEqualTypeOf<
  ((keys: readonly string[]) => Promise<ReadonlyArray<string | Buffer | null | undefined>>) | undefined
>()

// gets/cas: optional, both or neither (checked at runtime); with them the storage has the lease members.
expectTypeOf<Parameters<NonNullable<MemcachedClient['cas']>>>().toEqualTypeOf<
  [key: string, value: string, exptime: number, cas: string]
>()
expectTypeOf<ReturnType<NonNullable<MemcachedClient['gets']>>>().toEqualTypeOf<
  Promise<{ readonly value: string | Buffer; readonly cas: string } | null | undefined>
>()

declare const client: MemcachedClient
// @ts-expect-error client is required
memcachedStorage({ prefix: 'p' })
// @ts-expect-error the storage's members are readonly
memcachedStorage({ client }).name = 'x'
const options: MemcachedStorageOptions = { client, prefix: 'p', operationTimeoutMs: 250, versionCacheMs: 0 }
// @ts-expect-error options are readonly
options.prefix = 'q'
// @ts-expect-error a client without append doesn't fit
memcachedStorage({ client: { get: client.get, set: client.set, add: client.add, delete: client.delete } })
