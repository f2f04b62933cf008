/*
 * The documented options of `cacheValue`: `CacheValueOptions`, the `KeyOptions` it shares with `cacheReference`,
 * and the `ErrorReport` its `onError` hook is given. Types only, what a user reads in an editor; apart from
 * options.ts, which holds the checks the entry points run on their options. The freshness options (ttl, swr, ...)
 * are in freshness-options.ts.
 */
import type { CircuitBreakerOptions } from './breaker'
import type { Duration } from './duration'
import type { CodecError, ComputeError, StorageError, StorageOp, TimeoutError } from './errors'
import type { FreshnessOptions } from './freshness-options'
import type { TypeEncoder } from './keys'
import type { AnyStorage } from './storage'

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
   * Decides whether a result is stored. Default: every result, including `undefined` and `null`. If it throws,
   * the result is returned unstored and the error goes to `onError` (op `'set'`).
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
