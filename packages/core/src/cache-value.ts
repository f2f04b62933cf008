import {
  countScan,
  createRecentHits,
  findRecent,
  NO_SCAN,
  type RecentHits,
  rememberRecent,
  scanArgs,
  shouldScan,
} from './arg-scan'
import { createBreaker } from './breaker'
import { parseDuration } from './duration'
import { CodecError, StorageError } from './errors'
import { claimIdentity, resolveName } from './identity'
import { escapeKeyPart } from './key-part'
import { createKeyEncoder } from './keys'
import { type MemoryInternals, MISS, memoryInternals, type Table } from './memory'
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
import { createReporter, toStorageError } from './report'
import type { AnyStorage, AsyncStorage, Entry, MaybePromise, SetOptions, Storage } from './storage'

// Written by the generic memory read path; see there.
// biome-ignore lint/correctness/noUnusedVariables: the write keeps the flattening read from being optimized away
let flattened = 0

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
  const setOptions: SetOptions | undefined =
    ttlOption === undefined ? undefined : Object.freeze({ ttl: parseDuration(ttlOption, 'ttl') })
  const failOpen = resolveBoolean(entry, 'failOpen', options.failOpen, true)
  const shouldCache = resolveHook<(value: unknown) => boolean>(entry, 'shouldCache', options.shouldCache)
  const onError = resolveHook<(report: ErrorReport) => void>(entry, 'onError', options.onError)
  const name = resolveName(entry, fn, nameOption)
  const encodeKey = createKeyEncoder({ functionName: name, typed, typeEncoders, ignoreArgs, key })
  const report = createReporter(storage, onError)
  // Claimed last, so invalid options never leave a registered identity behind.
  const identity = claimIdentity(storage, namespace, name, fn, nameOption === undefined)
  const { pending } = identity
  const keyPrefix = `${escapeKeyPart(name)}:`

  // A failing storage is skipped for a while after repeated failures, so a hung server costs a few calls the
  // full operation timeout instead of every call (a memory storage never fails and skips this).
  const breaker = createBreaker(entry, options.circuitBreaker)
  const failed = (op: 'get' | 'set', key: string): void => {
    const opened = breaker.failure()
    if (opened !== undefined) {
      report(op, namespace, key, new StorageError(`${storage.name} storage: ${opened}`, { storage: storage.name, op }))
    }
  }
  // A storage read failure. Returns true for a corrupt payload (a miss, to be overwritten); any other failure is
  // a miss when failing open (false: don't write either, the storage is failing), else an error for the caller.
  const readFailed = (error: unknown, key: string): boolean => {
    const failure = toStorageError(storage, 'get', error)
    report('get', namespace, key, failure)
    if (failure instanceof CodecError) return true
    failed('get', key)
    if (failOpen) return false
    throw failure
  }
  const writeFailed = (error: unknown, key: string): void => {
    const failure = toStorageError(storage, 'set', error)
    report('set', namespace, key, failure)
    if (failure instanceof CodecError) return
    failed('set', key)
    if (!failOpen) throw failure
  }

  let wrapper: (this: unknown, ...args: unknown[]) => unknown
  let remove: (key: string) => MaybePromise<boolean, boolean>
  let clear: () => MaybePromise<void, boolean>

  if (!storage.async) {
    const sync: Storage = storage
    const write = (key: string, value: unknown): void => {
      if (shouldCache !== undefined && !shouldCache(value)) return
      try {
        sync.set(namespace, key, value, setOptions)
        breaker.success()
      } catch (error) {
        writeFailed(error, key)
      }
    }
    // Over a memory storage, reads skip the Entry object; a call with one number argument even skips the key
    // string, reading that function's number table (keyed by what the encoder would write) directly.
    const internals = memoryInternals(storage)
    const plainKeys = typed !== true && key === undefined && (ignoreArgs === undefined || ignoreArgs.length === 0)
    const numbers = internals !== undefined && plainKeys ? internals.numberTable(namespace, keyPrefix) : undefined
    // With the plain encoding, only a one-number argument list (other than -0) is kept in a number table, so
    // every other call can read the namespace's generic table without routing its key.
    const generic = internals !== undefined && plainKeys ? internals.genericTable(namespace) : undefined
    let lastSlot = 0
    const readValue =
      internals === undefined
        ? (_args: unknown[], key: string): unknown => {
            const hit: Entry | undefined = sync.get(namespace, key)
            return hit === undefined ? MISS : hit.value
          }
        : generic === undefined
          ? (_args: unknown[], key: string): unknown => internals.readKey(namespace, key)
          : (args: unknown[], key: string): unknown => {
              if (args.length === 1 && typeof args[0] === 'number') return internals.readKey(namespace, key)
              // A freshly built key is a V8 cons string: reading a character flattens it once, which makes the
              // Map lookup that follows about twice as fast (bench S2). Stored, so it can't be optimized away.
              flattened = key.charCodeAt(0)
              // The slot is kept for `remember`, which would otherwise look the key up again.
              lastSlot = internals.slotOf(generic, key)
              return lastSlot === 0 ? MISS : internals.readSlot(lastSlot)
            }
    const guarded = internals === undefined
    // `h` is the argument scan's hash when the by-value hit path below missed: a hit found here is remembered.
    const run = (self: unknown, args: unknown[], h: number): unknown => {
      let key: string
      let hit: unknown = MISS
      let writable = true
      try {
        key = encodeKey(args)
        if (guarded && !breaker.allow()) writable = false
        else {
          try {
            hit = readValue(args, key)
            if (guarded) breaker.success()
          } catch (error) {
            writable = readFailed(error, key)
          }
        }
      } catch (error) {
        // Key and strict-mode storage errors reach a promise-returning function's callers as rejections.
        if (identity.returnsPromise) return Promise.reject(error)
        throw error
      }
      if (hit !== MISS) {
        if (h !== NO_SCAN) remember(h)
        return identity.returnsPromise ? Promise.resolve(hit) : hit
      }
      const inflight = pending.get(key)
      if (inflight !== undefined) return inflight
      const result = fn.apply(self, args)
      if (!isPromiseLike(result)) {
        identity.returnsPromise ??= false
        if (writable) write(key, result)
        return result
      }
      identity.returnsPromise = true
      const flight: Promise<unknown> = Promise.resolve(result).then(
        (value) => {
          // A delete or clear while this ran means the value may be outdated: return it, don't store it.
          if (pending.get(key) !== flight) return value
          pending.delete(key)
          if (writable) write(key, value)
          return value
        },
        (error: unknown) => {
          if (pending.get(key) === flight) pending.delete(key)
          throw error
        },
      )
      pending.set(key, flight)
      return flight
    }

    // By-value hits over a memory storage: a scan of the arguments (no key string) finds recently hit entries by
    // value; see arg-scan.ts. Type encoders could claim plain objects and arrays (`instanceof Object`), so they
    // turn this off.
    const byValue = generic !== undefined && (typeEncoders === undefined || typeEncoders.length === 0)
    const openList = `${keyPrefix}[`
    let recent: RecentHits | undefined
    // Called right after a hit that `readValue` found in the generic table, in slot `lastSlot`.
    const remember = (h: number): void => {
      // The stored key string itself, not the equal one just built: hits then compare it by reference.
      const stored = (internals as MemoryInternals).keyAt(generic as Table, lastSlot)
      if (typeof stored === 'string' && recent !== undefined) rememberRecent(recent, h, lastSlot, stored, openList)
    }

    const read = internals?.read
    if (numbers === undefined || read === undefined) {
      wrapper = function cached(this: unknown, ...args: unknown[]): unknown {
        return run(this, args, NO_SCAN)
      }
    } else {
      const { keyAt, readSlot } = internals as MemoryInternals
      const other = function (this: unknown, ...args: unknown[]): unknown {
        let h = NO_SCAN
        if (byValue) {
          recent ??= createRecentHits()
          if (shouldScan(recent)) {
            h = scanArgs(args)
            if (h !== NO_SCAN) {
              const i = findRecent(recent, h)
              // The slot must still hold the remembered entry: it may have been deleted, evicted or reused since.
              if (i !== -1) {
                const slot = recent.slots[i] as number
                if (keyAt(generic as Table, slot) === recent.keys[i]) {
                  const value = readSlot(slot)
                  if (value !== MISS) {
                    countScan(recent, true)
                    return identity.returnsPromise ? Promise.resolve(value) : value
                  }
                }
              }
            }
            countScan(recent, false)
          }
        }
        return run(this, args, h)
      }
      wrapper = function cached(this: unknown): unknown {
        // `arguments` read in place, never stored or passed on but by `apply`: then V8 allocates no arguments
        // object, and the one-number path allocates nothing (bench S1).
        // biome-ignore lint/complexity/noArguments: as above
        if (arguments.length === 1) {
          // biome-ignore lint/complexity/noArguments: as above
          const a: unknown = arguments[0]
          if (typeof a === 'number') {
            if (a !== 0 || 1 / a > 0) {
              const value = read(numbers, a)
              if (value !== MISS) return identity.returnsPromise ? Promise.resolve(value) : value
            }
            return run(this, [a], NO_SCAN)
          }
        }
        // biome-ignore lint/complexity/noArguments: as above
        return other.apply(this, arguments as unknown as unknown[])
      }
    }
    remove = (key) => {
      pending.delete(key)
      try {
        return sync.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    }
    clear = () => {
      pending.clear()
      try {
        sync.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    }
  } else {
    const remote: AsyncStorage = storage
    const lookup = async (self: unknown, args: unknown[], key: string, flight: { promise?: Promise<unknown> }) => {
      try {
        let writable = breaker.allow()
        if (writable) {
          try {
            const hit = await remote.get(namespace, key)
            breaker.success()
            if (hit !== undefined) return hit.value
          } catch (error) {
            writable = readFailed(error, key)
          }
        }
        const value = await fn.apply(self, args)
        // A delete or clear while this ran means the value may be outdated: return it, don't store it.
        if (writable && pending.get(key) === flight.promise && (shouldCache === undefined || shouldCache(value))) {
          try {
            await remote.set(namespace, key, value, setOptions)
            breaker.success()
          } catch (error) {
            writeFailed(error, key)
          }
        }
        return value
      } finally {
        if (pending.get(key) === flight.promise) pending.delete(key)
      }
    }
    wrapper = function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
      let key: string
      try {
        key = encodeKey(args)
      } catch (error) {
        return Promise.reject(error)
      }
      const inflight = pending.get(key)
      if (inflight !== undefined) return inflight
      const flight: { promise?: Promise<unknown> } = {}
      const promise = lookup(this, args, key, flight)
      flight.promise = promise
      pending.set(key, promise)
      return promise
    }
    remove = async (key) => {
      pending.delete(key)
      try {
        return await remote.delete(namespace, key)
      } catch (error) {
        throw toStorageError(storage, 'delete', error)
      }
    }
    clear = async () => {
      pending.clear()
      try {
        await remote.clear(namespace, keyPrefix)
      } catch (error) {
        throw toStorageError(storage, 'clear', error)
      }
    }
  }

  mirrorFunction(wrapper, fn)
  const helpers = {
    delete: (...args: unknown[]) => remove(encodeKey(args)),
    clear: () => clear(),
    keyFor: (...args: unknown[]) => encodeKey(args),
  }
  return Object.assign(wrapper, helpers) as never
}
