/** Where a memokit decorator is applied, and how its errors read: shared by `@cached` and `@cachedClear`. */
import { describe } from './describe'
import { ConfigError, UsageError } from './errors'
import { LEASE_MEMBERS } from './lease-options'
import { memoryStorage } from './memory'
import { type AnyFunction, isGeneratorFunction } from './options'
import type { AnyStorage } from './storage'

export type Wrapper = (this: unknown, ...args: unknown[]) => unknown
export type Context = ClassMethodDecoratorContext | ClassGetterDecoratorContext

/** The class that declares the member (public instance members), else the receiving class. */
export function className(self: object, context: Context, replacement: Wrapper): string {
  if (context.static) return (self as AnyFunction).name
  if (!context.private) {
    for (let p = Object.getPrototypeOf(self); p !== null; p = Object.getPrototypeOf(p)) {
      const d = Object.getOwnPropertyDescriptor(p, context.name)
      if (d !== undefined && (d.value === replacement || d.get === replacement)) return p.constructor.name
    }
  }
  return (self.constructor as AnyFunction).name
}

export function memberName(context: Context): string {
  return typeof context.name === 'symbol' ? `[${context.name.description ?? ''}]` : context.name
}

export function receiver(self: unknown, entry: string, context: Context): object {
  if ((typeof self === 'object' && self !== null) || typeof self === 'function') return self
  const member = memberName(context)
  throw new UsageError(
    `${entry} method '${member}' was called without an instance (this is ${describe(self)}): call it on the object (obj.${member}()), or bind it (obj.${member}.bind(obj))`,
    { functionName: member },
  )
}

/**
 * A generator method's result is an iterator, returned before its body runs: a cached one is exhausted for every
 * later call, and a clear when it returns comes before the writes in its body.
 */
export function checkNotGenerator(entry: string, method: unknown, context: Context): void {
  if (!isGeneratorFunction(method)) return
  const member = memberName(context)
  const why =
    entry === '@cached'
      ? 'a cached iterator is exhausted for every call after the first'
      : 'the clear would run when it returns, before the writes in its body'
  throw new ConfigError(
    'decorator',
    `${entry} can't decorate generator method '${member}': a generator returns a one-shot iterator before its body runs, so ${why}; decorate a method that returns the collected values (e.g. an array) instead`,
  )
}

export function checkObject(entry: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(
      'options',
      `${entry}: options must be an object, e.g. ${entry}({ ttl: '5m' }), got ${describe(options)}`,
    )
  }
}

const SITE_HINT: Record<string, string> = {
  setter: 'a setter returns nothing to cache',
  field: 'for a function-valued field, wrap the function with cacheValue',
  accessor: 'an accessor holds a value, it computes nothing',
  class: 'decorate its methods',
}

export function checkSite(entry: string, context: unknown, kinds: readonly string[]): void {
  const kind = (context as { kind?: unknown } | null)?.kind
  if (typeof context !== 'object' || typeof kind !== 'string') {
    throw new ConfigError(
      'decorator',
      `${entry} is a standard (TC39) decorator, but it was applied as a legacy one: remove "experimentalDecorators" from tsconfig.json (TypeScript 5 then compiles standard decorators), or wrap the method with cacheValue`,
    )
  }
  if (kinds.includes(kind)) return
  const name = (context as { name?: unknown }).name
  throw new ConfigError(
    'decorator',
    `${entry} decorates ${kinds.map((k) => `${k}s`).join(' and ')}, not ${kind === 'accessor' ? 'an' : 'a'} ${kind}${typeof name === 'string' ? ` ('${name}')` : ''}: ${SITE_HINT[kind] ?? 'decorate a method'}`,
  )
}

/** Runs `make`, restating a ConfigError from cacheValue/cacheClear as the decorator's (same option and cause). */
export function asEntry<T>(entry: string, make: () => T): T {
  try {
    return make()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const message = /^cache(Value|Clear)\b/.test(error.message)
      ? error.message.replace(/^cache(Value|Clear)/, entry)
      : `${entry}: ${error.message}`
    throw new ConfigError(error.option, message, { cause: error })
  }
}

/**
 * What `@cached` and `createMemokit` check their options on: a memory storage when none is given, else a stand-in
 * of the same kind as `storage` (sync or async, with or without the lease members, its name), so options that
 * depend on the storage (`singleFlight: 'distributed'`, `lease`) are judged against the one that will be used. It
 * has no `scope` and its members do nothing: checking claims no name where the real storage writes.
 */
export function scratchStorage(storage: unknown): AnyStorage {
  if (storage === undefined) return memoryStorage({ maxEntries: 1 })
  const real = storage as unknown as Record<string, unknown>
  const scratch: Record<string, unknown> = { async: real.async, name: real.name }
  for (const member of ['get', 'set', 'delete', 'clear', ...LEASE_MEMBERS]) {
    if (typeof real[member] === 'function') scratch[member] = () => undefined
  }
  return scratch as unknown as AnyStorage
}
