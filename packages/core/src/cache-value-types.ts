/**
 * The types of what `cacheValue` returns: the wrapper's call, its result shape (sync or a Promise, by `fn` and the
 * storage) and its helpers. Apart from cache-value.ts, which builds the wrappers, so each reads on its own.
 */
import type { CacheStats } from './observed-call'
import type { AnyStorage, AsyncStorage, MaybePromise } from './storage'

/** `true` when `S` is an {@link AsyncStorage}. */
export type IsAsyncStorage<S extends AnyStorage> = S extends AsyncStorage ? true : false

/**
 * What a cached call returns: a Promise of the awaited result when `fn` returns a Promise or the storage is
 * async; the plain result when both are sync.
 */
export type CachedReturn<R, Async extends boolean> =
  R extends PromiseLike<unknown> ? Promise<Awaited<R>> : Async extends true ? Promise<R> : R

/**
 * The function `cacheValue` returns: `fn`'s parameters and `this` (passed through to `fn`, not part of the key),
 * plus helpers to inspect and drop its entries.
 */
export interface CachedFunction<Args extends readonly unknown[], Return, Async extends boolean, This = unknown> {
  (this: This, ...args: Args): Return
  /** Deletes the entry for these arguments; resolves to `true` if one was there. Storage failures throw. */
  delete(...args: Args): MaybePromise<boolean, Async>
  /** Deletes every entry of this function (only its own, in its namespace). Storage failures throw. */
  clear(): MaybePromise<void, Async>
  /**
   * Runs `fn` now and stores its result, whatever the storage holds (a forced refresh), and returns the result as
   * a call would. Computations of these arguments already running don't overwrite it, and from the moment it is
   * called no call is answered by them (those already waiting for them still are). Over a storage with leases it
   * first waits for another replica's lease on the key (up to `waitTimeout`, then it runs `fn` without storing, or
   * throws with `onLeaseTimeout: 'throw'`), so that an invalidation while `fn` runs keeps its result out.
   */
  refresh(this: This, ...args: Args): Return
  /** The key these arguments are stored under, inside the namespace (the backend adds its prefix and namespace). */
  keyFor(...args: Args): string
  /** This wrapper's outcome counts since it was created; needs the `stats: true` option (else a `UsageError`). */
  stats(): CacheStats
}
