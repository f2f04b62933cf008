/**
 * `@cached` and `@cachedClear`: TC39 standard method decorators (TypeScript 5, no `experimentalDecorators`), thin
 * adapters over `cacheValue` and `cacheClear`.
 *
 * Without a `storage`, entries are per receiver (the instance; the class for static members) in a memory table
 * held in a WeakMap keyed by the receiver: nothing else references the table (memory storages have no `scope`, and
 * core's per-storage state — identity registry, breaker, warnings, fast-path internals — is held in WeakMaps keyed
 * by the storage), so the table and its wrappers are collected with the instance. Entries that reference the
 * instance don't keep it alive either: a WeakMap value only lives as long as its key.
 */
import { type CacheClearOptions, cacheClear } from './cache-clear'
import { cacheValue, type IsAsyncStorage } from './cache-value'
import type { CacheValueOptions } from './cache-value-options'
import {
  asEntry,
  type Context,
  checkObject,
  checkSite,
  className,
  memberName,
  receiver,
  type Wrapper,
} from './cached-site'
import { describe } from './describe'
import { ConfigError, KeyError } from './errors'
import { invalidateFlights } from './identity'
import { memoryStorage } from './memory'
import {
  type AnyFunction,
  isPromiseLike,
  mirrorFunction,
  rejectUnknownOptions,
  resolveHook,
  resolveStorage,
} from './options'
import { VALUE_OPTIONS } from './plan'
import type { AnyStorage, Storage } from './storage'

/** Options of `@cached`: the `cacheValue` options, plus `instanceKey`. */
// Any signature: the options are written before the method they decorate is known.
export interface CachedOptions<Self = unknown, S extends AnyStorage = Storage>
  extends CacheValueOptions<Parameters<AnyFunction>, ReturnType<AnyFunction>, S> {
  /**
   * Keys entries by a stable id of the instance (its first key part) instead of keeping them per instance, so
   * instances, and replicas, with the same id share entries. Required with a `storage` (except on static methods);
   * returns a non-empty string or a finite number. Annotate `self`: TypeScript can't infer it from the class.
   * @example instanceKey: (self: UserService) => self.tenantId
   */
  readonly instanceKey?: (self: Self) => string | number
}

/** What a method (or getter) must return to be decorated: a Promise when the storage is async. */
export type CachedResult<Async extends boolean> = Async extends true ? Promise<unknown> : unknown

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

interface Table {
  readonly storage: Storage
  /** Which decoration holds each default name, so two same-named private methods of a hierarchy stay apart. */
  readonly names: Map<string, object>
}

const tables = new WeakMap<object, Table>()
const AsyncFunction = (async () => {}).constructor

/**
 * Caches a method's (or getter's) results with `cacheValue`. Without `storage`, per instance (see the module
 * comment); with `storage`, keyed by `instanceKey(this)`. Name default: `ClassName.method`.
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
  resolveHook(entry, 'instanceKey', instanceKey)
  if (value.storage !== undefined) resolveStorage(entry, value.storage)
  // The options are checked now, on a scratch storage, so a bad one fails where the class is defined.
  asEntry(entry, () => cacheValue(function probe() {}, { ...value, storage: memoryStorage({ maxEntries: 1 }) }))
  if (instanceKey !== undefined && value.storage === undefined) {
    throw new ConfigError(
      'instanceKey',
      `${entry}: instanceKey shares entries between instances through a storage, and none was given; pass the storage (the one your @cachedClear methods clear), or drop instanceKey for per-instance entries`,
    )
  }
  return ((method: AnyFunction, context: Context) => {
    checkSite(entry, context, ['method', 'getter'])
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
    return sharedReplacement(method, context, value, instanceKey as ((self: unknown) => unknown) | undefined)
  }) as never
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
    if (options.storage !== undefined) return cacheClear(method, options)
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

function tableReplacement(method: AnyFunction, context: Context, value: CacheValueOptions): Wrapper {
  const wrappers = new WeakMap<object, Wrapper>()
  const decoration = {}
  const create = (self: object): Wrapper => {
    let table = tables.get(self)
    if (table === undefined) {
      table = { storage: memoryStorage(), names: new Map() }
      tables.set(self, table)
    }
    let name = value.name
    if (name === undefined) {
      const base = `${className(self, context, replacement)}.${memberName(context)}`
      name = base
      for (let n = 2; (table.names.get(name) ?? decoration) !== decoration; n++) name = `${base}~${n}`
      table.names.set(name, decoration)
    }
    return cacheValue(method, { ...value, storage: table.storage, name }) as Wrapper
  }
  const replacement = function cachedMember(this: unknown, ...args: unknown[]): unknown {
    const self = receiver(this, '@cached', context)
    let wrapper = wrappers.get(self)
    if (wrapper === undefined) {
      wrapper = create(self)
      wrappers.set(self, wrapper)
    }
    return wrapper.apply(self, args)
  }
  return mirrorFunction(replacement, method)
}

function sharedReplacement(
  method: AnyFunction,
  context: Context,
  value: CacheValueOptions,
  instanceKey: ((self: unknown) => unknown) | undefined,
): Wrapper {
  const skip = instanceKey === undefined ? 0 : 1
  const { key, ignoreArgs } = value
  // The instance id is the first argument of the wrapped function, so it is the first part of every key.
  const options: CacheValueOptions = {
    ...value,
    ...(skip === 1 && key !== undefined && { key: (id: unknown, ...args: unknown[]) => [id, key(...args)] }),
    ...(skip === 1 && ignoreArgs !== undefined && { ignoreArgs: ignoreArgs.map((i) => i + 1) }),
  }
  const async = method instanceof AsyncFunction || (value.storage as AnyStorage).async
  // One wrapper for an instance member; one per receiving class for a static one (its `this` is that class).
  const byClass = new WeakMap<object, Wrapper>()
  let single: Wrapper | undefined
  const wrapperFor = (self: object): Wrapper => {
    const found = context.static ? byClass.get(self) : single
    if (found !== undefined) return found
    const name = `${className(self, context, replacement)}.${memberName(context)}`
    const call = function (this: unknown, ...args: unknown[]): unknown {
      return method.apply(this, skip === 0 ? args : args.slice(1))
    }
    const fn =
      method instanceof AsyncFunction
        ? async function (this: unknown, ...args: unknown[]) {
            return call.apply(this, args)
          }
        : call
    // An implicit name (fn.name), so the duplicate-name guard still catches two classes of the same name.
    Object.defineProperty(fn, 'name', { value: name })
    const wrapper = cacheValue(fn, options) as Wrapper
    if (context.static) byClass.set(self, wrapper)
    else single = wrapper
    return wrapper
  }
  const replacement = function cachedMember(this: unknown, ...args: unknown[]): unknown {
    const self = receiver(this, '@cached', context)
    const wrapper = wrapperFor(self)
    if (instanceKey === undefined) return wrapper.apply(self, args)
    const id = instanceKey(self)
    if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
      return wrapper.call(self, id, ...args)
    }
    const functionName = wrapper.name
    const error = new KeyError(
      `${functionName}: instanceKey returned ${describe(id)}; it must return a non-empty string or a finite number that identifies the instance the same way in every replica, e.g. (self) => self.tenantId`,
      { path: 'instanceKey(this)', valueType: id === null ? 'null' : typeof id, functionName },
    )
    if (async) return Promise.reject(error)
    throw error
  }
  // Built when the first instance is constructed (the class, for a static member), so option errors surface there.
  context.addInitializer(function (this: unknown) {
    wrapperFor(this as object)
  })
  return mirrorFunction(replacement, method)
}
