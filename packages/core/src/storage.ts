/**
 * The storage contract every memokit backend implements.
 *
 * One contract, generic over sync/async: `Storage` answers directly, `AsyncStorage` answers with promises.
 * Keys come in two parts: the namespace (any string) and the key inside it (built by core from the function
 * identity and the encoded arguments). A backend maps both onto its own physical key injectively, so that
 * `clear(namespace)` can remove exactly one namespace.
 */

/** `T` for a sync storage, `Promise<T>` for an async one. */
export type MaybePromise<T, Async extends boolean> = Async extends true ? Promise<T> : T

/** What a read returns on a hit. A miss is `undefined` (so a cached `undefined` value stays distinguishable). */
export interface Entry<T = unknown> {
  /** The stored value, decoded. */
  readonly value: T
  /** When the entry was written, in ms since the Unix epoch. */
  readonly createdAt: number
  /** When the entry expires, in ms since the Unix epoch; `undefined` when it never expires. */
  readonly expiresAt: number | undefined
  /**
   * What core wrote with the entry ({@link SetOptions.meta}), returned as it was written; absent when the write had
   * none, or when the storage predates this field (core then falls back to what it knows of the function).
   */
  readonly meta?: EntryMeta | undefined
}

/**
 * Metadata core keeps with an entry. A plain object of JSON values (strings, finite numbers, booleans, null, arrays
 * and plain objects of those): a storage stores it with the entry, verbatim, and returns an equal object with the
 * entry. A storage treats it as opaque; only core interprets it, so fields can be added without changing backends.
 */
export interface EntryMeta {
  /** `true` when the function returned a Promise for this result, so a hit returns a Promise too. */
  readonly promise?: boolean
  /** End of freshness, ms since the epoch: from then on the entry is stale (served only as the windows allow). */
  readonly staleAt?: number
  /** A fresh hit from then on starts a background refresh (`refreshAhead`), ms since the epoch. */
  readonly refreshAt?: number
  /** End of the stale-while-revalidate window, ms since the epoch. */
  readonly swrUntil?: number
  /** End of the stale-if-error window, ms since the epoch. */
  readonly errorUntil?: number
  /** The entry's tags, each with the token it had when the computation started (`tags` option). */
  readonly tags?: Readonly<Record<string, string>>
}

/** Options of a write. An object, so later features (stale-while-revalidate, tags) can add fields. */
export interface SetOptions {
  /** Time to live in ms; `undefined` means no expiry. Always a positive finite number when given. */
  readonly ttl?: number | undefined
  /** Metadata to keep with the entry and return, equal, as {@link Entry.meta}; `undefined`: none. */
  readonly meta?: EntryMeta | undefined
}

/** The members shared by {@link Storage} and {@link AsyncStorage}. */
export interface StorageContract<Async extends boolean> {
  /** `true` for an {@link AsyncStorage}, `false` for a sync {@link Storage}; core picks its code path by it. */
  readonly async: Async
  /** A short label for messages and `onError` reports, e.g. `'memory'` or `'redis'`. */
  readonly name: string
  /**
   * Where this storage writes, e.g. `'redis://127.0.0.1:6379/0 memokit:shop:'`: two storage objects with the same
   * scope read each other's entries (two clients of one server and prefix), two with different scopes never do.
   * Core keys its duplicate-name guard and its namespace registry on it. Optional: without it, the storage object
   * itself is the scope. It must not contain credentials.
   */
  readonly scope?: string
  /**
   * Reads an entry. Returns `undefined` on a miss: absent, expired, or written under another namespace.
   * Throws (rejects) on a storage failure; a corrupt payload throws a `CodecError`.
   */
  get(namespace: string, key: string): MaybePromise<Entry | undefined, Async>
  /**
   * Reads several entries of one namespace at once, in the order of `keys` (`undefined` for each miss), as `get`
   * would. Optional: core reads tag tokens with it in one round trip (MGET, `$in`, multi-get); without it, core
   * issues the `get`s concurrently.
   */
  getMany?(namespace: string, keys: readonly string[]): MaybePromise<(Entry | undefined)[], Async>
  /** Writes (or overwrites) an entry; an overwrite replaces the value and restarts the expiry. */
  set(namespace: string, key: string, value: unknown, options?: SetOptions): MaybePromise<void, Async>
  /**
   * Writes only if no live entry exists (atomic "set if absent", the building block of locks).
   * Returns `true` when this call wrote the entry. Optional: a storage that can't do it atomically omits it.
   */
  add?(namespace: string, key: string, value: unknown, options?: SetOptions): MaybePromise<boolean, Async>
  /**
   * Lease members (all four or none): a lease is a short-lived token kept beside an entry, outside what `get` sees,
   * for distributed single-flight and fenced writes (`singleFlight: 'distributed'`). `delete(namespace, key)`
   * removes the entry's lease too, and `clear` removes the leases of the entries it clears, so an invalidation
   * fences out a computation that is still running somewhere. Each member is atomic across every process sharing
   * the storage (within one machine for the file storage).
   *
   * `acquireLease` takes the lease on the entry `key` for `ttl` ms if nobody holds a live one; `true` when this call
   * took it. `token` is a random string of 16 to 64 characters (core uses 128 random bits).
   */
  acquireLease?(namespace: string, key: string, token: string, ttl: number): MaybePromise<boolean, Async>
  /** Deletes the lease on `key` only while it holds `token`; `true` when it did. */
  releaseLease?(namespace: string, key: string, token: string): MaybePromise<boolean, Async>
  /** Restarts the lease's expiry at `ttl` ms from now, only while it holds `token`; `true` when it did. */
  extendLease?(namespace: string, key: string, token: string, ttl: number): MaybePromise<boolean, Async>
  /**
   * The fenced write: writes the entry as `set` would and deletes its lease, in one atomic step, only while the
   * lease holds `token`. `false`, and nothing written, when the lease expired, went to another token, or was removed
   * by a `delete` or `clear`.
   */
  setIfLeased?(
    namespace: string,
    key: string,
    value: unknown,
    token: string,
    options?: SetOptions,
  ): MaybePromise<boolean, Async>
  /** Deletes one entry. Returns `true` if a live entry was there, `false` otherwise. */
  delete(namespace: string, key: string): MaybePromise<boolean, Async>
  /**
   * Deletes every entry of one namespace, and nothing else. With `keyPrefix`, only the namespace's entries whose
   * key starts with it (core passes `'<function identity>:'` to clear one function's entries).
   */
  clear(namespace: string, keyPrefix?: string): MaybePromise<void, Async>
  /** Releases what the storage opened itself (connections, timers); a client passed in by the user stays open. */
  close?(): MaybePromise<void, Async>
}

/** A storage that answers synchronously (memory, sync file storage). */
export type Storage = StorageContract<false>
/** A storage that answers with promises (Redis, MongoDB, memcached, async file storage). */
export type AsyncStorage = StorageContract<true>
/** Either kind of storage. */
export type AnyStorage = Storage | AsyncStorage
