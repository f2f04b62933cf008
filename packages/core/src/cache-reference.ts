import type { KeyOptions } from './cache-value-options'
import { UsageError } from './errors'
import { resolveName } from './identity'
import { createKeyEncoder } from './keys'
import {
  type AnyFunction,
  isPromiseLike,
  mirrorFunction,
  rejectUnknownOptions,
  resolveFunction,
  resolveHook,
} from './options'

/** Options of `cacheReference`. */
export interface CacheReferenceOptions<Args extends readonly unknown[] = unknown[], Result = unknown>
  extends KeyOptions<Args> {
  /**
   * Called exactly once for each object dropped by `.delete()` or `.clear()` (e.g. `(client) => client.close()`).
   * For an async factory it receives the resolved object. What it throws reaches the `.delete()`/`.clear()` caller
   * (see there); the object is dropped either way and `dispose` is not retried. Default: none.
   */
  readonly dispose?: (value: Awaited<Result>) => unknown
}

/**
 * The function `cacheReference` returns: one shared object per argument list (`this` is passed through to the
 * factory, not part of the key), plus helpers to drop them.
 */
export interface ReferenceFunction<Args extends readonly unknown[], Result, This = unknown> {
  (this: This, ...args: Args): Result
  /**
   * Drops the object for these arguments and awaits its `dispose`; resolves to `true` if one was there. If
   * `dispose` throws, rejects with that error, unchanged (the object is dropped all the same).
   */
  delete(...args: Args): Promise<boolean>
  /**
   * Drops every object of this function and awaits each `dispose`, all of them even when some fail. If any fails,
   * rejects with one `AggregateError` whose `errors` are what each failing `dispose` threw, oldest object first.
   */
  clear(): Promise<void>
  /** The key these arguments map to. */
  keyFor(...args: Args): string
}

const AsyncFunction = (async () => {}).constructor
const REFERENCE_OPTIONS = ['name', 'typed', 'key', 'ignoreArgs', 'typeEncoders', 'dispose'] as const

/**
 * Process-local singletons per argument list: database clients, HTTP clients, loaded models. Results are never
 * serialized; equal arguments return the identical (`===`) object (for an async factory, the identical Promise).
 * An async factory runs once for concurrent callers, and a failed init is not kept, so the next call retries.
 *
 * @example
 * const mongo = cacheReference((url: string) => new MongoClient(url).connect(), { dispose: (c) => c.close() })
 */
export function cacheReference<F extends AnyFunction>(
  fn: F,
  options: CacheReferenceOptions<Parameters<F>, ReturnType<F>> = {},
): ReferenceFunction<Parameters<F>, ReturnType<F>, ThisParameterType<F>> {
  const entry = 'cacheReference'
  resolveFunction(entry, fn)
  rejectUnknownOptions(entry, options, REFERENCE_OPTIONS)
  const { name, typed, key, ignoreArgs, typeEncoders } = options
  const dispose = resolveHook<(value: unknown) => unknown>(entry, 'dispose', options.dispose)
  // Nothing leaves the process, so anonymous factories are fine here; a `name` given is checked as cacheValue's.
  const functionName = name === undefined ? fn.name || 'anonymous' : resolveName(entry, fn, name)
  const encodeKey = createKeyEncoder({ functionName, typed, typeEncoders, ignoreArgs, key })
  const objects = new Map<string, { readonly value: unknown }>()
  const creating = new Set<string>()

  // An async factory's callers get a bad argument's KeyError as a rejection, as its Promise-typed result says.
  const isAsyncFn = fn instanceof AsyncFunction
  const wrapper = function reference(this: unknown, ...args: unknown[]): unknown {
    let key: string
    try {
      key = encodeKey(args)
    } catch (error) {
      if (isAsyncFn) return Promise.reject(error)
      throw error
    }
    const held = objects.get(key)
    if (held !== undefined) return held.value
    if (creating.has(key)) {
      throw new UsageError(
        `cacheReference: ${functionName} called itself with the same arguments while creating its object, which would recurse forever; create the object without that call (pass in what it needs), or call it with other arguments`,
        { functionName },
      )
    }
    creating.add(key)
    let value: unknown
    try {
      value = fn.apply(this, args)
    } finally {
      creating.delete(key)
    }
    const slot = { value }
    objects.set(key, slot)
    if (isPromiseLike(value)) {
      // A failed init is dropped so the next call retries; callers already holding the promise see the error.
      value.then(undefined, () => {
        if (objects.get(key) === slot) objects.delete(key)
      })
    }
    return value
  }

  const drop = async (slot: { readonly value: unknown }): Promise<void> => {
    if (dispose === undefined) return
    let object: unknown
    try {
      object = await slot.value
    } catch {
      return // an init that failed left nothing to dispose of
    }
    await dispose(object)
  }

  mirrorFunction(wrapper, fn)
  const helpers = {
    async delete(...args: unknown[]): Promise<boolean> {
      const key = encodeKey(args)
      const slot = objects.get(key)
      if (slot === undefined) return false
      objects.delete(key)
      await drop(slot)
      return true
    },
    // One dispose per dropped object, so delete's failure is that dispose's own error; clear runs many, and reports
    // every failure instead of the first, in one AggregateError (the standard error for several at once).
    async clear(): Promise<void> {
      const slots = [...objects.values()]
      objects.clear()
      const results = await Promise.allSettled(slots.map(drop))
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failures.length > 0) {
        throw new AggregateError(
          failures.map((f) => f.reason),
          `cacheReference: dispose failed for ${failures.length} of ${slots.length} objects`,
        )
      }
    },
    keyFor: (...args: unknown[]) => encodeKey(args),
  }
  return Object.assign(wrapper, helpers) as never
}
