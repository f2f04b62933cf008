import { NO_SCAN } from './arg-scan'
import { createBreaker } from './breaker'
import { parseDuration } from './duration'
import { CodecError, StorageError } from './errors'
import { claimIdentity, type Flight, type Identity, invalidateFlights, resolveName } from './identity'
import { escapeKeyPart } from './key-part'
import { createKeyEncoder } from './keys'
import { MISS, memoryInternals, WithMeta } from './memory'
import { createSlotReader, memoryWrapper } from './memory-hits'
import {
  type AnyFunction,
  type CacheValueOptions,
  type ErrorReport,
  isPromiseLike,
  mirrorFunction,
  rejectUnknownOptions,
  resolveBoolean,
  resolveFunction,
  resolveHook,
  resolveNamespace,
  resolveStorage,
} from './options'
import { createReporter, type Reporter, toStorageError } from './report'
import type { AnyStorage, AsyncStorage, EntryMeta, MaybePromise, SetOptions, Storage } from './storage'
import { issuedWrites, trackWrite } from './writes'

/** `true` when `S` is an {@link AsyncStorage}. */
export type IsAsyncStorage<S extends AnyStorage> = S extends AsyncStorage ? true : false

/**
 * What a cached call returns: a Promise of the awaited result when `fn` returns a Promise or the storage is
 * async; the plain result when both are sync.
 */
export type CachedReturn<R, Async extends boolean> =
  R extends PromiseLike<unknown> ? Promise<Awaited<R>> : Async extends true ? Promise<R> : R

/** The function `cacheValue` returns: `fn`'s parameters, plus helpers to inspect and drop its entries. */
export interface CachedFunction<Args extends readonly unknown[], Return, Async extends boolean> {
  (...args: Args): Return
  /** Deletes the entry for these arguments; resolves to `true` if one was there. Storage failures throw. */
  delete(...args: Args): MaybePromise<boolean, Async>
  /** Deletes every entry of this function (only its own, in its namespace). Storage failures throw. */
  clear(): MaybePromise<void, Async>
  /** The key these arguments are stored under, inside the namespace (the backend adds its prefix and namespace). */
  keyFor(...args: Args): string
}

const VALUE_OPTIONS = [
  'storage',
  'ttl',
  'namespace',
  'name',
  'typed',
  'key',
  'ignoreArgs',
  'typeEncoders',
  'onError',
  'failOpen',
  'shouldCache',
  'circuitBreaker',
] as const

const AsyncFunction = (async () => {}).constructor
/** Written with a result `fn` returned as a Promise, so its hits return a Promise in every process. */
const PROMISE_META: EntryMeta = Object.freeze({ promise: true })

/** Everything the call paths below share, resolved once when the wrapper is created. */
interface Plan {
  readonly fn: AnyFunction
  readonly storage: AnyStorage
  readonly namespace: string
  readonly identity: Identity
  readonly encodeKey: (args: unknown[]) => string
  /** `fn` is an `async function`: every call of it returns a Promise, so every hit does too. */
  readonly isAsyncFn: boolean
  /** Write options for a result `fn` returned directly, and for one it returned as a Promise. */
  readonly plainSet: SetOptions | undefined
  readonly promiseSet: SetOptions
  readonly shouldCache: ((value: unknown) => boolean) | undefined
  readonly failOpen: boolean
  readonly breaker: ReturnType<typeof createBreaker>
  readonly report: Reporter
}

/**
 * Wraps `fn` so its results are cached in a storage (default: a process-wide memory storage).
 *
 * A sync `fn` over a sync storage stays sync; if `fn` returns a Promise or the storage is async, the wrapper
 * returns a Promise of the awaited result. Errors from `fn` propagate unchanged and are never cached; concurrent
 * calls for one key run `fn` once; a failing storage makes `fn` run (fail-open) and is reported to `onError`.
 *
 * @example
 * const getUser = cacheValue(fetchUser, { storage: redisStorage({ url }), ttl: '5m', namespace: 'users' })
 */
export function cacheValue<F extends AnyFunction, S extends AnyStorage = Storage>(
  fn: F,
  options: CacheValueOptions<Parameters<F>, ReturnType<F>, S> = {},
): CachedFunction<Parameters<F>, CachedReturn<ReturnType<F>, IsAsyncStorage<S>>, IsAsyncStorage<S>> {
  const entry = 'cacheValue'
  resolveFunction(entry, fn)
  rejectUnknownOptions(entry, options, VALUE_OPTIONS)
  const { ttl: ttlOption, name: nameOption, typed, key, ignoreArgs, typeEncoders } = options
  const storage = resolveStorage(entry, options.storage)
  const namespace = resolveNamespace(entry, options.namespace)
  const ttl = ttlOption === undefined ? undefined : parseDuration(ttlOption, 'ttl')
  const failOpen = resolveBoolean(entry, 'failOpen', options.failOpen, true)
  const shouldCache = resolveHook<(value: unknown) => boolean>(entry, 'shouldCache', options.shouldCache)
  const onError = resolveHook<(report: ErrorReport) => void>(entry, 'onError', options.onError)
  const name = resolveName(entry, fn, nameOption)
  const encodeKey = createKeyEncoder({ functionName: name, typed, typeEncoders, ignoreArgs, key })
  // A failing storage is skipped for a while after repeated failures, so a hung server costs a few calls the
  // full operation timeout instead of every call (a memory storage never fails and skips this).
  const breaker = createBreaker(entry, options.circuitBreaker)
  // Claimed last, so invalid options never leave a registered identity behind.
  const identity = claimIdentity(storage, namespace, name, fn, nameOption === undefined)
  const plan: Plan = {
    fn,
    storage,
    namespace,
    identity,
    encodeKey,
    isAsyncFn: fn instanceof AsyncFunction,
    plainSet: ttl === undefined ? undefined : Object.freeze({ ttl }),
    promiseSet: Object.freeze({ ttl, meta: PROMISE_META }),
    shouldCache,
    failOpen,
    breaker,
    report: createReporter(storage, onError, name),
  }
  const keyPrefix = `${escapeKeyPart(name)}:`
  const plainKeys = typed !== true && key === undefined && (ignoreArgs === undefined || ignoreArgs.length === 0)
  const byValue = plainKeys && (typeEncoders === undefined || typeEncoders.length === 0)
  const wrapper = storage.async ? asyncWrapper(plan) : syncWrapper(plan, keyPrefix, plainKeys, byValue)
  const invalidate = storage.async ? asyncInvalidation(plan, keyPrefix) : syncInvalidation(plan, keyPrefix)
  mirrorFunction(wrapper, fn)
  const helpers = {
    delete: (...args: unknown[]) => invalidate.remove(encodeKey(args)),
    clear: () => invalidate.clear(),
    keyFor: (...args: unknown[]) => encodeKey(args),
  }
  return Object.assign(wrapper, helpers) as never
}

/** A storage read failure: true for a corrupt payload (a miss, to be overwritten), false for a failing storage
 * when failing open (a miss, and no write either), else it throws the StorageError for the caller. */
function readFailed(plan: Plan, error: unknown, key: string): boolean {
  const failure = toStorageError(plan.storage, 'get', error)
  if (failure instanceof CodecError) {
    plan.report('get', plan.namespace, key, failure)
    return true
  }
  storageFailed(plan, failure, key)
  return false
}

function writeFailed(plan: Plan, error: unknown, key: string): void {
  const failure = toStorageError(plan.storage, 'set', error)
  if (failure instanceof CodecError) plan.report('set', plan.namespace, key, failure)
  else storageFailed(plan, failure, key)
}

// In strict mode the caller gets the error, so it is not reported too; the breaker counts it either way.
function storageFailed(plan: Plan, failure: StorageError, key: string): void {
  const { storage, namespace, report } = plan
  const opened = plan.breaker.failure()
  if (!plan.failOpen) throw failure
  report(failure.op, namespace, key, failure)
  if (opened !== undefined) {
    const op = failure.op
    report(op, namespace, key, new StorageError(`${storage.name} storage: ${opened}`, { storage: storage.name, op }))
  }
}

/** Forgets `flight` once it settled, unless a newer flight for the key took its place. */
function land(pending: Map<string, Flight>, key: string, flight: Flight): void {
  if (pending.get(key) === flight) pending.delete(key)
}

function syncWrapper(
  plan: Plan,
  keyPrefix: string,
  plainKeys: boolean,
  byValue: boolean,
): (this: unknown, ...args: unknown[]) => unknown {
  const { fn, namespace, encodeKey, isAsyncFn, breaker, shouldCache } = plan
  const storage = plan.storage as Storage
  const { pending } = plan.identity
  // The hit has the shape the computation had: recorded with the entry (meta.promise), or known from `fn` itself.
  const fromSlot = (held: unknown): unknown => {
    if (held instanceof WithMeta) {
      return isAsyncFn || held.meta.promise === true ? Promise.resolve(held.value) : held.value
    }
    return isAsyncFn ? Promise.resolve(held) : held
  }
  const write = (key: string, value: unknown, options: SetOptions | undefined): void => {
    if (shouldCache !== undefined && !shouldCache(value)) return
    try {
      storage.set(namespace, key, value, options)
      breaker.success()
    } catch (error) {
      writeFailed(plan, error, key)
    }
  }
  const internals = memoryInternals(storage)
  const reader =
    internals === undefined
      ? undefined
      : createSlotReader({ internals, namespace, keyPrefix, plainKeys, byValue, fromSlot })
  // What the storage holds for `key`, in a memory slot's form, or MISS.
  const readHeld =
    reader !== undefined
      ? reader.read
      : (key: string): unknown => {
          const hit = storage.get(namespace, key)
          if (hit === undefined) return MISS
          return hit.meta === undefined ? hit.value : new WithMeta(hit.value, hit.meta)
        }
  // A memory storage never fails, so it needs no breaker.
  const guarded = internals === undefined
  // `h` is the argument scan's hash when the by-value hit path missed: a hit found here is remembered.
  const run = (self: unknown, args: unknown[], h: number): unknown => {
    let key: string
    let held: unknown = MISS
    let writable = true
    try {
      key = encodeKey(args)
      if (guarded && !breaker.allow()) writable = false
      else {
        try {
          held = readHeld(key)
          if (guarded) breaker.success()
        } catch (error) {
          writable = readFailed(plan, error, key)
        }
      }
    } catch (error) {
      // Key and strict-mode storage errors reach an async function's callers as rejections.
      if (isAsyncFn) return Promise.reject(error)
      throw error
    }
    if (held !== MISS) {
      if (h !== NO_SCAN) reader?.remember(h)
      return fromSlot(held)
    }
    const inflight = pending.get(key)
    if (inflight !== undefined) return inflight.promise
    const result = fn.apply(self, args)
    if (!isPromiseLike(result)) {
      if (writable) write(key, result, plan.plainSet)
      return result
    }
    const flight: Flight = { promise: undefined, invalidated: false }
    flight.promise = Promise.resolve(result).then(
      (value) => {
        land(pending, key, flight)
        // A delete or clear while this ran means the value may be outdated: return it, don't store it.
        if (writable && !flight.invalidated) write(key, value, plan.promiseSet)
        return value
      },
      (error: unknown) => {
        land(pending, key, flight)
        throw error
      },
    )
    pending.set(key, flight)
    return flight.promise
  }
  return reader === undefined || internals === undefined
    ? function cached(this: unknown, ...args: unknown[]): unknown {
        return run(this, args, NO_SCAN)
      }
    : memoryWrapper({ internals, namespace, keyPrefix, plainKeys, byValue, fromSlot }, reader, run)
}

function asyncWrapper(plan: Plan): (this: unknown, ...args: unknown[]) => Promise<unknown> {
  const { fn, namespace, encodeKey, breaker, shouldCache } = plan
  const storage = plan.storage as AsyncStorage
  const { pending } = plan.identity
  const lookup = async (self: unknown, args: unknown[], key: string, flight: Flight): Promise<unknown> => {
    try {
      let writable = breaker.allow()
      if (writable) {
        try {
          const hit = await storage.get(namespace, key)
          breaker.success()
          if (hit !== undefined) return hit.value
        } catch (error) {
          writable = readFailed(plan, error, key)
        }
      }
      const result = fn.apply(self, args)
      const promised = isPromiseLike(result)
      const value = promised ? await result : result
      // A delete or clear while this ran means the value may be outdated: return it, don't store it.
      if (writable && !flight.invalidated && (shouldCache === undefined || shouldCache(value))) {
        try {
          const options = promised ? plan.promiseSet : plan.plainSet
          await trackWrite(storage, namespace, key, storage.set(namespace, key, value, options))
          breaker.success()
        } catch (error) {
          writeFailed(plan, error, key)
        }
      }
      return value
    } finally {
      land(pending, key, flight)
    }
  }
  return function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
    let key: string
    try {
      key = encodeKey(args)
    } catch (error) {
      return Promise.reject(error)
    }
    const inflight = pending.get(key)
    if (inflight !== undefined) return inflight.promise as Promise<unknown>
    // Registered before it starts: a lookup can settle synchronously (a read that throws at once, then an `fn`
    // that does), and its `finally` must find it to forget it.
    const flight: Flight = { promise: undefined, invalidated: false }
    pending.set(key, flight)
    const promise = lookup(this, args, key, flight)
    flight.promise = promise
    return promise
  }
}

interface Invalidation {
  remove(key: string): MaybePromise<boolean, boolean>
  clear(): MaybePromise<void, boolean>
}

/** Marks this function's flights invalidated: the keys given, or all of them. */
function invalidateOwn(plan: Plan, key?: string): void {
  if (key !== undefined) {
    invalidateFlights(plan.storage, plan.namespace, [key])
    return
  }
  const { pending } = plan.identity
  for (const flight of pending.values()) flight.invalidated = true
  pending.clear()
}

function syncInvalidation(plan: Plan, keyPrefix: string): Invalidation {
  const storage = plan.storage as Storage
  const { namespace } = plan
  return {
    remove(key) {
      invalidateOwn(plan, key)
      try {
        return storage.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    },
    clear() {
      invalidateOwn(plan)
      try {
        storage.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    },
  }
}

function asyncInvalidation(plan: Plan, keyPrefix: string): Invalidation {
  const storage = plan.storage as AsyncStorage
  const { namespace } = plan
  return {
    async remove(key) {
      invalidateOwn(plan, key)
      await issuedWrites(storage, namespace, { key })
      try {
        return await storage.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    },
    async clear() {
      invalidateOwn(plan)
      await issuedWrites(storage, namespace, { keyPrefix })
      try {
        await storage.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    },
  }
}
