/*
 * The checks the entry points run on their options (unknown names, storage, namespace, hooks), the process-wide
 * default storage, and small helpers for wrapping functions. The option types themselves are in
 * cache-value-options.ts.
 */
import { closestName, hasLoneSurrogate } from './backend'
import { describe } from './describe'
import { ConfigError } from './errors'
import { memoryStorage } from './memory'
import type { AnyStorage, Storage } from './storage'

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

const GeneratorFunction = function* () {}.constructor
const AsyncGeneratorFunction = async function* () {}.constructor

/** A generator function (sync or async): it returns a one-shot iterator before its body runs. */
export function isGeneratorFunction(fn: unknown): boolean {
  return fn instanceof GeneratorFunction || fn instanceof AsyncGeneratorFunction
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
