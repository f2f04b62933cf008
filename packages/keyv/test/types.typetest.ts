// Type tests of the public API, checked by `tsc` (not run by jest).
import KeyvRedis, { createKeyv } from '@keyv/redis'
import type { AsyncStorage } from '@memokit/core'
import { expectTypeOf } from 'expect-type'
import Keyv from 'keyv'
import { type KeyvLike, type KeyvStorage, type KeyvStorageOptions, keyvStorage } from '../src'

// Every way of making a Keyv fits without casts.
expectTypeOf(new Keyv()).toMatchTypeOf<KeyvLike>()
expectTypeOf(new Keyv<{ id: number }>({ store: new KeyvRedis('redis://127.0.0.1:6379') })).toMatchTypeOf<KeyvLike>()
expectTypeOf(createKeyv('redis://127.0.0.1:6379')).toMatchTypeOf<KeyvLike>()

// The storage is an AsyncStorage without add (Keyv has no atomic set-if-absent), with close() and scope.
expectTypeOf(keyvStorage(new Keyv())).toEqualTypeOf<KeyvStorage>()
expectTypeOf<KeyvStorage>().toMatchTypeOf<AsyncStorage>()
expectTypeOf<KeyvStorage['add']>().toEqualTypeOf<AsyncStorage['add']>()
expectTypeOf<KeyvStorage['close']>().toEqualTypeOf<() => Promise<void>>()
expectTypeOf<KeyvStorage['scope']>().toEqualTypeOf<string>()
expectTypeOf<KeyvStorageOptions['clearBy']>().toEqualTypeOf<'iterator' | 'generation' | undefined>()

export function compileOnly(): void {
  keyvStorage(new Keyv(), { prefix: 'app', operationTimeoutMs: 250, clearBy: 'generation' })
  // @ts-expect-error clearBy is 'iterator' or 'generation'
  keyvStorage(new Keyv(), { clearBy: 'scan' })
  // @ts-expect-error a bare store adapter is not a Keyv
  keyvStorage(new KeyvRedis('redis://127.0.0.1:6379'))
  // @ts-expect-error operationTimeoutMs is milliseconds as a number
  keyvStorage(new Keyv(), { operationTimeoutMs: '1s' })
}
