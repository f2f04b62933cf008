/*
 * The methods `@cached` puts in place of the one it decorates: `tableReplacement` keeps entries per receiver in the
 * memory tables below (see cached.ts for why they are collected with the instance), and `sharedReplacement` keys
 * them by `instanceKey` in a shared storage. Apart from cached.ts, which checks the options and picks one of these;
 * `@cachedClear` there clears the same tables.
 */
import { cacheValue } from './cache-value'
import type { CacheValueOptions } from './cache-value-options'
import { type Context, className, memberName, receiver, type Wrapper } from './cached-site'
import { describe } from './describe'
import { KeyError } from './errors'
import { describeError } from './key-errors'
import { memoryStorage } from './memory'
import { type AnyFunction, mirrorFunction } from './options'
import type { AnyStorage, Storage } from './storage'

interface Table {
  readonly storage: Storage
  /** Which decoration holds each default name, so two same-named private methods of a hierarchy stay apart. */
  readonly names: Map<string, object>
}

export const tables = new WeakMap<object, Table>()
const AsyncFunction = (async () => {}).constructor

export function tableReplacement(method: AnyFunction, context: Context, value: CacheValueOptions): Wrapper {
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

export function sharedReplacement(
  method: AnyFunction,
  context: Context,
  value: CacheValueOptions,
  instanceKey: ((self: unknown) => unknown) | undefined,
): Wrapper {
  const skip = instanceKey === undefined ? 0 : 1
  const { key, ignoreArgs, tags } = value
  // The instance id is the first argument of the wrapped function, so it is the first part of every key. The
  // options that see arguments (key, ignoreArgs, tags) still see only the method's.
  const options: CacheValueOptions = {
    ...value,
    ...(skip === 1 && key !== undefined && { key: (id: unknown, ...args: unknown[]) => [id, key(...args)] }),
    ...(skip === 1 && ignoreArgs !== undefined && { ignoreArgs: ignoreArgs.map((i) => i + 1) }),
    ...(skip === 1 && tags !== undefined && { tags: (_id: unknown, ...args: unknown[]) => tags(...args) }),
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
    const functionName = wrapper.name
    let id: unknown
    let error: KeyError
    try {
      id = instanceKey(self)
    } catch (thrown) {
      // As a custom key function that throws: a KeyError, with what it threw as the cause.
      error = new KeyError(
        `${functionName}: instanceKey threw (${describeError(thrown)}); cannot build a cache key`,
        { path: 'instanceKey(this)', valueType: 'error', functionName },
        { cause: thrown },
      )
      if (async) return Promise.reject(error)
      throw error
    }
    if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) {
      return wrapper.call(self, id, ...args)
    }
    error = new KeyError(
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
