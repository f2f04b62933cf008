import { type CacheClearOptions, cacheClear } from './cache-clear'
import { type CachedFunction, type CachedReturn, cacheValue, type IsAsyncStorage } from './cache-value'
import type { CacheValueOptions } from './cache-value-options'
import { type CachedClearDecorator, type CachedDecorator, type CachedOptions, cached, cachedClear } from './cached'
import { asEntry, scratchStorage } from './cached-site'
import { ConfigError } from './errors'
import { invalidateFlights, namespacesInUse } from './identity'
import { type AnyFunction, defaultStorage, rejectUnknownOptions, resolveStorage } from './options'
import { VALUE_OPTIONS } from './plan'
import type { AnyStorage, Storage } from './storage'

/**
 * The defaults `createMemokit` applies: every `cacheValue` option except the ones that describe one function
 * (`name`, `key`, `ignoreArgs`).
 */
export type MemokitDefaults<S extends AnyStorage = Storage> = Omit<
  CacheValueOptions<Parameters<AnyFunction>, ReturnType<AnyFunction>, S>,
  PerFunction
>

type PerFunction = 'name' | 'key' | 'ignoreArgs'
const PER_FUNCTION: readonly string[] = ['name', 'key', 'ignoreArgs', 'instanceKey']
/** The defaults that `cacheClear` and `@cachedClear` take too. */
const CLEAR_DEFAULTS = ['storage', 'onError', 'failOpen'] as const

/** `cacheValue`, `cacheClear`, `@cached` and `@cachedClear` with a set of defaults applied. */
export interface Memokit<S extends AnyStorage = Storage> {
  /** `cacheValue` with `storage: undefined`: the process-wide memory storage whatever the default (so sync). */
  cacheValue<F extends AnyFunction>(
    fn: F,
    options: CacheValueOptions<Parameters<F>, ReturnType<F>, Storage> & { readonly storage: undefined },
  ): CachedFunction<Parameters<F>, CachedReturn<ReturnType<F>, false>, false, ThisParameterType<F>>
  /** `cacheValue` with the defaults; `options` win, key by key. */
  cacheValue<F extends AnyFunction, S2 extends AnyStorage = S>(
    fn: F,
    options?: CacheValueOptions<Parameters<F>, ReturnType<F>, S2>,
  ): CachedFunction<
    Parameters<F>,
    CachedReturn<ReturnType<F>, IsAsyncStorage<S2>>,
    IsAsyncStorage<S2>,
    ThisParameterType<F>
  >
  /** `cacheClear` with the defaults `storage`, `onError` and `failOpen`; `options` win, key by key. */
  cacheClear<F extends AnyFunction, S2 extends AnyStorage = S>(
    fn: F,
    options: CacheClearOptions<S2>,
  ): (this: ThisParameterType<F>, ...args: Parameters<F>) => CachedReturn<ReturnType<F>, IsAsyncStorage<S2>>
  /** `@cached` with `storage: undefined`: per-instance memory entries whatever the default storage (so sync). */
  cached<Self = unknown>(options: CachedOptions<Self> & { readonly storage: undefined }): CachedDecorator<Self, false>
  /**
   * `@cached` with the defaults but `stats` (a decorated method has no `.stats()`); `options` win, key by key. A
   * default `storage` needs `instanceKey` per class.
   */
  cached<Self = unknown, S2 extends AnyStorage = S>(
    options?: CachedOptions<Self, S2>,
  ): CachedDecorator<Self, IsAsyncStorage<S2>>
  /** `@cachedClear` with the defaults `storage`, `onError` and `failOpen`; `options` win, key by key. */
  cachedClear<S2 extends AnyStorage = S>(options: CacheClearOptions<S2>): CachedClearDecorator<IsAsyncStorage<S2>>
}

/**
 * Binds defaults once (`storage`, `ttl`, `onError`, any `cacheValue` option but `name`, `key`, `ignoreArgs`), so a
 * service stops repeating them. A per-call option replaces the default of the same key, even when it is
 * `undefined` (`{ ttl: undefined }` drops a default ttl); object options (`timeout`, `circuitBreaker`) are
 * replaced whole, not merged. The defaults are checked here, like `cacheValue`'s options.
 *
 * @example
 * export const { cacheValue, cacheClear, cached, cachedClear } = createMemokit({ storage, ttl: '5m', onError })
 */
export function createMemokit<S extends AnyStorage = Storage>(defaults: MemokitDefaults<S> = {}): Memokit<S> {
  const entry = 'createMemokit'
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) {
    throw new ConfigError('options', `${entry}: defaults must be an object, e.g. createMemokit({ storage, ttl: '5m' })`)
  }
  for (const option of PER_FUNCTION) {
    if (option in defaults) {
      throw new ConfigError(
        option,
        `${entry}: '${option}' describes one function, so it can't be a default (every wrapper would share it); pass it where you wrap that function`,
      )
    }
  }
  rejectUnknownOptions(entry, defaults, VALUE_OPTIONS)
  const d: Record<string, unknown> = { ...defaults }
  if (d.storage !== undefined) resolveStorage(entry, d.storage)
  asEntry(entry, () => cacheValue(function probe() {}, { ...d, storage: scratchStorage(d.storage) }))
  const clearDefaults: Record<string, unknown> = {}
  for (const option of CLEAR_DEFAULTS) if (option in d) clearDefaults[option] = d[option]
  // A default `stats` is for the cacheValue wrappers whose .stats() is read; a decorated method has none, and
  // @cached refuses the option, so the default stops here instead of breaking every cached(...).
  const { stats: _stats, ...cachedDefaults } = d
  return Object.freeze({
    cacheValue: (fn: AnyFunction, options?: unknown) => cacheValue(fn, merge(d, options)),
    cacheClear: (fn: AnyFunction, options: unknown) => cacheClear(fn, merge(clearDefaults, options)),
    cached: (options?: unknown) => cached(merge(cachedDefaults, options)),
    cachedClear: (options: unknown) => cachedClear(merge(clearDefaults, options)),
  }) as never
}

// Anything but an options object goes through unchanged, so the wrapper's own check explains it.
function merge(defaults: Record<string, unknown>, options: unknown): never {
  if (options === undefined) return { ...defaults } as never
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options as never
  return { ...defaults, ...options } as never
}

/**
 * Empties the process-wide memory storage that `cacheValue` and `cacheClear` use without a
 * `storage` option, in place (wrappers already created keep using it), and forgets computations in flight there:
 * for `beforeEach` in tests. Per-instance `@cached` entries are not in it (new instances start empty).
 */
export function resetDefaultStorage(): void {
  const storage = defaultStorage()
  // Every entry in it was written by a wrapper, and every wrapper registered its namespace.
  for (const namespace of namespacesInUse(storage)) {
    invalidateFlights(storage, namespace)
    storage.clear(namespace)
  }
}
