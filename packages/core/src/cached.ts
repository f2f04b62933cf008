/**
 * `@cached` and `@cachedClear`: TC39 standard method decorators (TypeScript 5, no `experimentalDecorators`), thin
 * adapters over `cacheValue` and `cacheClear`.
 *
 * Without a `storage`, entries are per receiver (the instance; the class for static members) in a memory table
 * held in a WeakMap keyed by the receiver: nothing else references the table (memory storages have no `scope`, and
 * core's per-storage state — identity registry, breaker, warnings, fast-path internals — is held in WeakMaps keyed
 * by the storage), so the table and its wrappers are collected with the instance. Entries that reference the
 * instance don't keep it alive either: a WeakMap value only lives as long as its key. The tables, and the methods
 * that replace a decorated one, are in cached-replacement.ts.
 */
import { type CacheClearOptions, cacheClear } from './cache-clear'
import { cacheValue, type IsAsyncStorage } from './cache-value'
import type { CacheValueOptions } from './cache-value-options'
import { sharedReplacement, tableReplacement, tables } from './cached-replacement'
import {
  asEntry,
  type Context,
  checkNotGenerator,
  checkObject,
  checkSite,
  memberName,
  receiver,
  scratchStorage,
} from './cached-site'
import { ConfigError } from './errors'
import { declareNamespace, invalidateFlights } from './identity'
import { memoryStorage } from './memory'
import {
  type AnyFunction,
  isPromiseLike,
  mirrorFunction,
  rejectUnknownOptions,
  resolveHook,
  resolveNamespace,
  resolveStorage,
} from './options'
import { VALUE_OPTIONS } from './plan'
import type { AnyStorage, Storage } from './storage'

/** Options of `@cached`: the `cacheValue` options but `stats`, plus `instanceKey`. */
// Any signature: the options are written before the method they decorate is known.
export interface CachedOptions<Self = unknown, S extends AnyStorage = Storage>
  extends Omit<CacheValueOptions<Parameters<AnyFunction>, ReturnType<AnyFunction>, S>, 'stats'> {
  /**
   * Not on `@cached` (a `ConfigError`): a decorated method has no `.stats()` to read the counts from. Count its
   * calls on the `memokit:call` channel (`functionName` `ClassName.method`) or with `@memokit/otel`, or wrap the
   * function with `cacheValue` for `.stats()`.
   */
  readonly stats?: never
  /**
   * Keys entries by a stable id of the instance (its first key part) instead of keeping them per instance, so
   * instances, and replicas, with the same id share entries. Required with a `storage` (except on static methods);
   * returns a non-empty string or a finite number. Annotate `self`: TypeScript can't infer it from the class.
   * @example instanceKey: (self: UserService) => self.tenantId
   */
  readonly instanceKey?: (self: Self) => string | number
}

/**
 * What a method (or getter) must return to be decorated: a Promise when the storage is async, or may be (a storage
 * typed `AnyStorage`, for which `Async` is `boolean`).
 */
export type CachedResult<Async extends boolean> = [Async] extends [false] ? unknown : Promise<unknown>

/** The decorator `cached()` returns; the decorated member keeps its exact type. */
export interface CachedDecorator<Self, Async extends boolean> {
  <This extends Self, Args extends unknown[], R extends CachedResult<Async>>(
    method: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => R
  <This extends Self, R extends CachedResult<Async>>(
    getter: (this: This) => R,
    context: ClassGetterDecoratorContext<This, R>,
  ): (this: This) => R
}

/** The decorator `cachedClear()` returns (methods only). */
export type CachedClearDecorator<Async extends boolean> = <This, Args extends unknown[], R extends CachedResult<Async>>(
  method: (this: This, ...args: Args) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
) => (this: This, ...args: Args) => R

/**
 * Caches a method's (or getter's) results with `cacheValue`. Without `storage`, per instance (see the module
 * comment); with `storage`, keyed by `instanceKey(this)`. Name default: `ClassName.method`. `stats` is a
 * `ConfigError` here (no `.stats()` to read): count calls on the `memokit:call` channel instead.
 *
 * @example
 * class Users { @cached({ ttl: '5m' }) find(id: number) { return this.repo.find(id) } }
 */
export function cached<Self = unknown, S extends AnyStorage = Storage>(
  options: CachedOptions<Self, S> = {},
): CachedDecorator<Self, IsAsyncStorage<S>> {
  const entry = '@cached'
  checkObject(entry, options)
  rejectUnknownOptions(entry, options, [...VALUE_OPTIONS, 'instanceKey'])
  const { instanceKey, ...value } = options as CachedOptions & Record<string, unknown>
  checkNoStats(entry, value.stats)
  resolveHook(entry, 'instanceKey', instanceKey)
  if (value.storage !== undefined) resolveStorage(entry, value.storage)
  // The options are checked now, on a scratch storage of the same kind, so a bad one fails where the class is defined.
  asEntry(entry, () => cacheValue(function probe() {}, { ...value, storage: scratchStorage(value.storage) }))
  if (value.tags !== undefined && value.storage === undefined) {
    throw new ConfigError(
      'tags',
      `${entry}: tags are invalidated with invalidateTags(storage, tags), and without a storage the entries live in per-instance memory tables no invalidateTags call can reach; pass the storage (with instanceKey), or drop tags and clear with @cachedClear`,
    )
  }
  if (instanceKey !== undefined && value.storage === undefined) {
    throw new ConfigError(
      'instanceKey',
      `${entry}: instanceKey shares entries between instances through a storage, and none was given; pass the storage (the one your @cachedClear methods clear), or drop instanceKey for per-instance entries`,
    )
  }
  return ((method: AnyFunction, context: Context) => {
    checkSite(entry, context, ['method', 'getter'])
    checkNotGenerator(entry, method, context)
    const member = memberName(context)
    if (value.storage === undefined) return tableReplacement(method, context, value)
    if (instanceKey === undefined && !context.static) {
      throw new ConfigError(
        'instanceKey',
        `${entry} on '${member}': entries are per instance by default, kept in a memory table collected with the instance, which a shared storage can't be (other instances and replicas could not tell the entries apart without the instance in the key). Pass instanceKey: (self: YourClass) => self.id, a stable id shared by the instances that may share entries, or drop \`storage\` for per-instance memory entries`,
      )
    }
    if (context.private && !context.static && value.name === undefined) {
      throw new ConfigError(
        'name',
        `${entry} on private '${member}': its class can't be found at runtime, so the default name ClassName.${member} is not stable across replicas; pass a \`name\`, e.g. { name: 'UserService.load' }`,
      )
    }
    // Its wrapper is made with the first instance: a clear of its namespace before that still reaches an entry user.
    declareNamespace(value.storage, resolveNamespace(entry, value.namespace))
    return sharedReplacement(method, context, value, instanceKey as ((self: unknown) => unknown) | undefined)
  }) as never
}

/**
 * `stats: true` would count into wrappers nobody can reach: the decorated member is replaced by a plain method (see
 * cached-replacement.ts, one wrapper per instance without a storage), which has no `.stats()`. Checked before
 * anything is created. `false` asks for nothing, so it passes. createMemokit's `cached` leaves a default `stats` out (defaults.ts).
 */
function checkNoStats(entry: string, stats: unknown): void {
  if (stats === undefined || stats === false) return
  throw new ConfigError(
    'stats',
    `${entry}: stats counts outcomes for a wrapper's .stats(), and a decorated method has none (it is replaced by a plain method), so nothing could read the counts. Count its calls on the memokit:call diagnostics channel (functionName 'ClassName.method') or with @memokit/otel, or wrap the function with cacheValue(fn, { stats: true }) to call .stats()`,
  )
}

/**
 * Clears `namespaces` when the method settles, like `cacheClear`. Without `storage`, in the receiver's own table
 * (what its `@cached` methods without `storage` fill); with `storage`, in that storage, for every instance.
 */
export function cachedClear<S extends AnyStorage = Storage>(
  options: CacheClearOptions<S>,
): CachedClearDecorator<IsAsyncStorage<S>> {
  const entry = '@cachedClear'
  checkObject(entry, options)
  const storage = options.storage ?? memoryStorage({ maxEntries: 1 })
  asEntry(entry, () => cacheClear(function probe() {}, { ...options, storage }))
  const raw = options.namespaces
  const namespaces = typeof raw === 'string' ? [raw] : [...raw]
  return ((method: AnyFunction, context: Context) => {
    checkSite(entry, context, ['method'])
    checkNotGenerator(entry, method, context)
    if (options.storage !== undefined) {
      // cacheClear passes any `this` through; a decorated method called without its instance is a UsageError here too.
      const clearing = cacheClear(method, options) as AnyFunction
      const replacement = function clearingMember(this: unknown, ...args: unknown[]): unknown {
        return clearing.apply(receiver(this, entry, context), args)
      }
      return mirrorFunction(replacement, method)
    }
    const clearTable = (self: object): void => {
      const table = tables.get(self)
      if (table === undefined) return // nothing was cached for this receiver
      for (const namespace of namespaces) {
        invalidateFlights(table.storage, namespace)
        table.storage.clear(namespace)
      }
    }
    // Not cacheClear: its unused-namespace warning can't know which namespaces a receiver's table will hold.
    const replacement = function clearing(this: unknown, ...args: unknown[]): unknown {
      const self = receiver(this, entry, context)
      let result: unknown
      try {
        result = method.apply(self, args)
      } catch (error) {
        clearTable(self)
        throw error
      }
      if (!isPromiseLike(result)) {
        clearTable(self)
        return result
      }
      return Promise.resolve(result).finally(() => clearTable(self))
    }
    return mirrorFunction(replacement, method)
  }) as never
}
