// Type tests: compiled by `pnpm typecheck` (part of `pnpm test`); a wrong inferred type fails the build.
import {
  type AsyncStorage,
  type CachedFunction,
  type CacheValueOptions,
  type ComputeContext,
  cacheClear,
  cacheReference,
  cacheValue,
  computeContext,
  type Duration,
  type MemokitErrorCode,
  memoryStorage,
  type PerResultDuration,
  type Storage,
  TimeoutError,
} from '@memokit/core'
import { expectTypeOf } from 'expect-type'

declare const asyncStorage: AsyncStorage
declare const syncStorage: Storage

function add(a: number, b: number): number {
  return a + b
}
async function fetchUser(id: string, opts?: { fresh: boolean }): Promise<{ id: string; name: string }> {
  return { id, name: opts?.fresh ? 'fresh' : 'cached' }
}

// 1. sync fn over sync storage (default and explicit): plain values.
const syncSync = cacheValue(add)
expectTypeOf(syncSync).parameters.toEqualTypeOf<[a: number, b: number]>()
expectTypeOf(syncSync(1, 2)).toEqualTypeOf<number>()
expectTypeOf(cacheValue(add, { storage: memoryStorage() })(1, 2)).toEqualTypeOf<number>()
expectTypeOf(cacheValue(add, { storage: syncStorage, ttl: '5m' })(1, 2)).toEqualTypeOf<number>()
expectTypeOf(syncSync.delete(1, 2)).toEqualTypeOf<boolean>()
expectTypeOf(syncSync.clear()).toEqualTypeOf<void>()
expectTypeOf(syncSync.keyFor(1, 2)).toEqualTypeOf<string>()

// 2. async fn over sync storage: Promise of the awaited result.
const asyncSync = cacheValue(fetchUser)
expectTypeOf(asyncSync).parameters.toEqualTypeOf<[id: string, opts?: { fresh: boolean }]>()
expectTypeOf(asyncSync('1')).toEqualTypeOf<Promise<{ id: string; name: string }>>()

// 3. sync fn over async storage: Promise of the result.
const syncAsync = cacheValue(add, { storage: asyncStorage })
expectTypeOf(syncAsync(1, 2)).toEqualTypeOf<Promise<number>>()
expectTypeOf(syncAsync.delete(1, 2)).toEqualTypeOf<Promise<boolean>>()
expectTypeOf(syncAsync.clear()).toEqualTypeOf<Promise<void>>()

// 4. async fn over async storage: Promise of the awaited result, never Promise<Promise<...>>.
const asyncAsync = cacheValue(fetchUser, { storage: asyncStorage, namespace: 'users' })
expectTypeOf(asyncAsync('1', { fresh: true })).toEqualTypeOf<Promise<{ id: string; name: string }>>()
expectTypeOf(asyncAsync).toMatchTypeOf<
  CachedFunction<[id: string, opts?: { fresh: boolean }], Promise<{ id: string; name: string }>, true>
>()

// Option callbacks see the real types.
cacheValue(fetchUser, {
  key: (id, opts) => {
    expectTypeOf(id).toEqualTypeOf<string>()
    expectTypeOf(opts).toEqualTypeOf<{ fresh: boolean } | undefined>()
    return id
  },
  shouldCache: (value) => {
    expectTypeOf(value).toEqualTypeOf<{ id: string; name: string }>()
    return true
  },
  onError: (report) => {
    expectTypeOf(report.op).toEqualTypeOf<
      | 'get'
      | 'set'
      | 'add'
      | 'delete'
      | 'clear'
      | 'close'
      | 'connect'
      | 'acquireLease'
      | 'releaseLease'
      | 'extendLease'
      | 'setIfLeased'
      | 'compute'
    >()
  },
})

// Wrong arguments and options are compile errors.
// @ts-expect-error: wrong argument type
syncSync('1', 2)
// @ts-expect-error: missing argument
syncSync(1)
// @ts-expect-error: unknown option
cacheValue(add, { ttL: 5 })
// @ts-expect-error: the key function gets fn's parameters
cacheValue(add, { key: (a: string) => a })

// cacheReference: exact return type; delete/clear are async.
class Client {
  constructor(readonly url: string) {}
}
const client = cacheReference((url: string) => new Client(url), {
  dispose: (c) => expectTypeOf(c).toEqualTypeOf<Client>(),
})
expectTypeOf(client('x')).toEqualTypeOf<Client>()
expectTypeOf(client.delete('x')).toEqualTypeOf<Promise<boolean>>()
const connect = cacheReference(async (url: string) => new Client(url), {
  dispose: (c) => expectTypeOf(c).toEqualTypeOf<Client>(),
})
expectTypeOf(connect('x')).toEqualTypeOf<Promise<Client>>()

// cacheClear keeps fn's parameters; its result follows the same sync/async rule.
const save = cacheClear((id: number, name: string) => ({ id, name }), { namespaces: 'users' })
expectTypeOf(save).parameters.toEqualTypeOf<[id: number, name: string]>()
expectTypeOf(save(1, 'a')).toEqualTypeOf<{ id: number; name: string }>()
expectTypeOf(cacheClear((id: number) => id, { namespaces: ['a'], storage: asyncStorage })(1)).toEqualTypeOf<
  Promise<number>
>()
expectTypeOf(cacheClear(fetchUser, { namespaces: 'users' })('1')).toEqualTypeOf<Promise<{ id: string; name: string }>>()

// ttl is a Duration: milliseconds, or a number and a unit; anything else is a compile error.
cacheValue(add, { ttl: 1500 })
cacheValue(add, { ttl: '500ms' })
cacheValue(add, { ttl: '1.5h' })
cacheValue(add, { ttl: '1d' })
// @ts-expect-error: not a unit memokit reads
cacheValue(add, { ttl: '5 minutes' })
// @ts-expect-error: weeks are not a unit
cacheValue(add, { ttl: '1w' })
// @ts-expect-error: a bare number in a string has no unit
cacheValue(add, { ttl: '5' })
declare const fromEnv: string
// @ts-expect-error: any string is not a Duration
cacheValue(add, { ttl: fromEnv })
// A string from configuration is asserted, and checked at run time when the wrapper is created.
cacheValue(add, { ttl: fromEnv as Duration })
expectTypeOf<CacheValueOptions['ttl']>().toEqualTypeOf<PerResultDuration<unknown> | undefined>()

// The circuit breaker takes an options object or false.
cacheValue(add, { circuitBreaker: false })
cacheValue(add, { circuitBreaker: { failures: 3, cooldownMs: 10_000 } })
// @ts-expect-error: true is not an option (it is on by default)
cacheValue(add, { circuitBreaker: true })
// @ts-expect-error: cooldownMs is a number of ms
cacheValue(add, { circuitBreaker: { cooldownMs: '5s' } })

// The freshness options: durations or functions of the awaited result; `false` from ttl means "don't store".
const findUser = async (id: number): Promise<{ id: number } | null> => (id > 0 ? { id } : null)
const users = cacheValue(findUser, {
  ttl: (user) => {
    expectTypeOf(user).toEqualTypeOf<{ id: number } | null>()
    return user === null ? '30s' : '10m'
  },
  swr: '1m',
  staleIfError: (user) => (user === null ? false : '1h'),
  errorBackoff: 5_000,
  timeout: { soft: '200ms', hard: '5s' },
  jitter: '10%',
  refreshAhead: 0.8,
  random: () => 0.5,
})
expectTypeOf(users.refresh(1)).toEqualTypeOf<Promise<{ id: number } | null>>()
cacheValue(add, { ttl: '1m', jitter: '5s', refreshAhead: '10s' })
// @ts-expect-error: a window is a Duration, not any string
cacheValue(add, { ttl: '1m', swr: '1 minute' })
// @ts-expect-error: timeouts are durations
cacheValue(add, { timeout: { hard: true } })
// @ts-expect-error: a ttl function returns a Duration or false, not true
cacheValue(add, { ttl: () => true })
expectTypeOf(computeContext()).toEqualTypeOf<ComputeContext | undefined>()
expectTypeOf<ComputeContext['signal']>().toEqualTypeOf<AbortSignal>()
expectTypeOf(
  new TimeoutError({ functionName: 'f', namespace: 'n', timeoutMs: 1 }).code,
).toEqualTypeOf<MemokitErrorCode>()
