import { closestName, hasLoneSurrogate } from './backend'
import type { CircuitBreakerOptions } from './breaker'
import { describe } from './describe'
import type { Duration } from './duration'
import {
  type CodecError,
  type ComputeError,
  ConfigError,
  type StorageError,
  type StorageOp,
  type TimeoutError,
} from './errors'
import type { FreshnessOptions } from './freshness-options'
import type { TypeEncoder } from './keys'
import { memoryStorage } from './memory'
import type { AnyStorage, Storage } from './storage'

/** What `onError` is told about a storage or codec failure, or a failed computation served stale. */
export interface ErrorReport {
  /**
   * The storage operation that failed, or `'compute'`: `fn` failed or timed out (or a background refresh did) and
   * a stale value was served instead (`staleIfError`, `swr`, `refreshAhead`).
   */
  readonly op: StorageOp | 'compute'
  /** The storage's `name`, e.g. `'redis'`. */
  readonly storage: string
  /** The namespace involved. */
  readonly namespace: string
  /** The storage key involved; `undefined` for namespace-wide operations. */
  readonly key: string | undefined
  /** The cached function's name (its `name` option, else `fn.name`); `undefined` for `cacheClear`. */
  readonly functionName?: string | undefined
  /**
   * A `StorageError` (with the driver's error as `cause`) or a `CodecError` (a corrupt payload, read as a miss, or
   * a result the codec can't store); for `'compute'`, a `ComputeError` (what `fn` threw is its `cause`) or a
   * `TimeoutError`.
   */
  readonly error: StorageError | CodecError | ComputeError | TimeoutError
}

/** The options that decide how arguments become a cache key; shared by `cacheValue` and `cacheReference`. */
export interface KeyOptions<Args extends readonly unknown[] = unknown[]> {
  /**
   * The function's identity inside keys. Default: `fn.name`. Keys must be stable across processes and restarts
   * so replicas share entries, so an anonymous function needs a `name`.
   * @example name: 'users.byId'
   */
  readonly name?: string
  /**
   * When true, each argument's runtime type takes part in the key, so values that type encoders map to the same
   * thing stay separate. Default: false.
   */
  readonly typed?: boolean
  /**
   * A custom key function; its result is encoded like arguments are. Can't be combined with `ignoreArgs`.
   * @example key: (user, opts) => user.id
   */
  readonly key?: (...args: Args) => unknown
  /**
   * Argument positions (0-based) left out of the key: connections, loggers, request contexts. Default: none.
   * @example ignoreArgs: [1]
   */
  readonly ignoreArgs?: readonly number[]
  /**
   * Ordered `[Class, encode]` pairs, matched with `instanceof`, first match wins: how to key class instances.
   * Default: none (a class instance in the arguments is a `KeyError`).
   * @example typeEncoders: [[ObjectId, (id) => id.toHexString()]]
   */
  readonly typeEncoders?: readonly TypeEncoder[]
}

/** Options of `cacheValue`. */
export interface CacheValueOptions<
  Args extends readonly unknown[] = unknown[],
  Result = unknown,
  S extends AnyStorage = AnyStorage,
> extends KeyOptions<Args>,
    FreshnessOptions<Result> {
  /** Where results are kept. Default: one process-wide `memoryStorage()` (10,000 entries, LRU). */
  readonly storage?: S
  /**
   * Groups entries so `cacheClear` can drop them together. Any non-empty, well-formed string (no lone surrogate).
   * Default: `'default'`.
   */
  readonly namespace?: string
  /**
   * Told about every storage or codec failure. Default: a process warning, at most one per storage every 10 s.
   * A hook that throws is ignored (it must never break the cached call).
   */
  readonly onError?: (report: ErrorReport) => void
  /**
   * true (default): a failing storage makes the call run `fn` and return its value (and `onError` is told).
   * false: storage failures reject/throw a `StorageError` with the driver's error as `cause`.
   */
  readonly failOpen?: boolean
  /**
   * After `failures` consecutive storage failures (default 5), skip the storage for `cooldownMs` (default 5,000 ms)
   * and just run `fn`; then one call probes the storage. Opening is reported to `onError`. Corrupt payloads don't
   * count; `.delete` and `.clear` are never skipped. `false` turns it off. Default: on.
   * @example circuitBreaker: { failures: 3, cooldownMs: 10_000 }
   */
  readonly circuitBreaker?: CircuitBreakerOptions | false
  /**
   * Decides whether a result is stored. Default: every result, including `undefined` and `null`.
   * @example shouldCache: (value) => value != null
   */
  readonly shouldCache?: (value: Awaited<Result>) => boolean
  /**
   * How keys appear in telemetry (`memokit:*` diagnostics channels): `'none'` (default: keys can hold personal
   * data), `'digest'` (the first 16 characters of their SHA-256, base64url) or `'raw'`.
   */
  readonly observeKeys?: 'none' | 'digest' | 'raw'
  /**
   * The tags of a call's result, for {@link invalidateTags}: e.g. `(id) => ['user:' + id]`. Each read of a tagged
   * entry also reads its tags' tokens (one batched read when the storage has `getMany`), so leave it off where no
   * tag is needed. An entry invalidated by a tag is never served fresh or through `swr`; it still serves within
   * `staleIfError`. Default: none.
   */
  readonly tags?: (...args: Args) => readonly string[]
  /**
   * `'process'` (default): concurrent misses of one key share one computation in this process. `'distributed'`:
   * one computation per key across every replica sharing the storage: a miss whose key's lease another replica
   * holds polls for that replica's value instead of computing. Needs an async storage with the lease members
   * (Redis, MongoDB, memcached, file); else a `ConfigError`. Over such a storage, results are stored through the
   * lease in both modes, so a `delete`/`clear` on any replica keeps an overtaken computation's result out.
   */
  readonly singleFlight?: 'process' | 'distributed'
  /**
   * How long a computation's lease lives unless extended; the holder extends it every third of that while `fn`
   * runs, so a crashed replica's lease lapses within it. A duration (`'10s'`) or ms. Default: `'10s'`.
   */
  readonly lease?: Duration
  /**
   * `singleFlight: 'distributed'`: how long a miss waits for the replica holding the lease before it decides
   * (`onLeaseTimeout`). A duration or ms. Default: `timeout.hard` when set, else `'5s'`.
   */
  readonly waitTimeout?: Duration
  /**
   * `singleFlight: 'distributed'`, after `waitTimeout`: `'compute'` (default) runs `fn` here and returns its value
   * without storing it (a `lease-wait-timeout` event tells); `'throw'` rejects with a `TimeoutError` (`lease: true`).
   */
  readonly onLeaseTimeout?: 'compute' | 'throw'
  /** Count this wrapper's outcomes for `.stats()`. Costs a little on every call, so off by default. */
  readonly stats?: boolean
}

const DEFAULT_NAMESPACE = 'default'
let sharedMemory: Storage | undefined

/** The process-wide memory storage used when no `storage` is given. */
export function defaultStorage(): Storage {
  sharedMemory ??= memoryStorage()
  return sharedMemory
}

// What a string passed where the options belong most likely meant, by the options the entry point takes.
const STRING_MEANT_AS = ['namespace', 'namespaces', 'name'] as const

/**
 * Throws a ConfigError unless `options` is an options object whose keys are all in `allowed`, so a typo is never
 * silently ignored: an unknown key names the closest valid one, and a string (`cacheValue(fn, 'users')`) is
 * answered with the object it most likely meant (`{ namespace: 'users' }`).
 */
export function rejectUnknownOptions(entry: string, options: unknown, allowed: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const meant = STRING_MEANT_AS.find((name) => allowed.includes(name))
    const hint =
      typeof options === 'string' && meant !== undefined
        ? `; did you mean ${entry}(fn, { ${meant}: ${JSON.stringify(options)} })?`
        : `; valid options are ${allowed.join(', ')}`
    throw new ConfigError('options', `${entry}: options must be an object, got ${describe(options)}${hint}`)
  }
  for (const name of Object.keys(options)) {
    if (allowed.includes(name)) continue
    const guess = closestName(name, allowed)
    throw new ConfigError(
      name,
      `${entry}: unknown option '${name}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}; valid options are ${allowed.join(', ')}`,
    )
  }
}

const STORAGE_MEMBERS = ['async', 'get', 'set', 'delete', 'clear'] as const

/** The `storage` option, checked: the default memory storage when absent. */
export function resolveStorage(entry: string, storage: unknown): AnyStorage {
  if (storage === undefined) return defaultStorage()
  const s = (typeof storage === 'object' && storage !== null ? storage : {}) as Record<string, unknown>
  const missing = STORAGE_MEMBERS.filter((m) => typeof s[m] !== (m === 'async' ? 'boolean' : 'function'))
  if (missing.length > 0) {
    // Passing a driver's client (a node-redis client, a MongoClient) instead of a storage is the usual slip.
    throw new ConfigError(
      'storage',
      `${entry}: storage must be a memokit storage (a Storage or AsyncStorage: an async flag, get, set, delete and clear), got ${describe(storage)}${missing.length < STORAGE_MEMBERS.length ? ` without ${missing.join(', ')}` : ''}; use memoryStorage() or a backend's factory such as redisStorage({ client })`,
    )
  }
  return storage as AnyStorage
}

/** The namespace holding one token per tag (tags.ts), shared by every namespace of a storage. Reserved. */
export const TAG_NAMESPACE = 'memokit:tags'

export function resolveNamespace(entry: string, namespace: unknown): string {
  if (namespace === undefined) return DEFAULT_NAMESPACE
  if (typeof namespace !== 'string' || namespace.length === 0) {
    throw new ConfigError(
      'namespace',
      `${entry}: namespace must be a non-empty string (any characters), got ${describe(namespace)}; omit it for '${DEFAULT_NAMESPACE}'`,
    )
  }
  if (namespace === TAG_NAMESPACE) {
    throw new ConfigError(
      'namespace',
      `${entry}: the namespace '${TAG_NAMESPACE}' is reserved for tag tokens (see invalidateTags); choose another`,
    )
  }
  if (hasLoneSurrogate(namespace)) {
    throw new ConfigError(
      'namespace',
      `${entry}: namespace ${describe(namespace)} contains a lone surrogate (half of a UTF-16 pair), which is not valid text: storages that hold UTF-8 reject it or turn it into U+FFFD; use well-formed text`,
    )
  }
  return namespace
}

export function resolveFunction(entry: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new ConfigError('fn', `${entry}: expected a function to wrap, got ${describe(fn)}`)
  }
}

export function resolveBoolean(entry: string, option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') {
    throw new ConfigError(option, `${entry}: ${option} must be true or false, got ${describe(value)}`)
  }
  return value
}

export function resolveHook<T extends (...args: never[]) => unknown>(
  entry: string,
  option: string,
  value: unknown,
): T | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    throw new ConfigError(option, `${entry}: ${option} must be a function, got ${describe(value)}`)
  }
  return value as T
}

// biome-ignore lint/suspicious/noExplicitAny: the wrapped function's own signature is what callers see.
export type AnyFunction = (...args: any[]) => any

/** True for Promises and other thenables (what `await` would wait for). */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/** Gives `wrapper` the `name` and `length` of the function it wraps, so stack traces and arity checks still fit. */
export function mirrorFunction<W extends object>(wrapper: W, fn: AnyFunction): W {
  Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true })
  Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true })
  return wrapper
}
