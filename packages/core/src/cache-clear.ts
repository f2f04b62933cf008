import type { CachedReturn, IsAsyncStorage } from './cache-value'
import type { ErrorReport } from './cache-value-options'
import { clearSucceeded, clearTicket, retryClear } from './clear-retry'
import { ConfigError } from './errors'
import { invalidateFlights, namespacesInUse } from './identity'
import {
  type AnyFunction,
  isGeneratorFunction,
  isPromiseLike,
  mirrorFunction,
  rejectUnknownOptions,
  resolveBoolean,
  resolveFunction,
  resolveHook,
  resolveNamespace,
  resolveStorage,
} from './options'
import { createReporter, toStorageError } from './report'
import type { AnyStorage, Storage } from './storage'
import { issuedWrites } from './writes'

/** Options of `cacheClear`. */
export interface CacheClearOptions<S extends AnyStorage = AnyStorage> {
  /** The namespace(s) to clear when the wrapped function settles. Required. */
  readonly namespaces: string | readonly string[]
  /** The storage to clear them in. Default: the process-wide memory storage `cacheValue` uses by default. */
  readonly storage?: S
  /** Told when clearing fails. Default: a process warning, at most one per storage every 10 s. */
  readonly onError?: (report: ErrorReport) => void
  /**
   * true (default): a failed clear is reported to `onError` and `fn`'s result is still returned.
   * false: a failed clear throws a `StorageError` (after `fn` succeeded; `fn`'s own error always wins).
   */
  readonly failOpen?: boolean
}

const CLEAR_OPTIONS = ['namespaces', 'storage', 'onError', 'failOpen'] as const

/**
 * Wraps `fn` (typically a write) so that when it settles, with success or failure, the given namespaces are
 * cleared in `storage`. Returns `fn`'s own result, and rethrows its error unchanged. The wrapper returns a
 * Promise when `fn` does or the storage is async, so the clear has finished when the caller continues.
 *
 * @example
 * const saveUser = cacheClear(writeUser, { namespaces: 'users', storage })
 */
export function cacheClear<F extends AnyFunction, S extends AnyStorage = Storage>(
  fn: F,
  options: CacheClearOptions<S>,
): (this: ThisParameterType<F>, ...args: Parameters<F>) => CachedReturn<ReturnType<F>, IsAsyncStorage<S>> {
  const entry = 'cacheClear'
  resolveFunction(entry, fn)
  if (isGeneratorFunction(fn)) {
    // Its iterator comes back before its body runs: nothing would wait for the writes the clear must follow.
    throw new ConfigError(
      'fn',
      `${entry}: fn is a generator function, which returns its iterator before its body runs, so the clear would come before its writes; wrap a function that does the writes and returns (or resolves) when they are done`,
    )
  }
  const { storage, clearSync, clearAsync } = createClearer(entry, options)
  const settle = async (outcome: Promise<unknown>): Promise<unknown> => {
    let value: unknown
    try {
      value = await outcome
    } catch (error) {
      await (storage.async ? clearAsync() : clearSync())
      throw error
    }
    const toThrow = await (storage.async ? clearAsync() : clearSync())
    if (toThrow !== undefined) throw toThrow
    return value
  }

  const wrapper = function clearing(this: unknown, ...args: unknown[]): unknown {
    let result: unknown
    try {
      result = fn.apply(this, args)
    } catch (error) {
      if (storage.async) return clearAsync().then(() => Promise.reject(error))
      clearSync()
      throw error
    }
    if (isPromiseLike(result) || storage.async) return settle(Promise.resolve(result))
    const toThrow = clearSync()
    if (toThrow !== undefined) throw toThrow
    return result
  }
  mirrorFunction(wrapper, fn)
  return wrapper as never
}

/** A clear of each namespace: what a failed one throws in strict mode (undefined when all succeeded or fail open). */
interface Clearer {
  readonly storage: AnyStorage
  readonly clearSync: () => unknown
  readonly clearAsync: () => Promise<unknown>
}

/** cacheClear's options, resolved: every mistake is a ConfigError before anything runs. */
function resolveClearOptions(entry: string, options: CacheClearOptions) {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('namespaces', `${entry}: pass an options object with the namespaces to clear`)
  }
  rejectUnknownOptions(entry, options, CLEAR_OPTIONS)
  const raw = options.namespaces
  const namespaces: readonly string[] = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? [...raw] : []
  if (namespaces.length === 0 || namespaces.some((ns) => typeof ns !== 'string' || ns.length === 0)) {
    throw new ConfigError(
      'namespaces',
      `${entry}: namespaces must be a non-empty string or a non-empty array of non-empty strings, e.g. { namespaces: ['users'] }`,
    )
  }
  // The same rules as a wrapper's namespace (no lone surrogate): one that no wrapper could use is a typo.
  for (const namespace of namespaces) resolveNamespace(entry, namespace)
  const storage = resolveStorage(entry, options.storage)
  const failOpen = resolveBoolean(entry, 'failOpen', options.failOpen, true)
  const report = createReporter(storage, resolveHook<(r: ErrorReport) => void>(entry, 'onError', options.onError))
  const unused = unusedNamespaceCheck(entry, storage, namespaces, options.storage === undefined)
  return { namespaces, storage, failOpen, report, unused }
}

function createClearer(entry: string, options: CacheClearOptions): Clearer {
  const { namespaces, storage, failOpen, report, unused } = resolveClearOptions(entry, options)
  // Reports a failed clear and retries it in the background; returns the failure to throw in strict mode.
  const failed = (namespace: string, ticket: number, error: unknown): unknown => {
    const failure = toStorageError(storage, 'clear', error)
    report('clear', namespace, undefined, failure)
    retryClear(
      storage,
      namespace,
      ticket,
      () => storage.clear(namespace),
      (again) => {
        report('clear', namespace, undefined, toStorageError(storage, 'clear', again))
        return undefined
      },
    )
    return failOpen ? undefined : failure
  }
  const clearSync = (): unknown => {
    unused()
    let toThrow: unknown
    for (const namespace of namespaces) {
      invalidateFlights(storage, namespace)
      const ticket = clearTicket()
      try {
        ;(storage as Storage).clear(namespace)
        clearSucceeded(storage, namespace, ticket)
      } catch (error) {
        toThrow ??= failed(namespace, ticket, error)
      }
    }
    return toThrow
  }
  const clearOne = async (namespace: string): Promise<unknown> => {
    invalidateFlights(storage, namespace)
    // Writes issued before this clear must land before it, or they would bring back what it removes.
    await issuedWrites(storage, namespace)
    const ticket = clearTicket()
    try {
      await storage.clear(namespace)
    } catch (error) {
      return failed(namespace, ticket, error)
    }
    clearSucceeded(storage, namespace, ticket)
    return undefined
  }
  const clearAsync = async (): Promise<unknown> => {
    unused()
    const results = await Promise.all(namespaces.map(clearOne))
    return results.find((toThrow) => toThrow !== undefined)
  }
  return { storage, clearSync, clearAsync }
}

/**
 * A clear of a namespace that no wrapper in this process uses on that storage is most likely a mistake (no
 * `storage` given, or a typo). Checked at each clear until the namespace is seen in use; warned once per namespace.
 * On a shared storage that this process doesn't cache on at all, another service may read the namespace: no warning.
 */
function unusedNamespaceCheck(
  entry: string,
  storage: AnyStorage,
  namespaces: readonly string[],
  defaulted: boolean,
): () => void {
  const unchecked = new Set(namespaces)
  return () => {
    if (unchecked.size === 0) return
    const inUse = namespacesInUse(storage)
    for (const namespace of unchecked) {
      if (inUse.has(namespace)) {
        unchecked.delete(namespace)
        continue
      }
      if (typeof storage.scope === 'string' && inUse.size === 0) continue
      unchecked.delete(namespace)
      const used = inUse.size === 0 ? 'none' : [...inUse].map((ns) => `'${ns}'`).join(', ')
      const fix = defaulted
        ? 'no `storage` was given, so it clears the default memory storage; pass the storage your cacheValue wrappers use'
        : 'check the namespace, or pass the storage your cacheValue wrappers use'
      process.emitWarning(
        `${entry}: namespace '${namespace}' is not used by any cacheValue on the ${storage.name} storage it clears (namespaces in use there: ${used}); ${fix}, e.g. cacheClear(fn, { namespaces: '${namespace}', storage })`,
        { type: 'MemokitWarning', code: 'E_CONFIG' },
      )
    }
  }
}
