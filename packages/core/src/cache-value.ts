import { NO_SCAN } from './arg-scan'
import type { CacheValueOptions } from './cache-value-options'
import type { CachedFunction, CachedReturn, IsAsyncStorage } from './cache-value-types'
import { shapeOf } from './compute'
import { UsageError } from './errors'
import { Flight, joined } from './flight'
import { afterRead, readAndServe, refreshNow, serveAfter } from './flow'
import { classify, FRESH } from './freshness'
import { asyncInvalidation, syncInvalidation } from './invalidation'
import { type MemoryInternals, MISS, memoryInternals, WithMeta } from './memory'
import { createSlotReader, memoryWrapper, NOT_FRESH } from './memory-hits'
import { callObserved, mark, storageChannel } from './observe'
import { type CacheStats, observedCall } from './observed-call'
import { type AnyFunction, mirrorFunction } from './options'
import { type Plan, resolvePlan } from './plan'
import type { AnyStorage, Storage } from './storage'
import { readAsync, readSync, SKIPPED } from './store'
import { verifyTags } from './tags'
import { tieredInternals } from './tiered-hits'

export type { CachedFunction, CachedReturn, IsAsyncStorage } from './cache-value-types'

/**
 * Wraps `fn` so its results are cached in a storage (default: a process-wide memory storage).
 *
 * A sync `fn` over a sync storage stays sync; if `fn` returns a Promise or the storage is async, the wrapper
 * returns a Promise of the awaited result. Errors from `fn` propagate unchanged and are never cached; concurrent
 * calls for one key run `fn` once; a failing storage makes `fn` run (fail-open) and is reported to `onError`.
 * `swr`, `staleIfError`, `timeout` and `refreshAhead` serve stale values on purpose (see the README).
 *
 * @example
 * const getUser = cacheValue(fetchUser, { storage: redisStorage({ url }), ttl: '5m', namespace: 'users' })
 */
export function cacheValue<F extends AnyFunction, S extends AnyStorage = Storage>(
  fn: F,
  options: CacheValueOptions<Parameters<F>, ReturnType<F>, S> = {},
): CachedFunction<
  Parameters<F>,
  CachedReturn<ReturnType<F>, IsAsyncStorage<S>>,
  IsAsyncStorage<S>,
  ThisParameterType<F>
> {
  const plan = resolvePlan(fn, options)
  const { encodeKey } = plan
  const wrapper = plan.storage.async ? asyncWrapper(plan) : syncWrapper(plan)
  const { counters } = plan
  // Where the result is a Promise (an async storage or an async function), so are the errors: a bad argument
  // rejects, as the call does, instead of throwing from a function typed to return a Promise.
  const refresh = (self: unknown, args: unknown[]): unknown => {
    if (!plan.storage.async && !plan.isAsyncFn) return refreshNow(plan, self, args, encodeKey(args))
    try {
      const result = refreshNow(plan, self, args, encodeKey(args))
      return plan.storage.async ? Promise.resolve(result) : result
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const observedRefresh = observedCall(plan, refresh)
  const invalidate = plan.storage.async ? asyncInvalidation(plan) : syncInvalidation(plan)
  mirrorFunction(wrapper, fn)
  const helpers = {
    delete: (...args: unknown[]) => {
      if (!plan.storage.async) return invalidate.remove(encodeKey(args))
      try {
        return invalidate.remove(encodeKey(args))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    clear: () => invalidate.clear(),
    refresh(this: unknown, ...args: unknown[]) {
      if (counters !== undefined || callObserved) return observedRefresh(this, args)
      return refresh(this, args)
    },
    keyFor: (...args: unknown[]) => encodeKey(args),
    stats(): CacheStats {
      if (counters === undefined) {
        throw new UsageError(
          `${plan.name}.stats(): outcomes are counted only when asked for; create the wrapper with { stats: true }`,
          { functionName: plan.name },
        )
      }
      return { ...counters }
    },
  }
  return Object.assign(wrapper, helpers) as never
}

function syncWrapper(plan: Plan): (this: unknown, ...args: unknown[]) => unknown {
  const { namespace, keyPrefix, plainKeys, byValue, encodeKey, isAsyncFn } = plan
  // What a fast hit returns for what a slot holds, or NOT_FRESH when its timeline says the slow path decides.
  const fromSlot = (held: unknown): unknown =>
    held instanceof WithMeta && held.meta.staleAt !== undefined && classify(held.meta, Date.now()) !== FRESH
      ? NOT_FRESH
      : shapeOf(plan, held)

  const internals = memoryInternals(plan.storage)
  const reader =
    internals === undefined
      ? undefined
      : createSlotReader({ internals, namespace, keyPrefix, plainKeys, byValue, isAsyncFn, fromSlot })
  // `h` is the argument scan's hash when the by-value hit path missed: a fresh hit found here is remembered.
  const runPlain = (self: unknown, args: unknown[], h: number): unknown => {
    let key: string
    let held: unknown
    try {
      key = encodeKey(args)
      held = reader === undefined ? readSync(plan, key) : reader.read(key)
      // A sync storage answers the tag tokens synchronously too.
      if (plan.tags !== undefined) held = verifyTags(plan, args, held)
    } catch (error) {
      // Key and strict-mode storage errors reach an async function's callers as rejections.
      if (isAsyncFn) return Promise.reject(error)
      throw error
    }
    if (held !== MISS && held !== SKIPPED) {
      const hit = fromSlot(held)
      if (hit !== NOT_FRESH) {
        if (h !== NO_SCAN) reader?.remember(h)
        mark(undefined, 'hit')
        return hit
      }
    }
    return afterRead(plan, self, args, key, held, undefined)
  }
  const observed = observedCall(plan, (self, args) => runPlain(self, args, NO_SCAN))
  if (plan.counters !== undefined) return observedOnly(observed)
  const run = (self: unknown, args: unknown[], h: number): unknown =>
    callObserved ? observed(self, args) : runPlain(self, args, h)
  // Tagged entries are checked against their tags' tokens on every read: no fast path can skip that.
  return reader === undefined || internals === undefined || plan.tags !== undefined
    ? function cached(this: unknown, ...args: unknown[]): unknown {
        return run(this, args, NO_SCAN)
      }
    : memoryWrapper({ internals, namespace, keyPrefix, plainKeys, byValue, isAsyncFn, fromSlot }, reader, run)
}

function observedOnly(observed: (self: unknown, args: unknown[]) => unknown) {
  return function cached(this: unknown, ...args: unknown[]): unknown {
    return observed(this, args)
  }
}

function asyncWrapper(plan: Plan): (this: unknown, ...args: unknown[]) => Promise<unknown> {
  const { encodeKey } = plan
  const { pending } = plan.identity
  const call = (self: unknown, args: unknown[]): Promise<unknown> => {
    let key: string
    try {
      key = encodeKey(args)
    } catch (error) {
      return Promise.reject(error)
    }
    const inflight = pending.get(key)
    if (inflight !== undefined) {
      mark(undefined, 'joined')
      return joined(inflight, () => call(self, args))
    }
    // The common case in one promise (flow.ts); tags and traces take the plain path.
    if (plan.tags === undefined && !storageChannel.hasSubscribers) return readAndServe(plan, self, args, key)
    // Registered before the read, so concurrent callers share the read too.
    const flight = new Flight(key, false)
    pending.set(key, flight)
    const read = readAsync(plan, key)
    return serveAfter(
      plan,
      self,
      args,
      plan.tags === undefined ? read : read.then((held) => verifyTags(plan, args, held)),
      flight,
    )
  }
  const observed = observedCall(plan, call)
  if (plan.counters !== undefined) return observedOnly(observed) as (...args: unknown[]) => Promise<unknown>
  // Over a tier, the memory hit paths read its L1 first; tagged entries must be checked against their tokens.
  const tier = plan.tags === undefined ? tieredInternals(plan.storage) : undefined
  if (tier !== undefined) return tierWrapper(plan, tier.l1, call, observed)
  return function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
    if (callObserved) return observed(this, args) as Promise<unknown>
    return call(this, args)
  }
}

/**
 * The memory hit paths over a tier's L1 (the one-number table and the key-string slot read; no by-value scan, as
 * the tier's read never reports which slot it found): a fresh hit resolves to the value, anything else takes `call`.
 */
function tierWrapper(
  plan: Plan,
  l1: MemoryInternals,
  call: (self: unknown, args: unknown[]) => Promise<unknown>,
  observed: (self: unknown, args: unknown[]) => unknown,
): (this: unknown, ...args: unknown[]) => Promise<unknown> {
  const { namespace, keyPrefix, plainKeys, encodeKey } = plan
  // An async storage's hits are Promises whatever the function returns.
  const fromSlot = (held: unknown): unknown => {
    if (!(held instanceof WithMeta)) return Promise.resolve(held)
    if (held.meta.staleAt !== undefined && classify(held.meta, Date.now()) !== FRESH) return NOT_FRESH
    return Promise.resolve(held.value)
  }
  const hits = {
    internals: l1,
    namespace,
    keyPrefix,
    plainKeys,
    byValue: false,
    isAsyncFn: true,
    fromSlot,
  }
  const reader = createSlotReader(hits)
  const run = (self: unknown, args: unknown[]): unknown => {
    if (callObserved) return observed(self, args)
    if (plainKeys) {
      let key: string
      try {
        key = encodeKey(args)
      } catch (error) {
        return Promise.reject(error)
      }
      const held = reader.read(key)
      if (held !== MISS) {
        const hit = fromSlot(held)
        if (hit !== NOT_FRESH) {
          mark(undefined, 'hit')
          return hit
        }
      }
    }
    return call(self, args)
  }
  return memoryWrapper(hits, reader, run) as (this: unknown, ...args: unknown[]) => Promise<unknown>
}
